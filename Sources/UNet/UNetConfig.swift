import Files
import Foundation

/// The `config.json` of a diffusers `UNet2DModel`, with diffusers' defaults for absent keys.
///
/// Supported: positional time embedding, SiLU, DownBlock2D / AttnDownBlock2D /
/// ResnetDownsampleBlock2D, UpBlock2D / AttnUpBlock2D / ResnetUpsampleBlock2D, UNetMidBlock2D
/// (with or without attention) or none, conv or resnet down/upsampling, "default" and
/// "scale_shift" time conditioning, class conditioning by an embedding table
/// (`num_class_embeds`) or by the label's sinusoid (`class_embed_type` "timestep"), any
/// `out_channels` (learned variance: 2 × in_channels, of which DDIM takes ε). Anything else is
/// refused by `validate` with the field's name, the supported values and, where it helps, why.
public struct UNetConfig: Sendable, Equatable {
    /// [height, width] of the samples the model was trained on (`sample_size`: one integer for
    /// square samples, or [height, width] as diffusers allows); what `ddim` samples.
    public var sampleSize: [Int]?
    /// Channels of x (1 for digits, 3 for RGB).
    public var inChannels = 3
    /// Channels of the output (ε, x₀ or v).
    public var outChannels = 3
    /// If true the model maps its input x ∈ [0, 1] to 2x − 1 first.
    public var centerInputSample = false
    /// "positional" only.
    public var timeEmbeddingType = "positional"
    /// Width of the time embedding MLP (default 4 × block_out_channels[0]).
    public var timeEmbeddingDim: Int?
    /// Shift s in the frequencies exp(−ln(10⁴)·i / (half − s)).
    public var freqShift = 0
    /// Order of the sinusoidal embedding: [cos, sin] when true, [sin, cos] when false.
    public var flipSinToCos = true
    /// One per resolution level, e.g. ["DownBlock2D", "AttnDownBlock2D"].
    public var downBlockTypes = ["DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"]
    /// "UNetMidBlock2D" or nil.
    public var midBlockType: String? = "UNetMidBlock2D"
    /// One per resolution level, deepest first.
    public var upBlockTypes = ["AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"]
    /// Channels per level.
    public var blockOutChannels = [224, 448, 672, 896]
    /// Resnets per down block (up blocks have one more).
    public var layersPerBlock = 2
    /// Output scale of the mid block.
    public var midBlockScaleFactor: Float = 1
    /// 0: pad (0, 1, 0, 1) then a stride-2 conv; 1: pad 1 on every side.
    public var downsamplePadding = 1
    /// How AttnDownBlock2D halves the resolution: "conv" (a stride-2 conv) or "resnet" (a
    /// ResnetBlock2D with 2×2 average pooling). DownBlock2D always uses a conv,
    /// ResnetDownsampleBlock2D always a resnet.
    public var downsampleType = "conv"
    /// How AttnUpBlock2D doubles it: "conv" (nearest ×2, then a conv) or "resnet" (a ResnetBlock2D
    /// with nearest ×2 inside). UpBlock2D always uses a conv, ResnetUpsampleBlock2D a resnet.
    public var upsampleType = "conv"
    /// "silu" only.
    public var actFn = "silu"
    /// Channels per attention head; nil means one head over all channels.
    public var attentionHeadDim: Int? = 8
    /// Groups of every GroupNorm.
    public var normNumGroups = 32
    /// Groups of the mid-block attention's GroupNorm (nil: as diffusers decides).
    public var attnNormNumGroups: Int?
    /// ε of every GroupNorm.
    public var normEps: Float = 1e-5
    /// "default" (h + emb) or "scale_shift" (h·(1 + scale) + shift).
    public var resnetTimeScaleShift = "default"
    /// Whether the mid block has attention.
    public var addAttention = true
    /// nil (a table of `num_class_embeds` rows, when that is set) or "timestep" (the label's
    /// sinusoid through its own two-layer MLP).
    public var classEmbedType: String?
    /// Rows of the class embedding table: the labels are 0 ..< num_class_embeds.
    public var numClassEmbeds: Int?
    /// The label a model trained for classifier-free guidance was shown in place of the class
    /// (the label dropped): `_ddim_null_class`, this project's key in config.json (diffusers
    /// skips keys beginning with "_"). nil: the model has no unconditional ε.
    public var nullClass: Int?

