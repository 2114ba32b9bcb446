import Tensors

/// One DDIM update, x_t → x_prev (Song, Meng & Ermon, *Denoising Diffusion Implicit Models*,
/// eq. 12); matches diffusers' `DDIMScheduler.step` to float32 rounding.
///
/// A pure function of its inputs: no random numbers are drawn here; the variance noise z is
/// passed in (``Sampler`` draws it).
///
/// | paper | diffusers | here |
/// | --- | --- | --- |
/// | α_t | `alpha_prod_t` | `alphaBar` (ᾱ_t) |
/// | α_{t−1} | `alpha_prod_t_prev` | `alphaBarPrev` |
/// | ε_θ(x_t) | `pred_epsilon` | `eps` |
/// | f_θ(x_t) | `pred_original_sample` | `predictedX0` (x̂₀) |
/// | σ_t(η) | `std_dev_t` | `sigma` |
///
/// **prev.** We take prev = the next timestep of the plan (`nil` after the last: ᾱ_prev =
/// ``NoiseSchedule/finalAlphaBar``). diffusers takes prev = t − T//S whatever the spacing
/// (``diffusersPrev(timestep:steps:)``): the same for `leading`, but wrong for `trailing` when S
/// does not divide T and for `linspace` generally (diffusers issues #12633, #11347, #9261).
/// Pass diffusers' prev to reproduce diffusers exactly.
///
/// Limits: `rescale_betas_zero_snr` is not supported (the config refuses it).
public struct DDIMScheduler: Sendable {
    /// β, α and ᾱ.
    public let schedule: NoiseSchedule
    /// The prediction type, clipping/thresholding and spacing settings.
    public let config: SchedulerConfig

    /// A scheduler for a config, building its schedule.
    public init(config: SchedulerConfig) throws {
        self.init(schedule: try NoiseSchedule(config: config), config: config)
    }

    /// A scheduler from a schedule and the config's update settings (its β fields are ignored).
    public init(schedule: NoiseSchedule, config: SchedulerConfig) {
        self.schedule = schedule
        self.config = config
    }

    /// T, the number of training timesteps.
    public var trainTimesteps: Int { schedule.trainTimesteps }

    // MARK: - Plans

    /// The descending plan of `steps` timesteps (the config's spacing and `steps_offset` unless
    /// another spacing is given).
    public func timesteps(steps: Int, spacing: TimestepSpacing? = nil) throws -> [Int] {
        try (spacing ?? config.timestepSpacing).plan(
            steps: steps, trainTimesteps: trainTimesteps, offset: config.stepsOffset)
    }

    /// The timesteps of a fresh `steps`-step plan strictly below `t` (for re-planning mid-run).
    public func timesteps(steps: Int, spacing: TimestepSpacing? = nil, below t: Int) throws -> [Int] {
        try (spacing ?? config.timestepSpacing).plan(
            steps: steps, trainTimesteps: trainTimesteps, offset: config.stepsOffset, below: t)
    }

    /// diffusers' prev for an S-step run: t − T//S, or `nil` (ᾱ_prev = ``NoiseSchedule/finalAlphaBar``)
    /// when that is negative.
    public func diffusersPrev(timestep t: Int, steps: Int) -> Int? {
        let prev = t - trainTimesteps / steps
        return prev >= 0 ? prev : nil
    }

    // MARK: - The update

