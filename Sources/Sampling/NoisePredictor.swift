import Tensors

/// A denoising model ε_θ(x_t, t): what ``Sampler`` and ``Inverter`` call once per step.
///
/// "Noise" means the model's raw output, read per ``SchedulerConfig/predictionType`` (ε, x₀ or v).
public protocol NoisePredictor {
    /// The model's output for a batch `x` (`[batch, channels, height, width]`) at training
    /// timestep `timestep`; it must have `x`'s shape.
    func predictNoise(_ x: Tensor, timestep: Int) throws -> Tensor
}
