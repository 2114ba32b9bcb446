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
public struct Inverter {
    /// ε_θ.
    public let model: any NoisePredictor
    /// The schedule (and prediction type).
    public let scheduler: DDIMScheduler

    /// An inverter for a model and scheduler.
    public init(model: any NoisePredictor, scheduler: DDIMScheduler) {
        self.model = model
        self.scheduler = scheduler
    }

    /// Encodes x₀ into x_T along `timesteps`, a plan in sampling order (descending, as
    /// ``TimestepSpacing/plan(steps:trainTimesteps:offset:)`` gives it), run from its end to its
    /// start. `progress` is called after every step; returning `false` stops the run, which then
    /// returns ``SamplerOutcome/cancelled(sample:stepsDone:)``.
    public func encode(
        _ x0: Tensor, timesteps: [Int], progress: (InversionProgress) throws -> Bool = { _ in true }
    ) throws -> SamplerOutcome {
        try Sampler.check(plan: timesteps, trainTimesteps: scheduler.trainTimesteps)
        let clock = ContinuousClock()
        var x = x0
        var from: Int? = nil
        for (index, t) in timesteps.reversed().enumerated() {
            let start = clock.now
            let output = try model.predictNoise(x, timestep: t)
            guard output.shape == x.shape else {
                throw SamplingError.modelOutputShape(timestep: t, expected: x.shape, actual: output.shape)
            }
            let bad = output.nonFiniteCount
            guard bad == 0 else {
                throw SamplingError.nonFinite(step: index + 1, of: timesteps.count, timestep: t, what: "the model's output (inverting)", count: bad)
            }
            x = scheduler.inverseStep(sample: x, modelOutput: output, from: from, to: t)
            let report = InversionProgress(
                index: index, count: timesteps.count, from: from, timestep: t, sample: x, elapsed: clock.now - start)
            from = t
            if try !progress(report) && index + 1 < timesteps.count {
                return .cancelled(sample: x, stepsDone: index + 1)
            }
        }
        return .finished(x)
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
    public func inverseStep(sample x: Tensor, modelOutput: Tensor, from: Int?, to t: Int) -> Tensor {
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
