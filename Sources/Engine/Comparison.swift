import Foundation
import Sampling
import Tensors

/// One column of a comparison: a step count S and a noise level η, from the shared x_T.
public struct ComparisonColumn: Sendable, Equatable {
    /// DDIM steps S.
    public var steps: Int
    /// σ's rule.
    public var noise: NoiseLevel

    /// A column.
    public init(steps: Int, noise: NoiseLevel) { (self.steps, self.noise) = (steps, noise) }

    /// "S=20 η=0".
    public var label: String { "S=\(steps) η=\(noise.label)" }
}

/// Mean squared error between two tensors of the same shape, per sample (images in [−1, 1], as the
/// paper's Table 2 reports it): (1/n)·Σ(a − b)², accumulated in double.
public func meanSquaredErrors(_ a: Tensor, _ b: Tensor) -> [Double] {
    precondition(a.shape == b.shape && a.rank >= 1, "MSE: shapes \(a.shape) and \(b.shape)")
    let batch = a.shape[0], n = a.count / max(batch, 1)
    return (0..<batch).map { s in
        var sum = 0.0
        for i in (s * n)..<((s + 1) * n) {
            let d = Double(a.data[i]) - Double(b.data[i])
            sum += d * d
        }
        return sum / Double(n)
    }
}

/// PSNR in dB of an MSE measured on images in [−1, 1] (peak-to-peak 2): 10·log₁₀(2²/MSE).
public func peakSignalToNoise(mse: Double) -> Double {
    mse > 0 ? 10 * log10(4 / mse) : .infinity
}

extension LoadedModel {
    /// Samples the same x_T once per column: the consistency property of DDIM (paper §5.3) made
    /// visible. x_T = randn((B, C, H, W)) after manual_seed(`seed`), as `ddim sample` draws it; each
    /// column then continues with its own copy of the generator, so column k is exactly
    /// `ddim sample --seed seed --batch B --steps S_k --eta η_k`. Returns x₀ per column.
    /// `progress(column, step)` sees every step.
    public func compare(
        seed: UInt64, batch: Int, columns: [ComparisonColumn], spacing: TimestepSpacing? = nil,
        progress: (Int, StepProgress) throws -> Void = { _, _ in }
    ) throws -> [Tensor] {
        let shape = [batch] + sampleShape()
        try unet.checkInput(shape: shape)
        var generator = TorchRandom(seed: seed)
        let xT = generator.normal(shape: shape)
        return try columns.enumerated().map { k, column in
            var sampler = try Sampler(model: denoiser, scheduler: ddim, initialSample: xT, steps: column.steps,
                                      noise: column.noise, spacing: spacing, source: generator)
            return try sampler.run { p in
                try progress(k, p)
                return .continue
            }.sample
        }
    }
}
