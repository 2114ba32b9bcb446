import Foundation
import Tensors
import UNet

/// What one run sizes, beside its model: how many images each forward pass takes, what it keeps
/// between steps and how many pictures it makes — what ``MemoryBudget`` turns into bytes.
public struct RunMemory: Sendable, Equatable {
    /// What the run is, as a refusal names it: "batch 16 of digits (1×32×32)".
    public var description: String
    /// Images per forward pass.
    public var batch: Int
    /// Samples whose tensors the run holds at once (x_t, x̂₀, the η-noise, the next x_t): the
    /// batch, or more where a run keeps them all (every image an inversion reads, every column
    /// of a comparison).
    public var samples: Int
    /// Steps whose x_t and x̂₀ are kept for every sample (`--trajectory`).
    public var keptSteps: Int
    /// Pictures made at once for the PNGs (the tiles of a grid, a strip, an animation's frames).
    public var pictures: Int
    /// Whether both convolution algorithms run (`ddim bench` computes the other one's output).
    public var bothAlgorithms: Bool
    /// The live sampler: its worker and the studio's each run forwards on their own thread.
    public var live: Bool

    /// A run of `batch` images per forward; by default it holds `batch` samples and makes a picture of each.
    public init(_ description: String, batch: Int, samples: Int? = nil, keptSteps: Int = 0, pictures: Int? = nil,
                bothAlgorithms: Bool = false, live: Bool = false) {
        (self.description, self.batch, self.keptSteps) = (description, batch, keptSteps)
        self.samples = max(samples ?? batch, batch)
        self.pictures = pictures ?? batch
        (self.bothAlgorithms, self.live) = (bothAlgorithms, live)
    }
}

/// A run's peak, estimated before anything big is allocated.
public struct MemoryEstimate: Sendable, Equatable {
    /// Bytes resident in the process at the run's peak (what a cgroup or the machine's memory bounds).
    public var resident: Int
    /// Bytes of address space mapped then (what RLIMIT_AS bounds).
    public var addressSpace: Int
    /// Bytes of that for one forward pass (its peak with ``MemoryBudget/heapSlack``, the threads' kept scratch).
    public var forward: Int
    /// The pool's threads it was made for.
    public var threads: Int

    /// An estimate (``MemoryBudget/estimate(_:config:policy:sampleShape:threads:limits:loading:heapFree:callersBudgeted:workersStarted:)`` makes them).
    public init(resident: Int, addressSpace: Int, forward: Int, threads: Int) {
        (self.resident, self.addressSpace, self.forward, self.threads) = (resident, addressSpace, forward, threads)
    }
}

/// A run refused because it cannot fit: one line with the estimate and the limit.
public struct MemoryError: Error, CustomStringConvertible, Equatable {
    /// "batch 100000 of digits (1×32×32) needs about 214 GB; this process may use 23.4 GB (physical memory)".
    public let description: String
}

/// Refuses, before allocating, a run whose estimated peak exceeds what the process may use
/// (``MemoryLimits``); under an address-space limit, first lowers the pool's thread count to
/// fit (each thread that calls OpenBLAS costs 128 MB of address space, ``Threads/blasBufferBytes``).
///
/// resident = (resident now − malloc's free bytes) + the weights while loading + one
/// forward's peak (``UNetMemory``) + the threads' kept scratch + 4 tensors a sample (x_t, x̂₀, z,
/// x_{t−1}) + 2 a kept step + 3 copies of each picture (tile, composed picture, PNG rows) +
/// what the threads not yet started touch (OpenBLAS's packing, stacks);
/// address space = the same with (mapped now − malloc's free bytes) and each new thread's whole
/// OpenBLAS buffer and stack. The forward's peak is multiplied by ``heapSlack``.
public enum MemoryBudget {
    /// The forward's live tensors are freed and reallocated in other sizes all along a forward,
    /// so malloc's heap may grow past their largest sum. Measured, the sum alone came within
    /// 0–10 % above the peak RSS (digits, cifar10-32 and celebahq-256 architectures, batch 1–1024);
    /// the margin is for layouts not measured.
    static let heapSlack = 1.1
    /// What a thread's OpenBLAS calls touch of its buffer (the packed A and B panels) and of its
    /// scratch: a second thread added 1–3 MB to the peak (cifar10-32 and celebahq-256 at batch 1).
    static let blasTouched = 4 << 20
    /// What a new thread's stack has touched by the end of a run.
    static let stackTouched = 256 << 10

