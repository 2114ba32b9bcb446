import Tensors

/// DDIM inversion (paper §4.3, "encoding from x₀ to x_T"): the deterministic update (η = 0) run
/// with increasing t, so that sampling the result with the same plan gives x₀ back (Table 2).
///
/// Each step goes from the level of the previous timestep s (x₀'s level, ᾱ =
/// ``NoiseSchedule/finalAlphaBar``, for the first) to the next larger timestep t of the plan, with
/// ε evaluated at (x_s, t) — the convention of diffusers' `DDIMInverseScheduler`, which makes it
/// the exact reverse of the sampling step whenever ε does not depend on x:
///
///     x̂₀ = (x_s − √(1 − ᾱ_s)·ε_θ(x_s, t)) / √ᾱ_s,   x_t = √ᾱ_t·x̂₀ + √(1 − ᾱ_t)·ε_θ(x_s, t)
///
/// No clipping or thresholding is applied (they would not be invertible).
///
/// Like ``Sampler``, a step-at-a-time state machine:
///
/// ```swift
/// var inverter = try Inverter(model: unet, scheduler: unclipped, initialSample: x0, timesteps: plan)
/// while let p = try inverter.step() { show(p.sample) }   // or: try Inverter(…).encode(x0, timesteps: plan)
/// ```
///
/// Errors from the model are rethrown, leaving the state as it was before the failing step.
public struct Inverter {
    /// The denoising model (its output: ε_θ, x̂₀ or v).
    public let model: any DenoisingModel
    /// The schedule (and prediction type).
    public let scheduler: DDIMScheduler
    /// The current x: x₀ before the first step, x_t at the last timestep run (``from``) after it.
    public private(set) var sample: Tensor
    /// The timesteps still to run, ascending; the first is where the next step goes.
    public private(set) var remaining: [Int]
    /// The timestep ``sample`` is at; `nil` while it is x₀.
    public private(set) var from: Int?
    /// Steps done so far.
    public private(set) var stepsDone = 0

    /// An inverter for a model and scheduler, with nothing to encode yet: ``encode(_:timesteps:progress:)``
    /// gives it x₀ and a plan.
    public init(model: any DenoisingModel, scheduler: DDIMScheduler) {
        self.model = model
        self.scheduler = scheduler
        self.sample = Tensor(shape: [0])
        self.remaining = []
    }

    /// An inverter that encodes `initialSample` (x₀) along `timesteps`, a plan in sampling order
    /// (descending, as ``TimestepSpacing/plan(steps:trainTimesteps:offset:)`` gives it), run from
    /// its end to its start.
    /// - Throws: ``SamplingError/invalidPlan(timesteps:reason:)``.
    public init(model: any DenoisingModel, scheduler: DDIMScheduler, initialSample: Tensor, timesteps: [Int]) throws {
        try Sampler.check(plan: timesteps, trainTimesteps: scheduler.trainTimesteps)
        self.model = model
        self.scheduler = scheduler
        self.sample = initialSample
        self.remaining = timesteps.reversed()
    }

    /// Whether every step has run (``sample`` is x_T).
    public var isFinished: Bool { remaining.isEmpty }
    /// The number of steps of the plan (done + remaining).
    public var count: Int { stepsDone + remaining.count }

    /// Runs one step, x_s → x_t with ε_θ(x_s, t), and returns its progress, or `nil` if the
    /// encoding is finished.
    public mutating func step() throws -> InversionProgress? {
        guard let t = remaining.first else { return nil }
        let clock = ContinuousClock()
        let start = clock.now
        let output = try model.checkedOutput(
            sample, timestep: t, step: stepsDone + 1, of: count, what: "the model's output (inverting)")
        let next = scheduler.inverseStep(sample: sample, modelOutput: output, from: from, to: t)
        let report = InversionProgress(
            index: stepsDone, count: count, from: from, timestep: t, sample: next, elapsed: clock.now - start)
        sample = next
        from = t
        remaining.removeFirst()
        stepsDone += 1
        return report
    }

    /// Encodes x₀ into x_T along `timesteps`, a plan in sampling order (descending, as
    /// ``TimestepSpacing/plan(steps:trainTimesteps:offset:)`` gives it), run from its end to its
    /// start: ``step()`` until finished. `progress` is called after every step; returning `false`
    /// stops the run, which then returns ``SamplerOutcome/cancelled(sample:stepsDone:)``.
    public func encode(
        _ x0: Tensor, timesteps: [Int], progress: (InversionProgress) throws -> Bool = { _ in true }
    ) throws -> SamplerOutcome {
        var run = try Inverter(model: model, scheduler: scheduler, initialSample: x0, timesteps: timesteps)
        while let report = try run.step() {
            if try !progress(report) && !run.isFinished {
                return .cancelled(sample: run.sample, stepsDone: run.stepsDone)
            }
        }
        return .finished(run.sample)
    }
}

/// What an ``Inverter`` reports after each step.
public struct InversionProgress: Sendable {
    /// This step's index, 0-based.
    public var index: Int
    /// The number of steps.
    public var count: Int
    /// The timestep x came from (`nil`: x₀).
    public var from: Int?
    /// The timestep x went to (where ε was evaluated).
    public var timestep: Int
    /// x at ``timestep``.
    public var sample: Tensor
    /// The time this step took.
    public var elapsed: Duration
}

extension DDIMScheduler {
    /// One inversion step from the level of `from` (`nil`: x₀, ᾱ = ``NoiseSchedule/finalAlphaBar``)
    /// up to timestep `to`, with the model output evaluated at (x, `to`); see ``Inverter``.
    func inverseStep(sample x: Tensor, modelOutput: Tensor, from: Int?, to t: Int) -> Tensor {
        precondition(x.shape == modelOutput.shape, "DDIM inverse step: sample \(x.shape) vs model output \(modelOutput.shape)")
        let (x0, eps) = predictedX0AndNoise(sample: x, modelOutput: modelOutput, alphaBar: schedule.alphaBar(at: from))
        let alphaBar = schedule.alphaBar[t]
        let sqrtA = alphaBar.squareRoot()
        let sqrtB = (1 - alphaBar).squareRoot()
        var out = x0
        out.data.withUnsafeMutableBufferPointer { out in
            eps.data.withUnsafeBufferPointer { eps in
                // x_t = √α_t·x̂₀ + √(1 − α_t)·ε   (eq. 12 with σ = 0, run upwards)
                for i in 0..<out.count { out[i] = sqrtA * out[i] + sqrtB * eps[i] }
            }
        }
        return out
    }
}
