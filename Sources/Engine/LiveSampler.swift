import Dispatch
import Foundation
import Sampling
import Tensors

/// What a live run samples with; every field can change while it runs.
public struct LiveSettings: Sendable, Equatable {
    /// Total DDIM steps S of the plan.
    public var steps: Int
    /// σ's rule: η or σ̂.
    public var noise: NoiseLevel
    /// Timestep spacing.
    public var spacing: TimestepSpacing
    /// Seed of the first tile; tile i uses seed + i (each its own torch generator).
    public var seed: UInt64
    /// Number of tiles.
    public var batch: Int

    /// Settings for a live run.
    public init(steps: Int, noise: NoiseLevel, spacing: TimestepSpacing, seed: UInt64, batch: Int) {
        (self.steps, self.noise, self.spacing, self.seed, self.batch) = (steps, noise, spacing, seed, batch)
    }

    /// The seeds of the tiles.
    public var seeds: [UInt64] { (0..<UInt64(batch)).map { seed &+ $0 } }
}

/// Where a live run is.
public enum LiveState: Sendable, Equatable {
    case running, paused, done
    case failed(String)
}

/// The latest picture of a live run, published after every step.
public struct LiveSnapshot: Sendable {
    /// Counts restarts; a new run (new seed, batch, restart) gets a new generation.
    public var generation = 0
    /// The settings in force for this run.
    public var settings: LiveSettings
    /// Running, paused, done or failed.
    public var state: LiveState = .running
    /// Steps done in this run.
    public var stepsDone = 0
    /// Steps of the run as planned now (done + remaining).
    public var stepCount = 0
    /// The timestep of the last step (x_t was at t), or T for a fresh x_T.
    public var timestep = 0
    /// ᾱ_t and σ_t of the last step.
    public var alphaBar: Float = 0, sigma: Float = 0
    /// Milliseconds of the last step and the mean over the run.
    public var lastMilliseconds = 0.0, meanMilliseconds = 0.0
    /// Wall-clock seconds the run has spent stepping: from the start of its first step to the end
    /// of its last, pauses left out. What `ddim sample` reports as its sampling time, so the two
    /// throughputs compare (steps done / runSeconds).
    public var runSeconds = 0.0
    /// With a timing block of N steps (``LiveSampler/init(model:settings:paused:timingBlock:)``):
    /// the wall-clock seconds of steps kN…kN + N − 1 of this run in element k (each step's time
    /// as in ``runSeconds``); empty without one.
    public var blockSeconds: [Double] = []
    /// The current x (x_t, x_T at the start) and the last x̂₀ (nil before the first step), (B, C, H, W).
    public var sample: Tensor
    public var predictedX0: Tensor?
    /// Step indices at which the plan was changed mid-run.
    public var planChanges: [Int] = []

    /// Estimated seconds to the end of the run at the mean step time.
    public var secondsLeft: Double { Double(max(0, stepCount - stepsDone)) * meanMilliseconds / 1e3 }
}

/// A request from the UI to the worker.
public enum LiveCommand: Sendable, Equatable {
    /// New steps / η / spacing: re-plans the rest of the run from the current t (x_t kept);
    /// after the run is done, runs again from the same x_T with them.
    case setSettings(steps: Int, noise: NoiseLevel, spacing: TimestepSpacing)
    /// New seed or batch: a new run from a new x_T.
    case newRun(seed: UInt64, batch: Int)
    /// Back to the same x_T with the current settings.
    case restart
    /// Pause or resume.
    case setPaused(Bool)
    /// While paused: run exactly one step.
    case stepOnce
}

/// Runs a `Sampler` on a background Dispatch queue, one step at a time, and talks to the UI only
/// through two lock-protected boxes: commands in (applied between steps) and the latest snapshot
/// out (latest wins). The UI never waits for a step.
public final class LiveSampler: @unchecked Sendable {
    private let model: LoadedModel
    private let queue = DispatchQueue(label: "ddim.sampler", qos: .userInitiated)
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var pending: [LiveCommand] = []
    private var snapshot: LiveSnapshot
    private var version = 0
    private var stopping = false
    private var finished = false
    private let timingBlock: Int?

    /// A live sampler on `model`.
    /// With a `timingBlock` of N steps, each run's step times are also summed per block of N
    /// (``LiveSnapshot/blockSeconds``): how `ddim --measure-ui` compares blocks drawn live with
    /// blocks not drawn.
    public init(model: LoadedModel, settings: LiveSettings, paused: Bool = false, timingBlock: Int? = nil) {
        self.model = model
        self.timingBlock = timingBlock.map { max(1, $0) }
        snapshot = LiveSnapshot(settings: settings, state: paused ? .paused : .running, sample: Tensor(shape: [0]))
    }

    /// Starts the worker.
    public func start() {
        queue.async { [self] in work() }
    }

    /// Queues a command; it takes effect before the next step.
    public func send(_ command: LiveCommand) {
        condition.lock()
        pending.append(command)
        condition.signal()
        condition.unlock()
    }

