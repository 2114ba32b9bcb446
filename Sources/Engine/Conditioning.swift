import Sampling
import Tensors
import UNet

/// The model as the sampler calls it: the UNet with the class label in force (one per sample,
/// the same for all), classifier-free guidance for a model trained with a null class, and, for a
/// model that predicts a variance beside ε, only ε.
public struct Denoiser: DenoisingModel, Sendable {
    /// The network.
    public let unet: UNet2DModel
    /// The class every sample is drawn as (nil: an unconditional model, or a guided model's null
    /// class: unconditional samples).
    public let classLabel: Int?
    /// The guidance weight w of a model with a null class (``UNetConfig/nullClass``); 1 is the
    /// class's own ε, 0 the unconditional ε.
    public let guidance: Float

    /// The denoiser of `unet` for `classLabel`, guided by `guidance` when the model has a null class.
    public init(unet: UNet2DModel, classLabel: Int?, guidance: Float = 1) {
        (self.unet, self.classLabel, self.guidance) = (unet, classLabel, guidance)
    }

    /// ε_θ(x_t, t, y) (or x̂₀ / v): the network's output; with a learned variance
    /// (out_channels = 2C) its first C channels, as DDIM uses no variance of the model's.
    ///
    /// With a null class ∅ and a class c, classifier-free guidance (Ho & Salimans 2022, with
    /// their 1 + w written w):
    ///     ε̃ = ε_θ(x_t, ∅) + w·(ε_θ(x_t, c) − ε_θ(x_t, ∅)),
    /// the two evaluated as one batch of 2B (the conditional half first). w = 1 is ε_θ(x_t, c)
    /// alone and w = 0 is ε_θ(x_t, ∅) alone: one batch of B each.
    public func output(_ x: Tensor, timestep: Int) throws -> Tensor {
        let batch = x.shape[0]
        let null = unet.config.nullClass
        guard let c = classLabel, let null, guidance != 1 else {
            // the class, or for a guided model without one its null class: plain ε_θ(x_t, y)
            return try single(x, timestep: timestep, label: classLabel ?? null)
        }
        if guidance == 0 { return try single(x, timestep: timestep, label: null) }
        let both = try unet(Tensor.concatenate([x, x]), timesteps: [Float](repeating: Float(timestep), count: 2 * batch),
                            classLabels: [Int](repeating: c, count: batch) + [Int](repeating: null, count: batch))
        let channels = x.shape[1]
        let epsilon = unet.config.predictsVariance ? Self.firstChannels(both, channels) : both
        let half = epsilon.count / 2
        var out = Tensor(shape: x.shape)
        let w = guidance
        epsilon.data.withUnsafeBufferPointer { e in
            out.data.withUnsafeMutableBufferPointer { o in
                for i in 0..<half {
                    // ε̃ = ε_∅ + w·(ε_c − ε_∅)
                    o[i] = e[half + i] + w * (e[i] - e[half + i])
                }
            }
        }
        return out
    }

    /// ε_θ(x_t, t, label) for every sample (its first C channels with a learned variance).
    private func single(_ x: Tensor, timestep: Int, label: Int?) throws -> Tensor {
        let batch = x.shape[0]
        let y = try unet(x, timesteps: [Float](repeating: Float(timestep), count: batch),
                         classLabels: label.map { [Int](repeating: $0, count: batch) })
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
    /// The model as the samplers call it, with ``classLabel`` and ``guidance``.
    public var denoiser: Denoiser { Denoiser(unet: unet, classLabel: classLabel, guidance: guidance) }

    /// The model's class labels (nil: unconditional), its null class included.
    public var classCount: Int? { unet.config.classCount }

    /// The label a guided model was trained with in place of the class (nil: not trained for
    /// classifier-free guidance).
    public var nullClass: Int? { unet.config.nullClass }

    /// The classes one can ask for: every label but the null class.
    public var drawableClasses: [Int] { (0..<(classCount ?? 0)).filter { $0 != nullClass } }

    /// Whether a step runs classifier-free guidance: a null class, a class and w other than 0 and
    /// 1, so one forward of 2B (``Denoiser/output(_:timestep:)``).
    public var stepsGuided: Bool { nullClass != nil && classLabel != nil && guidance != 0 && guidance != 1 }

    /// The guidance weights taken: 0 (unconditional) to 30.
    public static let guidanceRange: ClosedRange<Float> = 0...30

    /// Refuses, before any sampling, a class label or guidance the model cannot take: no label for
    /// a class-conditional model without a null class, a label for an unconditional model, a label
    /// outside its classes or its null class, a guidance weight other than 1 for a model without a
    /// null class or without a class to guide towards. Each says what to give. `live`: a guided
    /// model may have a weight without a class (the live sampler, where `l` picks one later).
    public func checkClassLabel(live: Bool = false) throws {
        guard Self.guidanceRange.contains(guidance) else {
            throw ModelError(file: folder.path, "--guidance \(Self.label(guidance: guidance)) is outside \(Self.guidanceRange.lowerBound)…\(Self.guidanceRange.upperBound)")
        }
        guard let count = classCount else {
            if let classLabel {
                throw ModelError(file: folder.path, "--class-label \(classLabel): this model is not class-conditional (its config has no num_class_embeds)")
            }
            if guidance != 1 { throw ModelError(file: folder.path, "--guidance \(Self.label(guidance: guidance)): this model is not class-conditional, so there is nothing to guide towards") }
            return
        }
        let classes = nullClass == nil ? "0…\(count - 1)" : Self.ranges(drawableClasses)
        if guidance != 1, nullClass == nil {
            throw ModelError(file: folder.path, "--guidance \(Self.label(guidance: guidance)): this model has no null class (config.json _ddim_null_class), so it has no unconditional ε to guide from; it draws --class-label \(classes) as trained")
        }
        guard let classLabel else {
            if nullClass != nil {
                if guidance != 1, !live { throw ModelError(file: folder.path, "--guidance \(Self.label(guidance: guidance)) needs --class-label \(classes): without a class the samples are unconditional") }
                return
            }
            throw ModelError(file: folder.path, "this model is class-conditional (\(count) classes): give --class-label \(classes)")
        }
        if let nullClass, classLabel == nullClass {
            throw ModelError(file: folder.path, "--class-label \(classLabel) is the model's null class (unconditional): leave --class-label out for unconditional samples, or give \(classes)")
        }
        guard (0..<count).contains(classLabel) else {
            throw ModelError(file: folder.path, "--class-label \(classLabel) is not one of the model's \(drawableClasses.count) classes (\(classes))")
        }
    }

    /// "0…9", or "0…4, 6…10" around a null class in the middle.
    static func ranges(_ labels: [Int]) -> String {
        var parts: [String] = []
        var start: Int?, last = -2
        for l in labels + [Int.max] {
            if l != last + 1 {
                if let s = start { parts.append(s == last ? "\(s)" : "\(s)…\(last)") }
                start = l
            }
            last = l
        }
        return parts.joined(separator: ", ")
    }
}