    /// One update from x_t at timestep `t` to x_prev at `prev` (`nil`: the step to x₀).
    ///
    /// - Parameters:
    ///   - sample: x_t.
    ///   - modelOutput: the model's output at (x_t, t), read per ``SchedulerConfig/predictionType``.
    ///   - noise: σ_t's rule.
    ///   - varianceNoise: z ~ N(0, I) of x's shape; `nil` adds no noise term.
    ///   - useClippedModelOutput: recompute ε from the clipped x̂₀ (GLIDE; diffusers' flag).
    public func step(
        sample x: Tensor, modelOutput: Tensor, timestep t: Int, prev: Int?, noise: NoiseLevel = .deterministic,
        varianceNoise z: Tensor? = nil, useClippedModelOutput: Bool = false
    ) -> StepResult {
        precondition(x.shape == modelOutput.shape, "DDIM step: sample \(x.shape) vs model output \(modelOutput.shape)")
        precondition(z.map { $0.shape == x.shape } ?? true, "DDIM step: variance noise shape differs from \(x.shape)")
        let alphaBar = schedule.alphaBar[t]
        let alphaBarPrev = schedule.alphaBar(at: prev)
        var (x0, eps) = predictedX0AndNoise(sample: x, modelOutput: modelOutput, alphaBar: alphaBar)
        x0 = clipOrThreshold(x0)
        let sigma = noise.sigma(alphaBar: alphaBar, alphaBarPrev: alphaBarPrev)
        if useClippedModelOutput {
            eps = Self.epsilon(sample: x, predictedX0: x0, alphaBar: alphaBar)
        }
        let sqrtAlphaBarPrev = alphaBarPrev.squareRoot()
        // √(1 − α_{t−1} − σ_t²), "the direction pointing to x_t"; 0 where rounding or σ̂ makes it imaginary.
        let direction = max(0, 1 - alphaBarPrev - sigma * sigma).squareRoot()
        var prevSample = x0
        prevSample.data.withUnsafeMutableBufferPointer { out in
            x0.data.withUnsafeBufferPointer { x0 in
                eps.data.withUnsafeBufferPointer { eps in
                    // x_{t−1} = √α_{t−1}·x̂₀ + √(1 − α_{t−1} − σ_t²)·ε_θ(x_t) + σ_t·z   (eq. 12)
                    for i in 0..<out.count {
                        out[i] = sqrtAlphaBarPrev * x0[i] + direction * eps[i]
                    }
                }
            }
            if let z {
                z.data.withUnsafeBufferPointer { z in
                    for i in 0..<out.count { out[i] += sigma * z[i] }
                }
            }
        }
        return StepResult(
            prevSample: prevSample, predictedX0: x0, sigma: sigma, alphaBar: alphaBar, alphaBarPrev: alphaBarPrev)
    }

    /// x̂₀ and ε from the model's output at ᾱ_t, per the prediction type (before clipping).
    func predictedX0AndNoise(sample x: Tensor, modelOutput m: Tensor, alphaBar: Float) -> (Tensor, Tensor) {
        let sqrtA = alphaBar.squareRoot()
        let sqrtB = (1 - alphaBar).squareRoot()
        var x0 = x
        var eps = x
        x0.data.withUnsafeMutableBufferPointer { x0 in
            eps.data.withUnsafeMutableBufferPointer { eps in
                x.data.withUnsafeBufferPointer { x in
                    m.data.withUnsafeBufferPointer { m in
                        switch config.predictionType {
                        case .epsilon:
                            for i in 0..<x.count {
                                // x̂₀ = (x_t − √(1 − α_t)·ε_θ(x_t)) / √α_t   (eq. 9)
                                x0[i] = (x[i] - sqrtB * m[i]) / sqrtA
                                eps[i] = m[i]
                            }
                        case .sample:
                            for i in 0..<x.count {
                                x0[i] = m[i]
                                // ε = (x_t − √α_t·x̂₀) / √(1 − α_t)
                                eps[i] = (x[i] - sqrtA * m[i]) / sqrtB
                            }
                        case .vPrediction:
                            for i in 0..<x.count {
                                // x̂₀ = √α_t·x_t − √(1 − α_t)·v,  ε = √α_t·v + √(1 − α_t)·x_t
                                x0[i] = sqrtA * x[i] - sqrtB * m[i]
                                eps[i] = sqrtA * m[i] + sqrtB * x[i]
                            }
                        }
                    }
                }
            }
        }
        return (x0, eps)
    }

    /// x̂₀ thresholded (if `thresholding`) or clamped to ±`clip_sample_range` (if `clip_sample`).
    func clipOrThreshold(_ x0: Tensor) -> Tensor {
        if config.thresholding {
            return Self.dynamicThreshold(
                x0, ratio: config.dynamicThresholdingRatio, maxValue: config.sampleMaxValue)
        }
        guard config.clipSample else { return x0 }
        let r = config.clipSampleRange
        var clipped = x0
        clipped.data.withUnsafeMutableBufferPointer { v in
            for i in 0..<v.count { v[i] = min(max(v[i], -r), r) }
        }
        return clipped
    }

    /// ε implied by x_t and x̂₀: (x_t − √ᾱ_t·x̂₀) / √(1 − ᾱ_t).
    static func epsilon(sample x: Tensor, predictedX0 x0: Tensor, alphaBar: Float) -> Tensor {
        let sqrtA = alphaBar.squareRoot()
        let sqrtB = (1 - alphaBar).squareRoot()
        var eps = x
        eps.data.withUnsafeMutableBufferPointer { eps in
            x0.data.withUnsafeBufferPointer { x0 in
                for i in 0..<eps.count { eps[i] = (eps[i] - sqrtA * x0[i]) / sqrtB }
            }
        }
        return eps
    }
}
