import Sampling
import Tensors

/// The live sampler's state machine, synchronous: ``apply(_:)`` a command, ``step()`` when
/// ``wantsStep``, read ``snapshot``. ``LiveSampler`` runs one on its worker thread; a test drives
/// one directly, step by step, without threads, sleeps or polling.
///
/// A run is a ``Sampler`` from x_T = the tiles' seeded noise (x_T is a function of seed and
/// batch, so a restart is a fresh run with the same settings). Changes of S or spacing re-plan
/// the rest of the run from the current t (``Sampler/replan(steps:noise:spacing:)``), a change of
/// σ's rule alone takes effect from the next step; after the run is done, either starts a fresh
/// run from the same x_T.
///
/// **Pace.** With ``LiveSettings/paceMilliseconds`` p > 0, a step may not start before p after
/// the start of the step before it in the run: ``step()`` refuses one that is not due, and
/// ``secondsUntilStep()`` tells the worker how long to wait for it (commands still wake it, so a
/// key is applied at once mid-wait). A new run's first step is due at once; a pause keeps the due
/// time, so a step resumed after it is not waited for twice.
///
/// **Time.** ``LiveSnapshot/runSeconds`` adds up the stretches of stepping: from the start of a
/// step that follows a wait (a pause, a new run, the pace) to the end of the last step before the
/// next wait, so time spent paused or waiting for the pace is left out: the model's time, as
/// `ddim sample` reports it.
public struct LiveRun: LiveWork {
    /// What the UI sees: the settings in force, the state, the latest x_t and x̂₀, the times.
    public private(set) var snapshot: LiveSnapshot
    private var model: LoadedModel
    private let timingBlock: Int?
    private let clock: () -> Double
    /// The settings asked for; they differ from the snapshot's after a new run that failed.
    private var settings: LiveSettings
    private var sampler: Sampler?
    private var paused: Bool
    private var failed = false
    /// ``LiveCommand/stepOnce`` requests not yet run.
    private var stepsOwed = 0
    /// The clock at the start of the stretch of stepping not yet in runSeconds (nil while waiting).
    private var mark: Double?
    /// The clock at the start of this run's last step (nil before its first): the pace counts from it.
    private var lastStart: Double?

    /// A run on `model` with `settings`, paused or not; it makes its first sampler (x_T) at once.
    /// - Parameters:
    ///   - timingBlock: N: step times are also summed per block of N steps (``LiveSnapshot/blockSeconds``).
    ///   - clock: seconds on a monotonic clock (a test passes its own).
    public init(
        model: LoadedModel, settings: LiveSettings, paused: Bool = false, timingBlock: Int? = nil,
        clock: @escaping () -> Double = LiveRun.monotonicSeconds()
    ) {
        (self.model, self.settings, self.paused, self.clock) = (model, settings, paused, clock)
        // the class: the settings', else the model's (`--class-label`)
        self.settings.classLabel = settings.classLabel ?? model.classLabel
        self.model.classLabel = self.settings.classLabel
        self.settings.guidance = settings.guidance ?? model.guidance
        self.model.guidance = self.settings.guidance ?? 1
        self.timingBlock = timingBlock.map { max(1, $0) }
        snapshot = .before(settings: self.settings, paused: paused)
        fresh()
    }

    /// Seconds since the call, on the `ContinuousClock`.
    public static func monotonicSeconds() -> () -> Double {
        let clock = ContinuousClock()
        let origin = clock.now
        return { (clock.now - origin).milliseconds / 1e3 }
    }

    /// Whether ``step()`` would run a step: there is a run, not finished, not failed, and either
    /// not paused or a ``LiveCommand/stepOnce`` is owed.
    public var wantsStep: Bool {
        guard let sampler, !sampler.isFinished, !failed else { return false }
        return !paused || stepsOwed > 0
    }

    /// The clock reading before which the next step may not start: the last step's start + the
    /// pace; nil when no pace holds it back (pace 0, or no step yet in this run).
    public var nextStepDue: Double? {
        guard settings.paceMilliseconds > 0, let lastStart else { return nil }
        return lastStart + settings.paceMilliseconds / 1e3
    }

    /// Seconds until ``step()`` would run a step: ∞ while none is wanted, ≤ 0 when one is due now.
    public func secondsUntilStep() -> Double {
        guard wantsStep else { return .infinity }
        guard let due = nextStepDue else { return 0 }
        return due - clock()
    }

    // MARK: - Commands

