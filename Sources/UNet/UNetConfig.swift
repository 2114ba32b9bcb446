import Files
import Foundation

/// The `config.json` of a diffusers `UNet2DModel`, with diffusers' defaults for absent keys.
///
/// Supported: positional time embedding, SiLU, DownBlock2D / AttnDownBlock2D /
/// UpBlock2D / AttnUpBlock2D, UNetMidBlock2D (with or without attention) or none,
/// conv down/upsampling, "default" and "scale_shift" time conditioning, no class embedding.
/// Anything else is refused by `validate` with the field's name and the supported values.
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
    /// "conv" only.
    public var downsampleType = "conv"
    /// "conv" only.
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
    /// Must be nil (class-conditional models are not supported).
    public var classEmbedType: String?
    /// Must be nil (class-conditional models are not supported).
    public var numClassEmbeds: Int?

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
        for t in downBlockTypes where !["DownBlock2D", "AttnDownBlock2D"].contains(t) {
            throw fail("down_block_types", t, "DownBlock2D, AttnDownBlock2D")
        }
        for t in upBlockTypes where !["UpBlock2D", "AttnUpBlock2D"].contains(t) {
            throw fail("up_block_types", t, "UpBlock2D, AttnUpBlock2D")
        }
        if let m = midBlockType, m != "UNetMidBlock2D" { throw fail("mid_block_type", m, "UNetMidBlock2D, null") }
        guard inChannels > 0 else { throw fail("in_channels", inChannels, "a positive count") }
        guard outChannels > 0 else { throw fail("out_channels", outChannels, "a positive count") }
        guard layersPerBlock >= 1 else { throw fail("layers_per_block", layersPerBlock, "1 or more") }
        guard timeEmbeddingType == "positional" else { throw fail("time_embedding_type", timeEmbeddingType, "positional") }
        guard actFn == "silu" || actFn == "swish" else { throw fail("act_fn", actFn, "silu") }
        guard downsampleType == "conv" else { throw fail("downsample_type", downsampleType, "conv") }
        guard upsampleType == "conv" else { throw fail("upsample_type", upsampleType, "conv") }
        guard [0, 1].contains(downsamplePadding) else { throw fail("downsample_padding", downsamplePadding, "0, 1") }
        guard ["default", "scale_shift"].contains(resnetTimeScaleShift) else {
            throw fail("resnet_time_scale_shift", resnetTimeScaleShift, "default, scale_shift")
        }
        guard classEmbedType == nil else { throw fail("class_embed_type", classEmbedType ?? "", "null") }
        guard numClassEmbeds == nil else { throw fail("num_class_embeds", numClassEmbeds ?? 0, "null") }
        guard normNumGroups > 0 else { throw fail("norm_num_groups", normNumGroups, "a positive count") }
        for c in blockOutChannels where c % normNumGroups != 0 {
            throw ModelError(file: file, "norm_num_groups = \(normNumGroups) does not divide block_out_channels entry \(c)")
        }
        if let g = attnNormNumGroups, g <= 0 || blockOutChannels[levels - 1] % g != 0 {
            throw ModelError(file: file, "attn_norm_num_groups = \(g) does not divide \(blockOutChannels[levels - 1]) channels")
        }
        if let a = attentionHeadDim {
            guard a > 0 else { throw fail("attention_head_dim", a, "a positive head size or null") }
            for c in blockOutChannels where c / a < 1 {
                throw ModelError(file: file, "attention_head_dim = \(a) is larger than a level's \(c) channels")
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

    /// "swish" is diffusers' other name for SiLU.
    private mutating func normalise() { if actFn == "swish" { actFn = "silu" } }

    /// Width of the time embedding: time_embedding_dim or 4 × block_out_channels[0].
    var timeEmbedWidth: Int { timeEmbeddingDim ?? blockOutChannels[0] * 4 }

    /// How many times the blocks halve the resolution.
    var downsamplings: Int { blockOutChannels.count - 1 }
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