    /// diffusers' defaults.
    public init() {}

    /// The largest config.json read (1 MiB; real ones are about 1 KB), so that Foundation's
    /// JSON parser, which spent 40–70 bytes per byte of text on big safetensors headers, stays
    /// under 100 MB.
    public static let fileLimit = ReadLimit(bytes: 1 << 20, what: "a config.json")

    /// Decodes `config.json` at `url` (a regular file of at most ``fileLimit``); errors name
    /// the file and the field.
    public static func load(from url: URL) throws -> UNetConfig {
        let bytes = try InputFile.contents(of: url.path, limit: fileLimit)
        return try decode(Data(bytes), file: url.path)
    }

    /// Decodes and validates config.json text; `file` names it in errors.
    public static func decode(_ data: Data, file: String) throws -> UNetConfig {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw ModelError(file: file, "not valid JSON")
        }
        guard let dict = object as? [String: Any] else { throw ModelError(file: file, "not a JSON object") }
        var config = try UNetConfig(dictionary: dict, file: file)
        try config.validate(file: file)
        config.normalise()
        return config
    }

    /// Reads the known keys of a parsed config; type errors name the field.
    public init(dictionary d: [String: Any], file: String) throws {
        let r = FieldReader(dict: d, file: file)
        if let cls = d["_class_name"] as? String, cls != "UNet2DModel" {
            throw ModelError(file: file, "_class_name is \(cls); only UNet2DModel is supported")
        }
        // an integer (square samples) or [height, width], as diffusers' UNet2DModel takes it
        if d["sample_size"] is [Any] {
            let size: [Int]? = try r.optional("sample_size")
            guard let size, size.count == 2 else {
                throw ModelError(file: file, "sample_size = \(size ?? []) is not supported (an integer or [height, width])")
            }
            sampleSize = size
        } else if let n: Int = try r.optional("sample_size") {
            sampleSize = [n, n]
        }
        inChannels = try r.value("in_channels", default: inChannels)
        outChannels = try r.value("out_channels", default: outChannels)
        centerInputSample = try r.value("center_input_sample", default: centerInputSample)
        timeEmbeddingType = try r.value("time_embedding_type", default: timeEmbeddingType)
        timeEmbeddingDim = try r.optional("time_embedding_dim")
        freqShift = try r.value("freq_shift", default: freqShift)
        flipSinToCos = try r.value("flip_sin_to_cos", default: flipSinToCos)
        downBlockTypes = try r.value("down_block_types", default: downBlockTypes)
        midBlockType = d.keys.contains("mid_block_type") ? try r.optional("mid_block_type") : midBlockType
        upBlockTypes = try r.value("up_block_types", default: upBlockTypes)
        blockOutChannels = try r.value("block_out_channels", default: blockOutChannels)
        layersPerBlock = try r.value("layers_per_block", default: layersPerBlock)
        midBlockScaleFactor = try r.value("mid_block_scale_factor", default: midBlockScaleFactor)
        downsamplePadding = try r.value("downsample_padding", default: downsamplePadding)
        downsampleType = try r.value("downsample_type", default: downsampleType)
        upsampleType = try r.value("upsample_type", default: upsampleType)
        actFn = try r.value("act_fn", default: actFn)
        attentionHeadDim = d.keys.contains("attention_head_dim") ? try r.optional("attention_head_dim") : attentionHeadDim
        normNumGroups = try r.value("norm_num_groups", default: normNumGroups)
        attnNormNumGroups = try r.optional("attn_norm_num_groups")
        normEps = try r.value("norm_eps", default: normEps)
        resnetTimeScaleShift = try r.value("resnet_time_scale_shift", default: resnetTimeScaleShift)
        addAttention = try r.value("add_attention", default: addAttention)
        classEmbedType = try r.optional("class_embed_type")
        numClassEmbeds = try r.optional("num_class_embeds")
        nullClass = try r.optional("_ddim_null_class")
    }

    /// Refuses what this engine does not implement, naming the field and the supported values.
    public func validate(file: String) throws {
        func fail(_ field: String, _ value: Any, _ supported: String) -> ModelError {
            ModelError(file: file, "\(field) = \(value) is not supported (supported: \(supported))")
        }
        let levels = blockOutChannels.count
        guard levels >= 1, blockOutChannels.allSatisfy({ $0 > 0 }) else {
            throw fail("block_out_channels", blockOutChannels, "one or more positive channel counts")
        }
        guard downBlockTypes.count == levels else {
            throw ModelError(file: file, "down_block_types has \(downBlockTypes.count) entries but block_out_channels has \(levels)")
        }
        guard upBlockTypes.count == levels else {
            throw ModelError(file: file, "up_block_types has \(upBlockTypes.count) entries but block_out_channels has \(levels)")
        }
        for t in downBlockTypes where !["DownBlock2D", "AttnDownBlock2D", "ResnetDownsampleBlock2D"].contains(t) {
            throw fail("down_block_types", t, "DownBlock2D, AttnDownBlock2D, ResnetDownsampleBlock2D")
        }
        for t in upBlockTypes where !["UpBlock2D", "AttnUpBlock2D", "ResnetUpsampleBlock2D"].contains(t) {
            throw fail("up_block_types", t, "UpBlock2D, AttnUpBlock2D, ResnetUpsampleBlock2D")
        }
        if let m = midBlockType, m != "UNetMidBlock2D" { throw fail("mid_block_type", m, "UNetMidBlock2D, null") }
        guard inChannels > 0 else { throw fail("in_channels", inChannels, "a positive count") }
        guard outChannels > 0 else { throw fail("out_channels", outChannels, "a positive count") }
        guard layersPerBlock >= 1 else { throw fail("layers_per_block", layersPerBlock, "1 or more") }
        guard timeEmbeddingType == "positional" else {
            if timeEmbeddingType == "fourier" {
                throw ModelError(file: file, "time_embedding_type = fourier is not supported: it is the Gaussian-Fourier embedding of score-SDE (NCSN++) models, which take σ rather than a DDPM timestep and are sampled by an SDE solver, not DDIM (supported: positional)")
            }
            throw fail("time_embedding_type", timeEmbeddingType, "positional")
        }
        guard actFn == "silu" || actFn == "swish" else { throw fail("act_fn", actFn, "silu") }
        guard ["conv", "resnet"].contains(downsampleType) else { throw fail("downsample_type", downsampleType, "conv, resnet") }
        guard ["conv", "resnet"].contains(upsampleType) else { throw fail("upsample_type", upsampleType, "conv, resnet") }
        guard [0, 1].contains(downsamplePadding) else { throw fail("downsample_padding", downsamplePadding, "0, 1") }
        guard ["default", "scale_shift"].contains(resnetTimeScaleShift) else {
            throw fail("resnet_time_scale_shift", resnetTimeScaleShift, "default, scale_shift")
        }
        if let t = classEmbedType, t != "timestep" {
            let why = t == "identity" ? ": it takes a class vector of the time embedding's width, not a label, and no public UNet2DModel checkpoint uses it"
                : t == "projection" || t == "simple_projection" ? ": it projects a class vector, not a label (Stable Diffusion's upscalers)" : ""
            throw ModelError(file: file, "class_embed_type = \(t) is not supported\(why) (supported: null with num_class_embeds, timestep)")
        }
        if let n = numClassEmbeds, !(1...Self.maxClasses).contains(n) {
            throw fail("num_class_embeds", n, "1…\(Self.maxClasses) classes")
        }
        if let null = nullClass {
            guard let count = classCount, count >= 2, (0..<count).contains(null) else {
                throw ModelError(file: file, "_ddim_null_class = \(null) is not one of the model's class labels (it needs num_class_embeds ≥ 2 and a label 0…num_class_embeds − 1)")
            }
        }
        guard normNumGroups > 0 else { throw fail("norm_num_groups", normNumGroups, "a positive count") }
        for c in blockOutChannels where c % normNumGroups != 0 {
            throw ModelError(file: file, "norm_num_groups = \(normNumGroups) does not divide block_out_channels entry \(c)")
        }
        if let g = attnNormNumGroups, g <= 0 || blockOutChannels[levels - 1] % g != 0 {
            throw ModelError(file: file, "attn_norm_num_groups = \(g) does not divide \(blockOutChannels[levels - 1]) channels")
        }
        if let a = attentionHeadDim {
            guard a > 0 else { throw fail("attention_head_dim", a, "a positive head size or null") }
            // only the levels with attention (and the mid block's) split their channels into heads
            let attended = blockOutChannels.indices.filter { downBlockTypes[$0] == "AttnDownBlock2D" || upBlockTypes[levels - 1 - $0] == "AttnUpBlock2D" }
            for c in attended.map({ blockOutChannels[$0] }) + (midBlockType != nil && addAttention ? [blockOutChannels[levels - 1]] : []) where c / a < 1 {
                throw ModelError(file: file, "attention_head_dim = \(a) is larger than an attention level's \(c) channels")
            }
        }
        guard normEps > 0, normEps.isFinite else { throw fail("norm_eps", normEps, "a positive number") }
        // Absurd sizes are refused here, before any weight is read or buffer allocated.
        guard levels <= Self.maxLevels else { throw fail("block_out_channels", "\(levels) levels", "at most \(Self.maxLevels)") }
        if let c = blockOutChannels.first(where: { $0 > Self.maxChannels }) {
            throw fail("block_out_channels", c, "at most \(Self.maxChannels) channels per level")
        }
        guard inChannels <= 64 else { throw fail("in_channels", inChannels, "at most 64") }
        guard outChannels <= 64 else { throw fail("out_channels", outChannels, "at most 64") }
        guard layersPerBlock <= 16 else { throw fail("layers_per_block", layersPerBlock, "at most 16") }
        if let size = sampleSize, size.contains(where: { $0 < 1 || $0 > Self.maxSampleSize }) {
            throw fail("sample_size", size, "1…\(Self.maxSampleSize) pixels")
        }
        guard blockOutChannels[0] >= 2 else { throw fail("block_out_channels[0]", blockOutChannels[0], "2 or more") }
        // γ(t)'s frequencies exp(−ln(10⁴)·i / (half − s)), half = block_out_channels[0] / 2: at
        // s ≥ half they divide by zero or grow without bound, and every timestep embeds as NaN/∞
        let half = blockOutChannels[0] / 2
        guard freqShift < half else {
            throw fail("freq_shift", freqShift, "less than block_out_channels[0] / 2 = \(half), the divisor of the timestep frequencies")
        }
        if let t = timeEmbeddingDim, t <= 0 || t > 65_536 { throw fail("time_embedding_dim", t, "a positive width up to 65536") }
    }

    /// Caps on a config's sizes: far above any real UNet2DModel (google/ddpm-* use ≤ 6 levels of
    /// ≤ 512 channels), far below what would exhaust memory before a weight is read.
    static let maxLevels = 8, maxChannels = 8192, maxSampleSize = 4096
    /// The most classes a class embedding may have (ImageNet-22k has 21,841).
    static let maxClasses = 100_000

    /// "swish" is diffusers' other name for SiLU.
    private mutating func normalise() { if actFn == "swish" { actFn = "silu" } }

    /// Width of the time embedding: time_embedding_dim or 4 × block_out_channels[0].
    var timeEmbedWidth: Int { timeEmbeddingDim ?? blockOutChannels[0] * 4 }

    /// How many times the blocks halve the resolution.
    var downsamplings: Int { blockOutChannels.count - 1 }

    /// How a block changes the resolution.
    public enum Resampling: String, Sendable {
        /// A (strided or upsampled) 3×3 convolution: `downsamplers.0.conv` / `upsamplers.0.conv`.
        case conv
        /// A ResnetBlock2D with 2×2 average pooling or nearest ×2 inside: `downsamplers.0` /
        /// `upsamplers.0` are resnets.
        case resnet
    }

    /// How down block `i` halves the resolution (nil: the deepest level does not), as diffusers'
    /// `get_down_block` builds it: DownBlock2D a conv, ResnetDownsampleBlock2D a resnet,
    /// AttnDownBlock2D as `downsample_type` says.
    public func downsampling(level i: Int) -> Resampling? {
        guard i < blockOutChannels.count - 1 else { return nil }
        switch downBlockTypes[i] {
        case "ResnetDownsampleBlock2D": return .resnet
        case "AttnDownBlock2D": return Resampling(rawValue: downsampleType) ?? .conv
        default: return .conv
        }
    }

    /// How up block `i` (deepest first) doubles the resolution (nil: the last does not).
    public func upsampling(level i: Int) -> Resampling? {
        guard i < blockOutChannels.count - 1 else { return nil }
        switch upBlockTypes[i] {
        case "ResnetUpsampleBlock2D": return .resnet
        case "AttnUpBlock2D": return Resampling(rawValue: upsampleType) ?? .conv
        default: return .conv
        }
    }

    /// How the model is told a class.
    public enum ClassConditioning: Equatable, Sendable {
        /// `class_embedding.weight`, one row of the time embedding's width per class.
        case table(classes: Int)
        /// `class_embedding.linear_1/2`: the label's sinusoid (as a timestep's) through an MLP.
        case timestep
    }

    /// How the model takes a class label; nil: unconditional.
    public var classConditioning: ClassConditioning? {
        if classEmbedType == "timestep" { return .timestep }
        return numClassEmbeds.map { .table(classes: $0) }
    }

    /// The labels a class-conditional model takes: 0 ..< num_class_embeds for a table; for the
    /// sinusoid, 0 ..< num_class_embeds when set, else any label up to ``maxClasses``.
    public var classCount: Int? {
        switch classConditioning {
        case .table(let n): n
        case .timestep: numClassEmbeds ?? Self.maxClasses
        case nil: nil
        }
    }

    /// Whether the model predicts a variance beside ε (`out_channels` = 2 × `in_channels`, as
    /// improved-DDPM models with `variance_type` learned or learned_range do): DDIM takes the
    /// first `in_channels` channels, ε, and leaves the variance.
    public var predictsVariance: Bool { outChannels == 2 * inChannels }
}

