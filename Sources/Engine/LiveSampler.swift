import Dispatch
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
    /// The pace: a step may not start before `paceMilliseconds` after the start of the step before
    /// it, so that a fast model can be watched; 0: as fast as possible. Only the live sampler
    /// paces (``LiveRun``); headless commands and the studio views never do.
    public var paceMilliseconds: Double
    /// The class every tile is drawn as, for a class-conditional model (nil: unconditional);
    /// ``LiveCommand/setClass(_:)`` changes it from the next step.
    public var classLabel: Int?
    /// The guidance weight w for a model with a null class (nil: the model's, `--guidance`);
    /// ``LiveCommand/setGuidance(_:)`` changes it from the next step.
    public var guidance: Float?

    /// Settings for a live run (unpaced unless `paceMilliseconds` is given).
    public init(steps: Int, noise: NoiseLevel, spacing: TimestepSpacing, seed: UInt64, batch: Int, paceMilliseconds: Double = 0) {
        (self.steps, self.noise, self.spacing, self.seed, self.batch) = (steps, noise, spacing, seed, batch)
        self.paceMilliseconds = paceMilliseconds
    }

    /// The seeds of the tiles.
    public var seeds: [UInt64] { (0..<UInt64(batch)).map { seed &+ $0 } }
}

/// Where a live run is.
public enum LiveState: Sendable, Equatable {
    /// Stepping.
    case running
    /// Stopped by the user between two steps; ``LiveCommand/stepOnce`` runs one.
    case paused
    /// Every step of the plan has run; ``LiveSnapshot/sample`` is x₀.
    case done
    /// Stopped by an error (or, for a rejected re-plan, reported while the old plan goes on).
    case failed(LiveFailure)
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
    /// Milliseconds of the last step and the mean over the run: the model's time, a wait for the
    /// pace left out.
    public var lastMilliseconds = 0.0, meanMilliseconds = 0.0
    /// Wall-clock seconds the run has spent stepping: from the start of its first step to the end
    /// of its last, pauses and waits for the pace left out. What `ddim sample` reports as its
    /// sampling time, so the two throughputs compare (steps done / runSeconds).
    public var runSeconds = 0.0
    /// With a timing block of N steps (``LiveSampler/init(model:settings:paused:timingBlock:)``):
    /// the wall-clock seconds of steps kN…kN + N − 1 of this run in element k (each step's time
    /// as in ``runSeconds``); empty without one.
    public var blockSeconds: [Double] = []
    /// The current x (x_t, x_T at the start) and the last x̂₀ (nil before the first step), (B, C, H, W).
    public var sample: Tensor
    /// x̂₀ of the last step: the picture a preview shows.
    public var predictedX0: Tensor?
    /// Step indices at which the plan was changed mid-run.
    public var planChanges: [Int] = []
    /// Every step's pictures of this run at preview resolution, for stepping back through it.
    public var history = LiveHistory()

    /// The snapshot before a run has started: nothing sampled yet (generation 0).
    static func before(settings: LiveSettings, paused: Bool) -> LiveSnapshot {
        LiveSnapshot(settings: settings, state: paused ? .paused : .running, sample: Tensor(shape: [0]))
    }

    /// Estimated seconds to the end of the run at the mean step time, or at the pace where that
    /// is longer.
    public var secondsLeft: Double {
        Double(max(0, stepCount - stepsDone)) * max(meanMilliseconds, settings.paceMilliseconds) / 1e3
    }
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
    /// Run exactly one step even while paused (each command is one step; while running it is
    /// one of the steps that would run anyway).
    case stepOnce
    /// A new pace (``LiveSettings/paceMilliseconds``, 0: as fast as possible); it applies from the
    /// next step, at once if that step is waiting for the old pace.
    case setPace(milliseconds: Double)
    /// Another class label (``LiveSettings/classLabel``): the run goes on from its x_t with the
    /// model told the new class from the next step, as a change of η does (marked on the bar).
    case setClass(Int?)
    /// Another guidance weight w (``LiveSettings/guidance``), from the next step, as a class.
    case setGuidance(Float)
}

/// Runs a ``LiveRun`` on a background Dispatch queue, one step at a time, and talks to the UI
/// only through a ``Mailbox``: commands in (applied between steps) and the latest snapshot out
/// (latest wins). The UI never waits for a step.
public final class LiveSampler: Sendable {
    private let model: LoadedModel
    private let settings: LiveSettings
    private let paused: Bool
    private let timingBlock: Int?
    private let queue = DispatchQueue(label: "ddim.sampler", qos: .userInitiated)
    private let mailbox: Mailbox<LiveCommand, LiveSnapshot>

    /// A live sampler on `model`, starting with `settings` (paused or not).
    /// With a `timingBlock` of N steps, each run's step times are also summed per block of N
    /// (``LiveSnapshot/blockSeconds``): how `ddim --measure-ui` compares blocks drawn live with
    /// blocks not drawn.
    public init(model: LoadedModel, settings: LiveSettings, paused: Bool = false, timingBlock: Int? = nil) {
        (self.model, self.settings, self.paused, self.timingBlock) = (model, settings, paused, timingBlock)
        mailbox = Mailbox(.before(settings: settings, paused: paused))
    }

    /// Starts the worker (once; later calls do nothing).
    public func start() {
        mailbox.startOnce(on: queue) { [self] in work() }
    }

    /// Queues a command; it takes effect before the next step.
    public func send(_ command: LiveCommand) { mailbox.send(command) }

    /// The latest snapshot and its version (which grows with each publication).
    public func latest() -> (snapshot: LiveSnapshot, version: Int) { mailbox.latest() }

    /// Stops the worker after the step in progress and waits for it (at most `timeout` seconds).
    public func stop(timeout: Double = 30) { mailbox.stop(timeout: timeout) }

    /// The worker: a ``LiveRun`` served until stopped.
    private func work() {
        mailbox.serve(LiveRun(model: model, settings: settings, paused: paused, timingBlock: timingBlock))
    }
}

extension Duration {
    /// The duration in milliseconds.
    public var milliseconds: Double { Double(components.seconds) * 1e3 + Double(components.attoseconds) / 1e15 }
}