    /// Applies a command from the UI (see ``LiveCommand``).
    public mutating func apply(_ command: LiveCommand) {
        switch command {
        case .setSettings(let steps, let noise, let spacing):
            let replans = (steps, spacing) != (settings.steps, settings.spacing)
            let marked = replans || noise != settings.noise
            (settings.steps, settings.noise, settings.spacing) = (steps, noise, spacing)
            guard var s = sampler, !s.isFinished, !failed else { fresh(); break }
            do {
                if replans { try s.replan(steps: steps, noise: noise, spacing: spacing) } else { try s.setNoise(noise) }
                sampler = s
                snapshot.settings = settings
                snapshot.stepCount = s.count
                if marked && s.stepsDone > 0 && snapshot.planChanges.last != s.stepsDone { snapshot.planChanges.append(s.stepsDone) }
            } catch {
                // the sampler is unchanged: the run goes on with its old plan, the rejection shown
                snapshot.state = .failed(LiveFailure(error))
            }
        case .newRun(let seed, let batch):
            (settings.seed, settings.batch) = (seed, batch)
            fresh()
        case .restart:
            fresh()
        case .setPaused(let p):
            paused = p
            if snapshot.state == .running || snapshot.state == .paused { snapshot.state = p ? .paused : .running }
        case .stepOnce:
            stepsOwed += 1
        case .setClass(let label):
            settings.classLabel = label
            model.classLabel = label
            snapshot.settings.classLabel = label
            conditionChanged()
        case .setGuidance(let w):
            settings.guidance = w
            model.guidance = w
            snapshot.settings.guidance = w
            conditionChanged()
        case .setPace(let milliseconds):
            settings.paceMilliseconds = max(0, milliseconds)
            snapshot.settings.paceMilliseconds = settings.paceMilliseconds
        }
        settle()
    }

    /// The class or guidance changed: the run goes on from its x_t with the new denoiser from the
    /// next step (marked on the bar); a finished or failed run starts again from its x_T.
    private mutating func conditionChanged() {
        guard var s = sampler, !s.isFinished, !failed else { fresh(); return }
        s.model = model.denoiser
        sampler = s
        if s.stepsDone > 0 && snapshot.planChanges.last != s.stepsDone { snapshot.planChanges.append(s.stepsDone) }
    }

    /// A new run with ``settings`` from its x_T; on failure the old sampler stays, failed.
    private mutating func fresh() {
        do {
            let source = PerSampleNoise(firstSeed: settings.seed, count: settings.batch)
            let s = try Sampler(model: model.denoiser, scheduler: model.ddim, shape: [settings.batch] + model.sampleShape(),
                                steps: settings.steps, noise: settings.noise, spacing: settings.spacing, source: source)
            sampler = s
            failed = false
            (mark, lastStart) = (nil, nil)
            snapshot = LiveSnapshot(generation: snapshot.generation + 1, settings: settings, state: paused ? .paused : .running,
                                    stepCount: s.count, timestep: s.timestep ?? 0, sample: s.sample)
            snapshot.history.record(step: 0, timestep: s.timestep ?? 0, sample: s.sample, predictedX0: nil)
        } catch {
            failed = true
            snapshot.state = .failed(LiveFailure(error))
        }
    }

    /// After each command and step: a run that will wait starts a new stretch of stepping when it
    /// goes on, and one that is done or failed owes no single steps (they were for it).
    private mutating func settle() {
        if sampler?.isFinished ?? true || failed { stepsOwed = 0 }
        if !wantsStep { mark = nil }
    }

    // MARK: - Stepping

    /// Runs one step if ``wantsStep`` and records it in ``snapshot``; returns whether it ran one
    /// (a step that failed counts: the snapshot changed to ``LiveState/failed(_:)``).
    @discardableResult
    public mutating func step() -> Bool {
        guard wantsStep, var s = sampler else { return false }
        // the start: read when paced or after a wait, else the end of the step before (no time between)
        var start = mark
        if let due = nextStepDue {
            let now = clock()
            guard now >= due else { return false }
            // a step that waited for the pace starts a new stretch: the wait is not the model's time
            if let end = mark, end < due { mark = now }
            start = now
        }
        if mark == nil { mark = start ?? clock() }
        lastStart = start ?? mark
        if stepsOwed > 0 { stepsOwed -= 1 }
        do {
            guard let p = try s.step() else { return false }
            sampler = s
            let now = clock()
            let stretch = now - (mark ?? now)
            mark = now
            record(p, stretch: stretch, done: s.isFinished)
        } catch {
            failed = true
            snapshot.state = .failed(LiveFailure(error))
        }
        settle()
        return true
    }

    /// Puts step `p`, which took `stretch` seconds of stepping, into the snapshot.
    private mutating func record(_ p: StepProgress, stretch: Double, done: Bool) {
        snapshot.runSeconds += stretch
        if let block = timingBlock {
            // block k holds steps kN … kN + N − 1
            let k = p.index / block
            if snapshot.blockSeconds.count <= k {
                snapshot.blockSeconds += Array(repeating: 0, count: k + 1 - snapshot.blockSeconds.count)
            }
            snapshot.blockSeconds[k] += stretch
        }
        let ms = p.elapsed.milliseconds
        snapshot.stepsDone = p.index + 1
        snapshot.stepCount = p.count
        snapshot.timestep = p.timestep
        snapshot.alphaBar = p.alphaBar
        snapshot.sigma = p.sigma
        snapshot.lastMilliseconds = ms
        // running mean over steps 0 … i: m_i = (m_{i−1}·i + ms_i) / (i + 1)
        snapshot.meanMilliseconds = (snapshot.meanMilliseconds * Double(p.index) + ms) / Double(p.index + 1)
        snapshot.sample = p.sample
        snapshot.predictedX0 = p.predictedX0
        snapshot.history.record(step: p.index + 1, timestep: p.prev ?? 0, sample: p.sample, predictedX0: p.predictedX0)
        if done { snapshot.state = .done }
    }
}