    /// Threads whose OpenBLAS buffers are mapped (``Threads/warmBLAS()``, under an
    /// address-space limit); beyond them, each thread that will call OpenBLAS counts whole.
    private static let callers = Counter()

    /// The estimate for `run` on a model of `config` loaded and run under `policy`, whose samples
    /// are `sampleShape` (C, H, W), on `threads` threads, given `limits` (what the process holds
    /// now); `loading`: the model's weights are not read yet.
    public static func estimate(_ run: RunMemory, config: UNetConfig, policy: ConvPolicy = ConvPolicy(), sampleShape: [Int],
                                threads: Int, limits: MemoryLimits, loading: Bool = false,
                                heapFree: Int = Memory.heapFreeBytes, callersBudgeted: Int? = nil,
                                workersStarted: Int = Threads.workersStarted) -> MemoryEstimate {
        let (c, h, w) = (sampleShape[0], sampleShape[1], sampleShape[2])
        var model = config.memory(batch: run.batch, height: h, width: w, threads: threads, policy: policy)
        if run.bothAlgorithms {
            var otherPolicy = policy
            otherPolicy.algorithm = policy.algorithm == .winograd ? .im2col : .winograd
            let other = config.memory(batch: run.batch, height: h, width: w, threads: threads, policy: otherPolicy)
            // the other algorithm's output is kept beside the timed forwards'
            model.forwardPeak = max(model.forwardPeak, other.forwardPeak) + run.batch * c * h * w * 4
            model.threadScratch = max(model.threadScratch, other.threadScratch)
        }
        let sample = c * h * w * 4
        let picture = (h + 2) * (w + 2) * 3
        let forward = Int((Double(model.forwardPeak) * heapSlack).rounded(.up))
        let held = forward + model.threadScratch + 4 * run.samples * sample + 2 * run.keptSteps * run.samples * sample
            + 3 * run.pictures * picture
        // while loading: the weights, and one tensor read (pread into its Float buffer) whose
        // Winograd planes are being made
        let largest = 4 * (config.parameterShapes.map { $0.shape.reduce(1, *) }.max() ?? 0)
        let loadingBytes = loading ? model.weights + 2 * largest : 0
        // threads not running yet: the pool's workers, the live sampler's two queues (the
        // studio's calls OpenBLAS too, besides the pool)
        let liveThreads = run.live ? 2 : 0
        let newThreads = max(0, threads - 1 - workersStarted) + liveThreads
        let newCallers = max(0, threads + (run.live ? 1 : 0) - (callersBudgeted ?? callers.value))
        let resident = max(0, limits.resident - heapFree) + held + loadingBytes + newCallers * blasTouched
            + newThreads * stackTouched
        let addressSpace = max(0, limits.mapped - heapFree) + held + loadingBytes + newCallers * Threads.blasBufferBytes
            + newThreads * Memory.threadStackBytes
        return MemoryEstimate(resident: resident, addressSpace: addressSpace, forward: forward + model.threadScratch,
                              threads: threads)
    }

