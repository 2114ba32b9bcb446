import Tensors

// MARK: - ResnetBlock2D

/// diffusers `ResnetBlock2D`:
/// h = conv₁(silu(norm₁(x))); h += W_t·silu(emb) (or h = norm₂(h)·(1 + scale) + shift);
/// out = (shortcut(x) + conv₂(silu(norm₂(h)))) / output_scale_factor.
struct ResnetBlock: Sendable {
    let norm1: GroupNormWeight, conv1: ConvWeight
    let timeProjection: LinearWeight  // temb → out (default) or 2·out (scale_shift)
    let norm2: GroupNormWeight, conv2: ConvWeight
    let shortcut: ConvWeight?  // 1×1 when in ≠ out
    let scaleShift: Bool
    let outputScale: Float
    /// A resampling resnet (`down=True` / `up=True`): silu(norm₁(x)) and x itself are average
    /// pooled 2×2 or upsampled nearest ×2 before conv₁ and the shortcut.
    let resample: Resample?

    /// The resolution change inside a resampling resnet.
    enum Resample: Sendable { case down, up }

    init(_ w: WeightReader, _ p: String, in cin: Int, out: Int, temb: Int, config c: UNetConfig, outputScale: Float = 1,
         resample: Resample? = nil) throws {
        self.outputScale = outputScale
        self.resample = resample
        norm1 = try w.norm("\(p).norm1", channels: cin, groups: c.normNumGroups, eps: c.normEps)
        conv1 = try w.conv("\(p).conv1", out: out, in: cin, kernel: 3)
        scaleShift = c.resnetTimeScaleShift == "scale_shift"
        timeProjection = try w.linear(["\(p).time_emb_proj"], out: scaleShift ? 2 * out : out, in: temb)
        norm2 = try w.norm("\(p).norm2", channels: out, groups: c.normNumGroups, eps: c.normEps)
        conv2 = try w.conv("\(p).conv2", out: out, in: out, kernel: 3)
        shortcut = cin == out ? nil : try w.conv("\(p).conv_shortcut", out: out, in: cin, kernel: 1)
    }

    /// x (B, Cin, H, W), embedding = silu(emb) (B, temb) → (B, Cout, H, W).
    /// Each norm (and the SiLU after it) is reduced to a per-channel map that its convolution
    /// applies as it reads its input, so no normalised tensor is written; the time embedding's
    /// projection rides in conv₁'s bias (one per image) and the shortcut in conv₂'s residual,
    /// both added as the convolutions write their outputs.
    func callAsFunction(_ x: Tensor, _ embedding: Tensor, _ run: inout RunContext) -> Tensor {
        if let resample { return resampling(x, embedding, resample, &run) }
        let n1 = run.op(.norm) { norm1.affine(x, silu: true) }
        let t = run.op(.linear) { linear(embedding, timeProjection) }  // (B, out) or (B, 2·out)
        let out = conv1.outChannels
        var h: Tensor
        var n2: ChannelAffine
        if scaleShift {
            h = run.conv(.conv3x3, x, conv1, padding: Padding(1), prologue: n1)
            // silu(norm₂(h)·(1 + scale) + shift): with norm₂ = h·a + b per channel,
            // h·a(1 + scale) + (b(1 + scale) + shift), one map again
            n2 = run.op(.norm) { norm2.affine(h, silu: true) }
            modulate(&n2, t, channels: out)
        } else {
            // h = conv₁(silu(norm₁(x))) + W_t·silu(emb)
            h = run.conv(.conv3x3, x, conv1, padding: Padding(1), prologue: n1, imageBias: t)
            n2 = run.op(.norm) { norm2.affine(h, silu: true) }
        }
        let skip = shortcut.map { s in run.conv(.conv1x1, x, s, padding: Padding(0)) } ?? x
        // conv₂(silu(norm₂(h))) + shortcut(x)
        h = run.conv(.conv3x3, h, conv2, padding: Padding(1), prologue: n2, residual: skip)
        if outputScale != 1 { h.scale(by: 1 / outputScale) }
        return h
    }
}

