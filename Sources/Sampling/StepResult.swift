import Tensors

/// The outcome of one DDIM update (``DDIMScheduler/step(sample:modelOutput:timestep:prev:noise:varianceNoise:useClippedModelOutput:)``).
public struct StepResult: Sendable {
    /// x_prev, the sample at the next timestep of the plan (x₀ after the last step).
    public var prevSample: Tensor
    /// x̂₀ after clipping or thresholding (diffusers' `pred_original_sample`).
    public var predictedX0: Tensor
    /// σ_t of this step.
    public var sigma: Float
    /// ᾱ_t.
    public var alphaBar: Float
    /// ᾱ_prev (``NoiseSchedule/finalAlphaBar`` after the last step).
    public var alphaBarPrev: Float
}
