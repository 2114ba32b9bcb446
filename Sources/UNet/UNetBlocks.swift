import Tensors

/// How a block changes the resolution: a conv (`Downsample2D` / `Upsample2D`) or a resampling
/// resnet (`ResnetBlock2D(down=True)` / `(up=True)`).
enum Resampler: Sendable {
    case downConv(Downsample), upConv(Upsample), resnet(ResnetBlock)

    func callAsFunction(_ x: Tensor, _ emb: Tensor, _ run: inout RunContext) -> Tensor {
        switch self {
        case .downConv(let d): d(x, &run)
        case .upConv(let u): u(x, &run)
        case .resnet(let r): r(x, emb, &run)
        }
    }

    /// Its convolutions' cost at `pixels` output pixels (one image).
    func flops(outputPixels n: Int) -> Double {
        switch self {
        case .downConv(let d): d.conv.flops(outputPixels: n)
        case .upConv(let u): u.conv.flops(outputPixels: n)
        case .resnet(let r): r.flops(pixels: n)
        }
    }

    /// The down-block resampler of level `i` of `c`, from `p.downsamplers.0` (nil: none).
    static func down(_ w: WeightReader, _ p: String, level i: Int, channels: Int, temb: Int, config c: UNetConfig) throws -> Resampler? {
        switch c.downsampling(level: i) {
        case nil: return nil
        case .conv: return .downConv(try Downsample(w, "\(p).downsamplers.0", channels: channels, padding: c.downsamplePadding))
        case .resnet:
            return .resnet(try ResnetBlock(w, "\(p).downsamplers.0", in: channels, out: channels, temb: temb, config: c, resample: .down))
        }
    }

    /// The up-block resampler of level `i` (deepest first) of `c`, from `p.upsamplers.0`.
    static func up(_ w: WeightReader, _ p: String, level i: Int, channels: Int, temb: Int, config c: UNetConfig) throws -> Resampler? {
        switch c.upsampling(level: i) {
        case nil: return nil
        case .conv: return .upConv(try Upsample(w, "\(p).upsamplers.0", channels: channels))
        case .resnet:
            return .resnet(try ResnetBlock(w, "\(p).upsamplers.0", in: channels, out: channels, temb: temb, config: c, resample: .up))
        }
    }
}

/// `DownBlock2D` / `AttnDownBlock2D` / `ResnetDownsampleBlock2D`: resnets (each followed by
/// attention in the Attn variant), then an optional halving (``Resampler``). Every
/// intermediate output is kept for the skips.
struct DownBlock: Sendable {
    let resnets: [ResnetBlock]
    let attentions: [AttentionBlock]
    let downsample: Resampler?

    init(_ w: WeightReader, index i: Int, in cin: Int, out: Int, temb: Int, attention: Bool, config c: UNetConfig) throws {
        let p = "down_blocks.\(i)"
        resnets = try (0..<c.layersPerBlock).map {
            try ResnetBlock(w, "\(p).resnets.\($0)", in: $0 == 0 ? cin : out, out: out, temb: temb, config: c)
        }
        attentions = attention
            ? try (0..<c.layersPerBlock).map {
                try AttentionBlock(w, "\(p).attentions.\($0)", channels: out, headDim: c.attentionHeadDim,
                                   groups: c.normNumGroups, eps: c.normEps, rescale: 1)
            } : []
        downsample = try Resampler.down(w, p, level: i, channels: out, temb: temb, config: c)
    }

    func callAsFunction(_ x: Tensor, _ emb: Tensor, skips: inout [Tensor], _ run: inout RunContext) -> Tensor {
        var h = x
        for (j, resnet) in resnets.enumerated() {
            h = resnet(h, emb, &run)
            if !attentions.isEmpty { h = attentions[j](h, &run) }
            skips.append(h)
        }
        if let downsample {
            h = downsample(h, emb, &run)
            skips.append(h)
        }
        return h
    }
}

/// `UpBlock2D` / `AttnUpBlock2D` / `ResnetUpsampleBlock2D`: layers_per_block + 1 resnets, each
/// on [h ‖ skip], each followed by attention in the Attn variant, then an optional doubling
/// (``Resampler``: nearest ×2 + conv, or a resampling resnet).
struct UpBlock: Sendable {
    let resnets: [ResnetBlock]
    let attentions: [AttentionBlock]
    let upsample: Resampler?

    init(_ w: WeightReader, index i: Int, in cin: Int, prev: Int, out: Int, temb: Int, attention: Bool,
         config c: UNetConfig) throws {
        let p = "up_blocks.\(i)"
        let layers = c.layersPerBlock + 1
        resnets = try (0..<layers).map { j in
            // resnet j sees [h ‖ skip]: h has prev (j = 0) or out channels; the last skip has cin.
            let skip = j == layers - 1 ? cin : out
            let hIn = j == 0 ? prev : out
            return try ResnetBlock(w, "\(p).resnets.\(j)", in: hIn + skip, out: out, temb: temb, config: c)
        }
        attentions = attention
            ? try (0..<layers).map {
                try AttentionBlock(w, "\(p).attentions.\($0)", channels: out, headDim: c.attentionHeadDim,
                                   groups: c.normNumGroups, eps: c.normEps, rescale: 1)
            } : []
        upsample = try Resampler.up(w, p, level: i, channels: out, temb: temb, config: c)
    }

    func callAsFunction(_ x: Tensor, _ emb: Tensor, skips: inout [Tensor], _ run: inout RunContext) -> Tensor {
        var h = x
        for (j, resnet) in resnets.enumerated() {
            let skip = skips.removeLast()
            let joined = run.op(.elementwise) { concatChannels(h, skip) }
            h = resnet(joined, emb, &run)
            if !attentions.isEmpty { h = attentions[j](h, &run) }
        }
        if let upsample { h = upsample(h, emb, &run) }
        return h
    }
}

/// `UNetMidBlock2D`: resnet, attention (optional), resnet — at the deepest resolution.
struct MidBlock: Sendable {
    let first: ResnetBlock, second: ResnetBlock
    let attention: AttentionBlock?

    init(_ w: WeightReader, channels: Int, temb: Int, config c: UNetConfig) throws {
        first = try ResnetBlock(w, "mid_block.resnets.0", in: channels, out: channels, temb: temb, config: c,
                                outputScale: c.midBlockScaleFactor)
        second = try ResnetBlock(w, "mid_block.resnets.1", in: channels, out: channels, temb: temb, config: c,
                                outputScale: c.midBlockScaleFactor)
        // diffusers: the attention's GroupNorm has attn_norm_num_groups groups, or norm_num_groups
        // when that is null and resnet_time_scale_shift is "default"; otherwise it has none.
        let groups = c.attnNormNumGroups ?? (c.resnetTimeScaleShift == "default" ? c.normNumGroups : nil)
        attention = c.addAttention
            ? try AttentionBlock(w, "mid_block.attentions.0", channels: channels, headDim: c.attentionHeadDim,
                                 groups: groups, eps: c.normEps, rescale: c.midBlockScaleFactor)
            : nil
    }

    func callAsFunction(_ x: Tensor, _ emb: Tensor, _ run: inout RunContext) -> Tensor {
        var h = first(x, emb, &run)
        if let attention { h = attention(h, &run) }
        return second(h, emb, &run)
    }
}