extension ResnetBlock {
    /// The resampling resnet: h = R(silu(norm₁(x))), x' = R(x) with R the 2×2 average or nearest
    /// ×2 (so norm₁'s map cannot ride in conv₁ here: it is applied first), then as the plain one:
    /// conv₁, the time embedding, norm₂, conv₂, + shortcut(x').
    func resampling(_ x: Tensor, _ embedding: Tensor, _ resample: Resample, _ run: inout RunContext) -> Tensor {
        let activated = run.op(.norm) { norm1.affine(x, silu: true).apply(to: x) }
        let down = resample == .down
        let (hIn, xIn) = run.op(.elementwise) {
            down ? (averagePool2x2(activated), averagePool2x2(x)) : (upsampleNearest2x(activated), upsampleNearest2x(x))
        }
        let t = run.op(.linear) { linear(embedding, timeProjection) }
        let out = conv1.outChannels
        var h: Tensor
        var n2: ChannelAffine
        if scaleShift {
            h = run.conv(.conv3x3, hIn, conv1, padding: Padding(1))
            n2 = run.op(.norm) { norm2.affine(h, silu: true) }
            modulate(&n2, t, channels: out)
        } else {
            h = run.conv(.conv3x3, hIn, conv1, padding: Padding(1), imageBias: t)
            n2 = run.op(.norm) { norm2.affine(h, silu: true) }
        }
        let skip = shortcut.map { s in run.conv(.conv1x1, xIn, s, padding: Padding(0)) } ?? xIn
        h = run.conv(.conv3x3, h, conv2, padding: Padding(1), prologue: n2, residual: skip)
        if outputScale != 1 { h.scale(by: 1 / outputScale) }
        return h
    }
}

/// The map a·h + b of channel c of image i made a·(1 + scale) · h + (b·(1 + scale) + shift),
/// with t = [scale ‖ shift] per image (diffusers' "scale_shift" time embedding).
private func modulate(_ map: inout ChannelAffine, _ t: Tensor, channels: Int) {
    for i in 0..<map.scale.count {
        let (b, c) = i.quotientAndRemainder(dividingBy: channels)
        let scale = 1 + t.data[b * 2 * channels + c], shift = t.data[b * 2 * channels + channels + c]
        map.scale[i] *= scale
        map.shift[i] = map.shift[i] * scale + shift
    }
}

// MARK: - Attention

/// diffusers `Attention` as used in the UNet blocks: optional GroupNorm, multi-head
/// self-attention over pixels, residual connection, divided by rescale_output_factor.
struct AttentionBlock: Sendable {
    let norm: GroupNormWeight?
    let weights: AttentionWeights
    let rescale: Float

    init(_ w: WeightReader, _ p: String, channels: Int, headDim: Int?, groups: Int?, eps: Float, rescale: Float) throws {
        // heads = C / head_dim (one head of C channels when head_dim is null); inner = heads · head_dim
        let d = headDim ?? channels
        let heads = channels / d
        let inner = heads * d
        norm = try groups.map { try w.norm("\(p).group_norm", channels: channels, groups: $0, eps: eps) }
        weights = AttentionWeights(
            query: try w.linear(["\(p).to_q", "\(p).query"], out: inner, in: channels),
            key: try w.linear(["\(p).to_k", "\(p).key"], out: inner, in: channels),
            value: try w.linear(["\(p).to_v", "\(p).value"], out: inner, in: channels),
            output: try w.linear(["\(p).to_out.0", "\(p).proj_attn"], out: channels, in: inner),
            heads: heads)
        self.rescale = rescale
    }

    func callAsFunction(_ x: Tensor, _ run: inout RunContext) -> Tensor {
        let h = norm.map { n in run.op(.norm) { n(x) } } ?? x
        var y = run.op(.attention) { selfAttention(h, residual: x, weights) }
        if rescale != 1 { y.scale(by: 1 / rescale) }
        return y
    }
}

// MARK: - Resampling

/// `Downsample2D` with a conv: stride 2, padding 1, or (0, 1, 0, 1) when downsample_padding is 0.
struct Downsample: Sendable {
    let conv: ConvWeight
    let padding: Padding

    init(_ w: WeightReader, _ p: String, channels: Int, padding mode: Int) throws {
        conv = try w.conv("\(p).conv", out: channels, in: channels, kernel: 3, winograd: false)  // stride 2
        padding = mode == 0 ? Padding(top: 0, left: 0, bottom: 1, right: 1) : Padding(mode)
    }

    func callAsFunction(_ x: Tensor, _ run: inout RunContext) -> Tensor {
        run.conv(.conv3x3, x, conv, stride: 2, padding: padding)
    }
}

/// `Upsample2D` with a conv: nearest ×2, then a 3×3 conv.
struct Upsample: Sendable {
    let conv: ConvWeight

    init(_ w: WeightReader, _ p: String, channels: Int) throws {
        conv = try w.conv("\(p).conv", out: channels, in: channels, kernel: 3)
    }

    func callAsFunction(_ x: Tensor, _ run: inout RunContext) -> Tensor {
        let up = run.op(.elementwise) { upsampleNearest2x(x) }
        return run.conv(.conv3x3, up, conv, padding: Padding(1))
    }
}