    /// Checks `run` against this process's limits; lowers the thread count when only that makes it
    /// fit the address space; throws ``MemoryError`` otherwise. With `DDIM_MEMORY_REPORT=1` in the
    /// environment, writes the estimate to standard error (`ddim memory: …`). `policy`: the
    /// model's (``UNet2DModel/convPolicy``), or the one it will be loaded under.
    static func check(_ run: RunMemory, config: UNetConfig, policy: ConvPolicy, sampleShape: [Int],
                      loading: Bool = false) throws {
        let limits = MemoryLimits.current()
        var threads = Threads.current
        var estimate = self.estimate(run, config: config, policy: policy, sampleShape: sampleShape, threads: threads,
                                     limits: limits, loading: loading)
        if let space = limits.addressSpace, estimate.addressSpace > space {
            // fewer threads: each one less frees its OpenBLAS buffer and stack
            while threads > 1 && estimate.addressSpace > space {
                threads -= 1
                estimate = self.estimate(run, config: config, policy: policy, sampleShape: sampleShape, threads: threads,
                                         limits: limits, loading: loading)
            }
        }
        if ProcessInfo.processInfo.environment["DDIM_MEMORY_REPORT"] == "1" {
            reportPeakAtExit.run()
            let line = "ddim memory: \(run.description): resident \(estimate.resident) B, address space \(estimate.addressSpace) B, forward \(estimate.forward) B, threads \(threads); now mapped \(limits.mapped) B, resident \(limits.resident) B, heap free \(Memory.heapFreeBytes) B\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
        if let error = refusal(run, estimate, limits) { throw error }
        if threads < Threads.current { Threads.set(threads) }
        // the buffers budgeted are mapped now, while the room is there — by the run's check, not
        // the model's, whose batch of one may leave room for threads the run will not have
        if limits.addressSpace != nil && !loading && callers.value < threads { callers.raise(to: Threads.warmBLAS()) }
    }

    /// The refusal for an estimate over one of the limits (the smallest limit exceeded), or nil.
    public static func refusal(_ run: RunMemory, _ estimate: MemoryEstimate, _ limits: MemoryLimits) -> MemoryError? {
        var candidates: [(limit: Int, text: String)] = []
        if let space = limits.addressSpace, estimate.addressSpace > space {
            candidates.append((space, "\(run.description) needs about \(format(estimate.addressSpace)) of address space; this process may map \(format(space)) (RLIMIT_AS)"))
        }
        // what is available to others now, plus what this process holds already
        let available = limits.available.map { $0 + limits.resident }
        let resident: [(Int?, String)] = [(limits.override, "DDIM_MEMORY_LIMIT"), (limits.cgroup, "cgroup memory limit"),
                                          (limits.physical, "physical memory"), (available, "memory available now")]
        for case let (limit?, name) in resident where estimate.resident > limit {
            candidates.append((limit, "\(run.description) needs about \(format(estimate.resident)); this process may use \(format(limit)) (\(name))"))
        }
        return candidates.min { $0.limit < $1.limit }.map { MemoryError(description: $0.text) }
    }

    /// Bytes for people, in SI units: "214 GB", "23.4 GB", "380 MB", "4.5 MB".
    public static func format(_ bytes: Int) -> String {
        let b = Double(bytes)
        switch b {
        case 1e12...: return String(format: "%.1f TB", b / 1e12)
        case 100e9...: return String(format: "%.0f GB", b / 1e9)
        case 1e9...: return String(format: "%.1f GB", b / 1e9)
        case 100e6...: return String(format: "%.0f MB", b / 1e6)
        default: return String(format: "%.1f MB", b / 1e6)
        }
    }
}

/// With `DDIM_MEMORY_REPORT=1`: the process's peak resident memory on stderr as it exits
/// (`ddim memory: peak resident N B`, VmHWM of /proc/self/status — this program image's own; a
/// parent's wait4 ru_maxrss may include the parent's peak, recorded when a vfork-spawned child execs).
private let reportPeakAtExit = Once {
    atexit {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kilobytes = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap({ Int($0) })
        else { return }
        FileHandle.standardError.write(Data("ddim memory: peak resident \(kilobytes * 1024) B\n".utf8))
    }
}

/// Runs its action the first time ``run()`` is called.
private final class Once: @unchecked Sendable {
    private let lock = NSLock()
    private var action: (() -> Void)?
    init(_ action: @escaping () -> Void) { self.action = action }
    func run() {
        let pending = lock.withLock { () -> (() -> Void)? in
            defer { action = nil }
            return action
        }
        pending?()
    }
}

/// A monotone count shared by threads.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func raise(to n: Int) { lock.withLock { count = max(count, n) } }
}

extension LoadedModel {
    /// "digits (1×32×32)": the model and the shape of its samples.
    public var sampleDescription: String { "\(name) (\(sampleShape().map(String.init).joined(separator: "×")))" }

    /// "batch 16 of digits (1×32×32)".
    public func describe(batch: Int) -> String { "batch \(batch) of \(sampleDescription)" }

    /// Refuses `run` on this model before anything big is allocated, when its estimated peak does
    /// not fit what the process may use (``MemoryBudget``).
    public func checkMemory(_ run: RunMemory) throws {
        var run = run
        // classifier-free guidance runs ε_c and ε_∅ as one forward of 2B; the live sampler may
        // turn it on at any step
        if stepsGuided || (nullClass != nil && run.live) { run.batch *= 2 }
        try MemoryBudget.check(run, config: unet.config, policy: unet.convPolicy, sampleShape: sampleShape())
    }
}
