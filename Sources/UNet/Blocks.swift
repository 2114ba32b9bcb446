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

    init(_ w: WeightReader, _ p: String, in cin: Int, out: Int, temb: Int, config c: UNetConfig, outputScale: Float = 1) throws {
        self.outputScale = outputScale
        norm1 = try w.norm("\(p).norm1", channels: cin, groups: c.normNumGroups, eps: c.normEps)
        conv1 = try w.conv("\(p).conv1", out: out, in: cin, kernel: 3)
        scaleShift = c.resnetTimeScaleShift == "scale_shift"
        timeProjection = try w.linear(["\(p).time_emb_proj"], out: scaleShift ? 2 * out : out, in: temb)
        norm2 = try w.norm("\(p).norm2", channels: out, groups: c.normNumGroups, eps: c.normEps)
        conv2 = try w.conv("\(p).conv2", out: out, in: out, kernel: 3)
        shortcut = cin == out ? nil : try w.conv("\(p).conv_shortcut", out: out, in: cin, kernel: 1)
    }

    /// x (B, Cin, H, W), embedding = silu(emb) (B, temb) → (B, Cout, H, W).
    /// The time embedding's projection rides in conv₁'s bias (one per image) and the shortcut in
    /// conv₂'s residual: both are added as the convolutions write their outputs, not in passes
    /// of their own.
    func callAsFunction(_ x: Tensor, _ embedding: Tensor, _ run: inout RunContext) -> Tensor {
        var h = run.op(.norm) { norm1(x, silu: true) }
        let t = run.op(.linear) { linear(embedding, timeProjection) }  // (B, out) or (B, 2·out)
        let out = conv1.outChannels
        if scaleShift {
            h = run.op(.conv3x3) { conv2d(h, conv1, padding: Padding(1)) }
            h = run.op(.norm) { norm2(h) }
            // h = h·(1 + scale) + shift, then SiLU
            run.op(.elementwise) { modulate(&h, t, channels: out) }
        } else {
            // h = conv₁(·) + W_t·silu(emb)
            h = run.op(.conv3x3) { conv2d(h, conv1, padding: Padding(1), imageBias: t) }
            h = run.op(.norm) { norm2(h, silu: true) }
        }
        let skip = shortcut.map { s in run.op(.conv1x1) { conv2d(x, s, padding: Padding(0)) } } ?? x
        // conv₂(h) + shortcut(x)
        h = run.op(.conv3x3) { conv2d(h, conv2, padding: Padding(1), residual: skip) }
        if outputScale != 1 { h.scale(by: 1 / outputScale) }
        return h
    }
}

/// h[b, c] ← silu(h[b, c]·(1 + scale[b, c]) + shift[b, c]), with t = [scale ‖ shift] per sample.
private func modulate(_ h: inout Tensor, _ t: Tensor, channels: Int) {
    let batch = h.shape[0]
    let n = h.count / (batch * channels)
    t.data.withUnsafeBufferPointer { tp in
        h.data.withUnsafeMutableBufferPointer { hp in
            for b in 0..<batch {
                for c in 0..<channels {
                    let scale = 1 + tp[b * 2 * channels + c], shift = tp[b * 2 * channels + channels + c]
                    let base = (b * channels + c) * n
                    affine(hp.start + base, scale: scale, shift: shift, silu: true, into: hp.start + base, count: n)
                }
            }
        }
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
        run.op(.conv3x3) { conv2d(x, conv, stride: 2, padding: padding) }
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
        return run.op(.conv3x3) { conv2d(up, conv, padding: Padding(1)) }
    }
}
