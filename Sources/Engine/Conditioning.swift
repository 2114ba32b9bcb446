import Sampling
import Tensors
import UNet

/// The model as the sampler calls it: the UNet with the class label in force (one per sample,
/// the same for all) and, for a model that predicts a variance beside ε, only ε.
public struct Denoiser: DenoisingModel, Sendable {
    /// The network.
    public let unet: UNet2DModel
    /// The class every sample is drawn as (nil: an unconditional model).
    public let classLabel: Int?

    /// The denoiser of `unet` for `classLabel`.
    public init(unet: UNet2DModel, classLabel: Int?) {
        (self.unet, self.classLabel) = (unet, classLabel)
    }

    /// ε_θ(x_t, t, y) (or x̂₀ / v): the network's output; with a learned variance
    /// (out_channels = 2C) its first C channels, as DDIM uses no variance of the model's.
    public func output(_ x: Tensor, timestep: Int) throws -> Tensor {
        let batch = x.shape[0]
        let y = try unet(x, timesteps: [Float](repeating: Float(timestep), count: batch),
                         classLabels: classLabel.map { [Int](repeating: $0, count: batch) })
        guard unet.config.predictsVariance else { return y }
        return Self.firstChannels(y, x.shape[1])
    }

    /// Channels 0 ..< `c` of y (B, C', H, W): (B, c, H, W).
    static func firstChannels(_ y: Tensor, _ c: Int) -> Tensor {
        let (batch, channels, plane) = (y.shape[0], y.shape[1], y.shape[2] * y.shape[3])
        var out = Tensor(shape: [batch, c, y.shape[2], y.shape[3]])
        for b in 0..<batch {
            let from = b * channels * plane, to = b * c * plane
            for i in 0..<(c * plane) { out.data[to + i] = y.data[from + i] }
        }
        return out
    }
}

extension LoadedModel {
    /// The model as the samplers call it, with ``classLabel``.
    public var denoiser: Denoiser { Denoiser(unet: unet, classLabel: classLabel) }

    /// The model's classes (nil: unconditional).
    public var classCount: Int? { unet.config.classCount }

    /// Refuses, before any sampling, a class label the model cannot take: none for a
    /// class-conditional model, one for an unconditional model, or one outside its classes.
    /// Each says what to give (`--class-label`).
    public func checkClassLabel() throws {
        guard let count = classCount else {
            if let classLabel {
                throw ModelError(file: folder.path, "--class-label \(classLabel): this model is not class-conditional (its config has no num_class_embeds)")
            }
            return
        }
        guard let classLabel else {
            throw ModelError(file: folder.path, "this model is class-conditional (\(count) classes): give --class-label 0…\(count - 1)")
        }
        guard (0..<count).contains(classLabel) else {
            throw ModelError(file: folder.path, "--class-label \(classLabel) is not one of the model's \(count) classes (0…\(count - 1))")
        }
    }
}
