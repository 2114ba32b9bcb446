import Tensors

/// A denoising model: what ``Sampler`` and ``Inverter`` call once per step. Its output is ε_θ(x_t, t)
/// for most checkpoints, but x̂₀ or v for those trained so (``SchedulerConfig/predictionType``):
/// the scheduler reads it (diffusers' `model_output`), so it is called the model's output here.
public protocol DenoisingModel {
    /// The model's output (ε, x₀ or v) for a batch `x` (`[batch, channels, height, width]`) at
    /// training timestep `timestep`; it must have `x`'s shape.
    func output(_ x: Tensor, timestep: Int) throws -> Tensor
}
