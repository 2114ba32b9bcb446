import Foundation
import Sampling
import Tensors

extension LoadedModel {
    /// `frames` latents on the great circle from `a` to `b` (each (1, C, H, W)): slerp at
    /// α = i/(frames − 1), i = 0…frames − 1 (paper App. D.5), stacked as (frames, C, H, W).
    public func interpolationLatents(from a: Tensor, to b: Tensor, frames: Int) -> Tensor {
        precondition(frames >= 2, "interpolation needs at least 2 frames")
        let alphas = (0..<frames).map { Float($0) / Float(frames - 1) }
        return Tensor.concatenate(alphas.map { slerp(a, b, alpha: $0) })
    }

    /// Deterministic DDIM (η = 0) from the given x_T (B, C, H, W): x₀. With η = 0 no noise is
    /// drawn, so no seed is involved; the config's clipping applies as in `ddim sample`.
    public func decode(
        _ xT: Tensor, steps: Int, spacing: TimestepSpacing? = nil,
        progress: (StepProgress) throws -> SamplerControl = { _ in .continue }
    ) throws -> SamplerOutcome {
        try unet.checkInput(shape: xT.shape)
        var sampler = try Sampler(model: denoiser, scheduler: ddim, initialSample: xT, steps: steps, noise: .deterministic,
                                  spacing: spacing, source: TorchRandom(seed: 0))
        return try sampler.run(progress: progress)
    }
}