/// Reads typed values from a JSON dictionary; a wrong type is an error naming the key.
struct FieldReader {
    let dict: [String: Any]
    let file: String

    func value<T>(_ key: String, default value: T) throws -> T {
        try optional(key) ?? value
    }

    func optional<T>(_ key: String) throws -> T? {
        guard let raw = dict[key], !(raw is NSNull) else { return nil }
        if let v = convert(raw, to: T.self) { return v }
        throw ModelError(file: file, "field \(key) has the wrong type (\(String(describing: raw).prefix(60)); expected \(T.self))")
    }

    private func convert<T>(_ raw: Any, to: T.Type) -> T? {
        switch T.self {
        case is Int.Type:
            guard let n = raw as? NSNumber, !isJSONBool(n), n.doubleValue == n.doubleValue.rounded(),
                n.doubleValue.magnitude < 1e12
            else { return nil }
            return n.intValue as? T
        case is Float.Type:
            guard let n = raw as? NSNumber, !isJSONBool(n) else { return nil }
            return n.floatValue as? T
        case is [Int].Type:
            guard let a = raw as? [Any] else { return nil }
            let ints = a.compactMap { convert($0, to: Int.self) }
            return ints.count == a.count ? ints as? T : nil
        case is Bool.Type:
            guard let n = raw as? NSNumber, isJSONBool(n) else { return nil }
            return n.boolValue as? T
        default:
            return raw as? T
        }
    }
}

/// Whether an NSNumber from JSONSerialization is a JSON boolean (`is Bool` also matches 0 and 1).
func isJSONBool(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }
