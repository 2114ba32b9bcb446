import Tensors

/// The DDIM sampling loop (paper Alg. of §4.1 with eq. 12), as a step-at-a-time state machine.
///
/// ```swift
/// var source = TorchRandom(seed: 42)
/// var sampler = try Sampler(model: unet, scheduler: scheduler, shape: [1, 3, 32, 32],
///                           steps: 50, source: source)   // draws x_T from `source` first
/// while let p = try sampler.step() { show(p.predictedX0) }   // or: try sampler.run { _ in .continue }
/// ```
///
/// **Draw order** equals diffusers' `DDIMPipeline`, so that a seeded run matches it: x_T is drawn
/// first (by the caller, or by ``init(model:scheduler:shape:steps:noise:spacing:source:useClippedModelOutput:)``),
/// then each step draws one `normal(shape:)` for z **iff** ``NoiseLevel/drawsNoise`` (η > 0), even
/// on a last step whose σ is 0, as diffusers does.
///
/// **prev** is the next timestep of the plan; see ``DDIMScheduler`` for how diffusers differs
/// (only for `trailing` with S ∤ T and `linspace`).
///
/// **Pausing and re-planning.** A caller that drives ``step()`` itself can stop between any two
/// steps for as long as it likes and call ``replan(steps:noise:spacing:)``; ``run(progress:)`` is
/// the same loop with a handler that returns a ``SamplerControl`` (a handler may also block).
///
/// **Cancellation** is not an error: ``run(progress:)`` returns ``SamplerOutcome/cancelled(sample:stepsDone:)``.
/// Errors from the model are rethrown, leaving the state as it was before the failing step.
public struct Sampler {
    /// The denoising model (its output: ε_θ, x̂₀ or v). It may be replaced between steps (the
    /// live sampler's class label takes effect at the next step, as η does).
    public var model: any DenoisingModel
    /// The schedule and the update.
    public let scheduler: DDIMScheduler
    /// Where z comes from.
    public var source: any NoiseSource
    /// The current x: x_t at ``timestep``, or x₀ once ``isFinished``.
    public private(set) var sample: Tensor
    /// The timesteps still to run, descending; the first is the one ``sample`` is at.
    public private(set) var remaining: [Int]
    /// Steps done so far.
    public private(set) var stepsDone = 0
    /// σ's rule for the coming steps.
    public private(set) var noise: NoiseLevel
    /// GLIDE's "recompute ε from the clipped x̂₀" (diffusers' `use_clipped_model_output`).
    public var useClippedModelOutput: Bool

    /// A sampler over an explicit plan (descending timesteps in 0..<T), starting from x_T =
    /// `initialSample` at `timesteps[0]`.
    public init(
        model: any DenoisingModel, scheduler: DDIMScheduler, initialSample: Tensor, timesteps: [Int],
        noise: NoiseLevel = .deterministic, source: any NoiseSource, useClippedModelOutput: Bool = false
    ) throws {
        try Self.check(plan: timesteps, trainTimesteps: scheduler.trainTimesteps)
        try scheduler.check(noise: noise, plan: timesteps)
        self.model = model
        self.scheduler = scheduler
        self.source = source
        self.sample = initialSample
        self.remaining = timesteps
        self.noise = noise
        self.useClippedModelOutput = useClippedModelOutput
    }

    /// A sampler over a `steps`-step plan (the config's spacing unless `spacing` is given),
    /// starting from x_T = `initialSample`.
    public init(
        model: any DenoisingModel, scheduler: DDIMScheduler, initialSample: Tensor, steps: Int,
        noise: NoiseLevel = .deterministic, spacing: TimestepSpacing? = nil, source: any NoiseSource,
        useClippedModelOutput: Bool = false
    ) throws {
        try self.init(
            model: model, scheduler: scheduler, initialSample: initialSample,
            timesteps: try scheduler.timesteps(steps: steps, spacing: spacing), noise: noise, source: source,
            useClippedModelOutput: useClippedModelOutput)
    }

    /// A sampler that first draws x_T of `shape` from `source`, as `DDIMPipeline` does.
    public init(
        model: any DenoisingModel, scheduler: DDIMScheduler, shape: [Int], steps: Int,
        noise: NoiseLevel = .deterministic, spacing: TimestepSpacing? = nil, source: any NoiseSource,
        useClippedModelOutput: Bool = false
    ) throws {
        let timesteps = try scheduler.timesteps(steps: steps, spacing: spacing)
        var source = source
        let initial = source.normal(shape: shape)
        try self.init(
            model: model, scheduler: scheduler, initialSample: initial, timesteps: timesteps, noise: noise,
            source: source, useClippedModelOutput: useClippedModelOutput)
    }

