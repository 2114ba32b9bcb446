import Foundation
import Sampling
import Tensors

/// What `ddim invert` produces for a batch of images.
public struct InversionResult: Sendable {
    /// The input x₀ (B, C, H, W) in [−1, 1].
    public var original: Tensor
    /// x_T reached by running the deterministic update forward in t.
    public var latent: Tensor
    /// x₀ sampled back from x_T with the same plan (η = 0).
    public var reconstruction: Tensor
    /// Per-image MSE between original and reconstruction (images in [−1, 1]).
    public var mse: [Double]
    /// The timesteps of the plan (descending, as sampling visits them).
    public var timesteps: [Int]

    /// A result from its parts (e.g. batches put back together).
    public init(original: Tensor, latent: Tensor, reconstruction: Tensor, mse: [Double], timesteps: [Int]) {
        (self.original, self.latent, self.reconstruction, self.mse, self.timesteps) = (original, latent, reconstruction, mse, timesteps)
    }
}

extension LoadedModel {
    /// The DDIM update without x̂₀ clipping or thresholding: the paper's ODE, which inversion runs
    /// both ways (a clipped step is not invertible).
    var unclippedDDIM: DDIMScheduler {
        var config = scheduler
        config.clipSample = false
        config.thresholding = false
        return DDIMScheduler(schedule: schedule, config: config)
    }

    /// Encodes x₀ into x_T with the S-step plan run upwards (``Inverter``), then samples x_T back
    /// with the same plan at η = 0 and measures the reconstruction error (paper §5.4, Table 2).
    /// Both directions run the unclipped ODE (``unclippedDDIM``); `ddim sample --latent --no-clip`
    /// therefore reproduces the reconstruction from a saved x_T.
    /// `progress(phase, index, count)` reports each step (phase 0: encoding, 1: decoding).
    public func invert(
        _ x0: Tensor, steps: Int, spacing: TimestepSpacing? = nil,
        progress: (_ phase: Int, _ index: Int, _ count: Int) throws -> Void = { _, _, _ in }
    ) throws -> InversionResult {
        try unet.checkInput(shape: x0.shape)
        let plan = try ddim.timesteps(steps: steps, spacing: spacing)
        let encoded = try Inverter(model: denoiser, scheduler: unclippedDDIM).encode(x0, timesteps: plan) { p in
            try progress(0, p.index, p.count)
            return true
        }
        var sampler = try Sampler(model: denoiser, scheduler: unclippedDDIM, initialSample: encoded.sample, timesteps: plan,
                                  noise: .deterministic, source: TorchRandom(seed: 0))
        let decoded = try sampler.run { p in
            try progress(1, p.index, p.count)
            return .continue
        }
        return InversionResult(original: x0, latent: encoded.sample, reconstruction: decoded.sample,
                               mse: meanSquaredErrors(x0, decoded.sample), timesteps: plan)
    }
}
