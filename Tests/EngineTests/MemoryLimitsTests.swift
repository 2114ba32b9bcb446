import Engine
import Foundation
import Testing
import UNet

/// Reading what the process may use: /proc and /sys texts handed to the parsers as they are
/// found on Linux, v1 and v2 cgroup layouts, and the budget's arithmetic and messages.
@Suite("Memory limits and the budget's arithmetic")
struct MemoryLimitsTests {
    @Test("/proc/self/status: VmSize and VmRSS in bytes")
    func status() {
        let text = "Name:\tddim\nVmPeak:\t  601324 kB\nVmSize:\t  601000 kB\nVmLck:\t       0 kB\nVmRSS:\t   39932 kB\nThreads:\t3\n"
        let parsed = MemoryLimits.parseStatus(text)
        #expect(parsed?.mapped == 601_000 * 1024)
        #expect(parsed?.resident == 39_932 * 1024)
        #expect(MemoryLimits.parseStatus("Name:\tddim\n") == nil)
    }

    @Test("/proc/meminfo: MemTotal and MemAvailable in bytes")
    func meminfo() {
        let text = "MemTotal:       24683868 kB\nMemFree:        22800000 kB\nMemAvailable:   24216000 kB\nBuffers:  1 kB\n"
        #expect(MemoryLimits.parseMemTotal(text) == 24_683_868 * 1024)
        #expect(MemoryLimits.parseMemAvailable(text) == 24_216_000 * 1024)
        #expect(MemoryLimits.parseMemAvailable("MemTotal: 1 kB\n") == nil)
    }

    @Test("limit files: max and v1's page-rounded LONG_MAX are no limit", arguments: [
        ("max\n", nil), ("9223372036854771712\n", nil), ("8589934592\n", 8_589_934_592), ("0\n", 0), ("", nil), ("12abc", nil),
    ] as [(String, Int?)])
    func limitValue(text: String, bytes: Int?) {
        #expect(MemoryLimits.parseLimit(text) == bytes)
    }

    static let v2Mount = "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"