    /// Whether every step has run (``sample`` is x₀).
    public var isFinished: Bool { remaining.isEmpty }
    /// The timestep ``sample`` is at; `nil` once finished.
    public var timestep: Int? { remaining.first }
    /// The number of steps of the run as now planned (done + remaining).
    public var count: Int { stepsDone + remaining.count }

    // MARK: - Stepping

    /// Runs one step and returns its progress, or `nil` if the run is finished.
    public mutating func step() throws -> StepProgress? {
        guard let t = remaining.first else { return nil }
        let prev = remaining.count > 1 ? remaining[1] : nil
        let clock = ContinuousClock()
        let start = clock.now
        let output = try model.checkedOutput(sample, timestep: t, step: stepsDone + 1, of: count, what: "the model's output")
        var z: Tensor?
        if noise.drawsNoise {
            let drawn = source.normal(shape: sample.shape)
            guard drawn.shape == sample.shape else {
                throw SamplingError.noiseShape(expected: sample.shape, actual: drawn.shape)
            }
            z = drawn
        }
        let result = scheduler.step(
            sample: sample, modelOutput: output, timestep: t, prev: prev, noise: noise, varianceNoise: z,
            useClippedModelOutput: useClippedModelOutput)
        let index = stepsDone
        let badSample = result.prevSample.nonFiniteCount
        guard badSample == 0 else {
            throw SamplingError.nonFinite(step: stepsDone + 1, of: count, timestep: t, what: "the new sample", count: badSample)
        }
        sample = result.prevSample
        remaining.removeFirst()
        stepsDone += 1
        return StepProgress(
            index: index, count: count, timestep: t, prev: prev, alphaBar: result.alphaBar,
            alphaBarPrev: result.alphaBarPrev, sigma: result.sigma, sample: result.prevSample,
            predictedX0: result.predictedX0, elapsed: clock.now - start)
    }

    /// Re-makes the rest of the plan from the current timestep t: the next step starts from
    /// ``sample`` at t and then visits the timesteps of a fresh `steps`-step plan (with `spacing`
    /// and the config's `steps_offset`) that lie strictly below t. `noise` applies from the next
    /// step on. Does nothing once finished.
    public mutating func replan(steps: Int, noise: NoiseLevel, spacing: TimestepSpacing) throws {
        guard let t = remaining.first else { return }
        let plan = [t] + (try scheduler.timesteps(steps: steps, spacing: spacing, below: t))
        try scheduler.check(noise: noise, plan: plan)
        remaining = plan
        self.noise = noise
    }

    /// Changes σ's rule from the next step on.
    /// - Throws: ``SamplingError/etaOutOfRange(eta:largest:steps:)`` for an η too large for the
    ///   rest of the plan (the rule is then unchanged).
    public mutating func setNoise(_ noise: NoiseLevel) throws {
        try scheduler.check(noise: noise, plan: remaining)
        self.noise = noise
    }

    /// Steps until the plan is done or the handler cancels; the handler is called after every
    /// step and its answer applies before the next one.
    public mutating func run(
        progress: (StepProgress) throws -> SamplerControl = { _ in .continue }
    ) throws -> SamplerOutcome {
        while let p = try step() {
            switch try progress(p) {
            case .continue: break
            case .cancel:
                if isFinished { return .finished(sample) }
                return .cancelled(sample: sample, stepsDone: stepsDone)
            case .replan(let steps, let noise, let spacing):
                try replan(steps: steps, noise: noise, spacing: spacing)
            }
        }
        return .finished(sample)
    }

    // MARK: - Checks

    static func check(plan: [Int], trainTimesteps T: Int, ascending: Bool = false) throws {
        guard !plan.isEmpty else { throw SamplingError.invalidPlan(timesteps: plan, reason: "no timesteps") }
        if let bad = plan.first(where: { $0 < 0 || $0 >= T }) {
            throw SamplingError.invalidPlan(timesteps: plan, reason: "timestep \(bad) outside 0..<\(T)")
        }
        for (a, b) in zip(plan, plan.dropFirst()) where ascending ? a >= b : a <= b {
            throw SamplingError.invalidPlan(
                timesteps: plan, reason: "not strictly \(ascending ? "increasing" : "decreasing") at \(a), \(b)")
        }
    }
}