    /// The latest snapshot and its version (which grows with each publication).
    public func latest() -> (snapshot: LiveSnapshot, version: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (snapshot, version)
    }

    /// Stops the worker after the step in progress and waits for it (at most `timeout` seconds).
    public func stop(timeout: Double = 30) {
        condition.lock()
        stopping = true
        condition.broadcast()
        let deadline = Date().addingTimeInterval(timeout)
        while !finished && condition.wait(until: deadline) {}
        condition.unlock()
    }

    // MARK: - The worker

    private func publish(_ update: (inout LiveSnapshot) -> Void) {
        condition.lock()
        update(&snapshot)
        version += 1
        condition.unlock()
    }

    private func makeSampler(_ s: LiveSettings) throws -> Sampler {
        let source = PerSampleNoise(firstSeed: s.seed, count: s.batch)
        return try Sampler(model: model.unet, scheduler: model.ddim, shape: [s.batch] + model.sampleShape(),
                           steps: s.steps, noise: s.noise, spacing: s.spacing, source: source)
    }

    private func work() {
        var settings = latest().snapshot.settings
        var sampler: Sampler?
        var paused = latest().snapshot.state == .paused
        var failed = false
        // the start of the stretch of stepping not yet in runSeconds (nil while waiting)
        let clock = ContinuousClock()
        var mark: ContinuousClock.Instant?
        // x_T is a function of (seed, batch), so a restart is a fresh run with the same settings.
        func fresh() {
            do {
                let s = try makeSampler(settings)
                sampler = s
                failed = false
                let count = s.count, start = s.sample, t = s.timestep ?? 0, current = settings
                mark = nil
                publish {
                    $0 = LiveSnapshot(generation: $0.generation + 1, settings: current, state: paused ? .paused : .running,
                                      stepCount: count, timestep: t, sample: start)
                }
            } catch {
                failed = true
                let message = "\(error)"
                publish { $0.state = .failed(message) }
            }
        }
        fresh()
        while true {
            condition.lock()
            var once = false
            while !stopping && pending.isEmpty && (paused || failed || sampler?.isFinished ?? true) {
                mark = nil
                condition.wait()
            }
            if stopping {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let commands = pending
            pending.removeAll()
            condition.unlock()

            for command in commands {
                switch command {
                case .setSettings(let steps, let noise, let spacing):
                    let changed = (steps, spacing) != (settings.steps, settings.spacing)
                    let marked = changed || noise != settings.noise
                    (settings.steps, settings.noise, settings.spacing) = (steps, noise, spacing)
                    if let s = sampler, !s.isFinished, !failed {
                        do {
                            var s2 = s
                            if changed { try s2.replan(steps: steps, noise: noise, spacing: spacing) } else { try s2.setNoise(noise) }
                            sampler = s2
                            let done = s2.stepsDone, count = s2.count, current = settings
                            publish {
                                $0.settings = current
                                $0.stepCount = count
                                if marked && done > 0 && $0.planChanges.last != done { $0.planChanges.append(done) }
                            }
                        } catch {
                            let message = "\(error)"
                            publish { $0.state = .failed(message) }
                        }
                    } else {
                        fresh()
                    }
                case .newRun(let seed, let batch):
                    (settings.seed, settings.batch) = (seed, batch)
                    fresh()
                case .restart:
                    fresh()
                case .setPaused(let p):
                    paused = p
                    publish { if $0.state == .running || $0.state == .paused { $0.state = p ? .paused : .running } }
                case .stepOnce:
                    once = true
                }
            }
            guard var s = sampler, !failed, !s.isFinished, !paused || once else { continue }
            do {
                if mark == nil { mark = clock.now }
                guard let p = try s.step() else { continue }
                sampler = s
                let ms = p.elapsed.milliseconds
                let done = s.isFinished
                let now = clock.now
                let stretch = mark.map { (now - $0).milliseconds / 1e3 } ?? 0
                mark = now
                publish {
                    $0.runSeconds += stretch
                    if let block = timingBlock {
                        let k = p.index / block
                        if $0.blockSeconds.count <= k { $0.blockSeconds += Array(repeating: 0, count: k + 1 - $0.blockSeconds.count) }
                        $0.blockSeconds[k] += stretch
                    }
                    $0.stepsDone = p.index + 1
                    $0.stepCount = p.count
                    $0.timestep = p.timestep
                    $0.alphaBar = p.alphaBar
                    $0.sigma = p.sigma
                    $0.lastMilliseconds = ms
                    $0.meanMilliseconds = ($0.meanMilliseconds * Double(p.index) + ms) / Double(p.index + 1)
                    $0.sample = p.sample
                    $0.predictedX0 = p.predictedX0
                    if done { $0.state = .done }
                }
            } catch {
                failed = true
                let message = "\(error)"
                publish { $0.state = .failed(message) }
            }
        }
    }
}

extension Duration {
    /// The duration in milliseconds.
    public var milliseconds: Double { Double(components.seconds) * 1e3 + Double(components.attoseconds) / 1e15 }
}