    @Test("cgroup v2: the process's cgroup and every ancestor up to the mount")
    func v2Files() {
        let files = MemoryLimits.cgroupLimitFiles(procSelfCgroup: "0::/user.slice/user-1000.slice/session-3.scope\n",
                                                  mountinfo: "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n" + Self.v2Mount)
        #expect(files == [
            "/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope/memory.max",
            "/sys/fs/cgroup/user.slice/user-1000.slice/memory.max",
            "/sys/fs/cgroup/user.slice/memory.max",
            "/sys/fs/cgroup/memory.max",
        ])
    }

    @Test("cgroup v1 (this project's VM): the memory hierarchy's limit_in_bytes files; other controllers ignored")
    func v1Files() {
        let cgroup = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/9784bc5c\n1:cpu:/\n0::/\n"
        let mounts = """
            31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
            35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw

            """
        let files = MemoryLimits.cgroupLimitFiles(procSelfCgroup: cgroup, mountinfo: mounts)
        #expect(files == [
            "/sys/fs/cgroup/memory/process_api/9784bc5c/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/process_api/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/unified/memory.max",
        ])
    }

    @Test("a container's cgroup namespace: the mount's root is the process's cgroup; escaped mount points")
    func namespaceRoot() {
        let mount = "40 30 0:40 /docker/abc /sys/fs/my\\040cgroup rw - cgroup2 cgroup2 rw\n"
        #expect(MemoryLimits.cgroupLimitFiles(procSelfCgroup: "0::/docker/abc\n", mountinfo: mount)
                == ["/sys/fs/my cgroup/memory.max"])
        #expect(MemoryLimits.cgroupLimitFiles(procSelfCgroup: "0::/docker/abc/job\n", mountinfo: mount)
                == ["/sys/fs/my cgroup/job/memory.max", "/sys/fs/my cgroup/memory.max"])
        // a cgroup outside the mount's root is not under it
        #expect(MemoryLimits.cgroupLimitFiles(procSelfCgroup: "0::/other\n", mountinfo: mount).isEmpty)
    }

    @Test("the limit is the smallest over the cgroup and its ancestors; unreadable files are skipped")
    func smallestAncestor() {
        let files = [
            "/sys/fs/cgroup/a/b/memory.max": "max\n",
            "/sys/fs/cgroup/a/memory.max": "4294967296\n",
            "/sys/fs/cgroup/memory.max": "8589934592\n",
        ]
        let limit = MemoryLimits.cgroupLimit(procSelfCgroup: "0::/a/b\n", mountinfo: Self.v2Mount) { files[$0] }
        #expect(limit == 4_294_967_296)
        #expect(MemoryLimits.cgroupLimit(procSelfCgroup: "0::/a/b\n", mountinfo: Self.v2Mount) { _ in "max" } == nil)
    }

    @Test("this process's own limits read as they are")
    func current() {
        let limits = MemoryLimits.current()
        #expect(limits.mapped > limits.resident && limits.resident > 0, "\(limits)")
        #expect((limits.physical ?? 0) > 256 << 20, "\(limits)")
        #expect((limits.available ?? 0) <= (limits.physical ?? 0), "\(limits)")
    }

    // MARK: - The budget

    let none = MemoryLimits(addressSpace: nil, mapped: 0, resident: 0, cgroup: nil, physical: nil)
    let run = RunMemory("batch 100000 of digits (1×32×32)", batch: 100_000)

    @Test("a refusal names the estimate and the smallest limit it exceeds, in one line")
    func refusal() {
        var limits = none
        (limits.physical, limits.cgroup, limits.available) = (25_300_000_000, 8_000_000_000, 20_000_000_000)
        let estimate = MemoryEstimate(resident: 161_000_000_000, addressSpace: 162_000_000_000, forward: 0, threads: 2)
        #expect(MemoryBudget.refusal(run, estimate, limits)?.description
                == "batch 100000 of digits (1×32×32) needs about 161 GB; this process may use 8.0 GB (cgroup memory limit)")
        limits.cgroup = nil
        #expect(MemoryBudget.refusal(run, estimate, limits)?.description
                == "batch 100000 of digits (1×32×32) needs about 161 GB; this process may use 20.0 GB (memory available now)")
        limits.addressSpace = 400_000_000
        #expect(MemoryBudget.refusal(run, estimate, limits)?.description
                == "batch 100000 of digits (1×32×32) needs about 162 GB of address space; this process may map 400 MB (RLIMIT_AS)")
        // under every limit: no refusal
        let small = MemoryEstimate(resident: 300_000_000, addressSpace: 390_000_000, forward: 0, threads: 2)
        #expect(MemoryBudget.refusal(run, small, limits) == nil)
        limits.override = 200_000_000
        #expect(MemoryBudget.refusal(run, small, limits)?.description.hasSuffix("may use 200 MB (DDIM_MEMORY_LIMIT)") == true)
    }

    @Test("bytes for people", arguments: [
        (214_000_000_000, "214 GB"), (23_400_000_000, "23.4 GB"), (380_000_000, "380 MB"), (4_500_000, "4.5 MB"),
        (1_200_000_000_000, "1.2 TB"),
    ])
    func format(bytes: Int, text: String) { #expect(MemoryBudget.format(bytes) == text) }

    @Test("kept steps, pictures, loading and new threads each add what the formula says")
    func arithmetic() throws {
        let config = try digitsConfig()
        let shape = [1, 32, 32], sample = 4 * 32 * 32
        func estimate(_ r: RunMemory, loading: Bool = false, budgeted: Int = 2) -> MemoryEstimate {
            MemoryBudget.estimate(r, config: config, sampleShape: shape, threads: 2, limits: none, loading: loading,
                                  heapFree: 0, callersBudgeted: budgeted, workersStarted: 1)
        }
        let base = estimate(RunMemory("b", batch: 16, pictures: 0))
        // a trajectory keeps x_t and x̂₀ of every step: 2 · steps · samples · C·H·W floats
        let kept = estimate(RunMemory("b", batch: 16, keptSteps: 50, pictures: 0))
        #expect(kept.resident - base.resident == 2 * 50 * 16 * sample)
        #expect(kept.addressSpace - base.addressSpace == 2 * 50 * 16 * sample)
        // each picture: the tile, the composed picture and the PNG's rows, 3 bytes a pixel of (H + 2)(W + 2)
        let pictures = estimate(RunMemory("b", batch: 16, pictures: 10))
        #expect(pictures.resident - base.resident == 10 * 3 * 34 * 34 * 3)
        // two threads whose OpenBLAS buffers are not mapped yet: 128 MB of address space each
        let cold = estimate(RunMemory("b", batch: 16, pictures: 0), budgeted: 0)
        #expect(cold.addressSpace - base.addressSpace == 2 * ((32 << 22) + 4096))
        // loading: the weights, and the largest tensor read while its planes are made
        let loading = estimate(RunMemory("b", batch: 16, pictures: 0), loading: true)
        let weights = config.memory(batch: 1, height: 32, width: 32, threads: 2).weights
        let largest = 4 * (config.parameterShapes.map { $0.shape.reduce(1, *) }.max() ?? 0)
        #expect(loading.resident - base.resident == weights + 2 * largest)
        #expect(loading.addressSpace - base.addressSpace == weights + 2 * largest)
        // more samples held (a comparison's columns): 4 tensors of C·H·W floats each
        let held = estimate(RunMemory("b", batch: 16, samples: 64, pictures: 0))
        #expect(held.resident - base.resident == 4 * 48 * sample)
    }
}

/// The embedded digits model's config (Sources/DefaultModel/digits).
func digitsConfig() throws -> UNetConfig {
    try UNetConfig.load(from: repositoryRoot.appendingPathComponent("Sources/DefaultModel/digits/config.json"))
}

/// The repository's root folder.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
