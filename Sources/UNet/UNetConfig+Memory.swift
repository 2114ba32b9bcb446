import Tensors

// MARK: - The checkpoint's tensors, from the config

extension UNetConfig {
    /// Every tensor a checkpoint of this config holds, named as diffusers saves them
    /// (`to_q`, `to_out.0`, …) with its shape — what ``UNet2DModel/init(config:weights:)`` binds,
    /// known before the weights file is opened.
    public var parameterShapes: [(name: String, shape: [Int])] {
        var list: [(name: String, shape: [Int])] = []
        let ch = blockOutChannels, temb = timeEmbedWidth, levels = ch.count
        func conv(_ p: String, _ out: Int, _ cin: Int, _ k: Int) { list += [("\(p).weight", [out, cin, k, k]), ("\(p).bias", [out])] }
        func linear(_ p: String, _ out: Int, _ cin: Int) { list += [("\(p).weight", [out, cin]), ("\(p).bias", [out])] }
        func norm(_ p: String, _ c: Int) { list += [("\(p).weight", [c]), ("\(p).bias", [c])] }
        func resnet(_ p: String, _ cin: Int, _ out: Int) {
            norm("\(p).norm1", cin)
            conv("\(p).conv1", out, cin, 3)
            linear("\(p).time_emb_proj", resnetTimeScaleShift == "scale_shift" ? 2 * out : out, temb)
            norm("\(p).norm2", out)
            conv("\(p).conv2", out, out, 3)
            if cin != out { conv("\(p).conv_shortcut", out, cin, 1) }
        }
        func attention(_ p: String, _ c: Int, groupNorm: Bool) {
            let (heads, d) = attentionHeads(channels: c)
            if groupNorm { norm("\(p).group_norm", c) }
            for name in ["to_q", "to_k", "to_v"] { linear("\(p).\(name)", heads * d, c) }
            linear("\(p).to_out.0", c, heads * d)
        }
        conv("conv_in", ch[0], inChannels, 3)
        linear("time_embedding.linear_1", temb, ch[0])
        linear("time_embedding.linear_2", temb, temb)
        switch classConditioning {
        case .table(let classes)?: list.append(("class_embedding.weight", [classes, temb]))
        case .timestep?:
            linear("class_embedding.linear_1", temb, ch[0])
            linear("class_embedding.linear_2", temb, temb)
        case nil: break
        }
        for (i, type) in downBlockTypes.enumerated() {
            for j in 0..<layersPerBlock {
                resnet("down_blocks.\(i).resnets.\(j)", j == 0 ? (i == 0 ? ch[0] : ch[i - 1]) : ch[i], ch[i])
                if type == "AttnDownBlock2D" { attention("down_blocks.\(i).attentions.\(j)", ch[i], groupNorm: true) }
            }
            switch downsampling(level: i) {
            case .conv?: conv("down_blocks.\(i).downsamplers.0.conv", ch[i], ch[i], 3)
            case .resnet?: resnet("down_blocks.\(i).downsamplers.0", ch[i], ch[i])
            case nil: break
            }
        }
        if midBlockType != nil {
            let c = ch[levels - 1]
            resnet("mid_block.resnets.0", c, c)
            if addAttention { attention("mid_block.attentions.0", c, groupNorm: midAttentionGroups != nil) }
            resnet("mid_block.resnets.1", c, c)
        }
        let reversed = Array(ch.reversed())
        for (i, type) in upBlockTypes.enumerated() {
            let (prev, out, cin) = (i == 0 ? reversed[0] : reversed[i - 1], reversed[i], reversed[min(i + 1, levels - 1)])
            for j in 0...layersPerBlock {
                // resnet j sees [h ‖ skip] (UpBlock's rule)
                resnet("up_blocks.\(i).resnets.\(j)", (j == 0 ? prev : out) + (j == layersPerBlock ? cin : out), out)
                if type == "AttnUpBlock2D" { attention("up_blocks.\(i).attentions.\(j)", out, groupNorm: true) }
            }
            switch upsampling(level: i) {
            case .conv?: conv("up_blocks.\(i).upsamplers.0.conv", out, out, 3)
            case .resnet?: resnet("up_blocks.\(i).upsamplers.0", out, out)
            case nil: break
            }
        }
        norm("conv_norm_out", ch[0])
        conv("conv_out", outChannels, ch[0], 3)
        return list
    }

    /// The number of parameters of a checkpoint of this config.
    public var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.shape.reduce(1, *) } }

    /// (heads, d) of an attention layer over `c` channels: d = attention_head_dim (or c), heads = c / d.
    func attentionHeads(channels c: Int) -> (heads: Int, d: Int) {
        let d = attentionHeadDim ?? c
        return (c / d, d)
    }

    /// The mid-block attention's GroupNorm groups (nil: none), as ``MidBlock`` decides.
    var midAttentionGroups: Int? { attnNormNumGroups ?? (resnetTimeScaleShift == "default" ? normNumGroups : nil) }
}

// MARK: - Memory

/// What a UNet2DModel of a config holds in memory, counted from the config alone, before any
/// weight is read: the loaded weights, and the peak of one forward pass (ddim's own buffers: the
/// tensors alive at that point — the skips kept for the up blocks, the block's input and
/// outputs — plus the scratch of the operation running then: Winograd's transformed planes,
/// im2col columns, attention's Q, K, V and packed operands and its per-task score panels).
///
/// Not counted here: OpenBLAS's own buffers, thread stacks, the process's code and libraries
/// (the Engine's `MemoryBudget` adds those).
public struct UNetMemory: Sendable, Equatable {
    /// Bytes of the loaded model: a Float copy of every tensor, except that 3×3 convolutions
    /// keep their Winograd planes (16/9 or 36/9 of the weights) and drop the originals where
    /// only Winograd will run them.
    public var weights: Int
    /// Bytes of the largest moment of one forward pass (its input and output included).
    public var forwardPeak: Int
    /// Bytes of scratch the pool's threads keep between forwards (the fused Winograd path's
    /// panel scratch, one mapping per thread, grown to the largest layer's), all threads together.
    public var threadScratch: Int
}

extension UNetConfig {
    /// The memory of this model and of one forward pass over `batch` images of `height` × `width`
    /// on `threads` threads (the pool's), the model loaded and run under `policy`; see ``UNetMemory``.
    public func memory(batch: Int, height: Int, width: Int, threads: Int, policy: ConvPolicy = ConvPolicy()) -> UNetMemory {
        var walk = ForwardWalk(config: self, batch: batch, threads: max(1, threads), policy: policy)
        walk.run(height: height, width: width)
        return UNetMemory(weights: loadedWeightBytes(policy), forwardPeak: walk.ledger.peak * 4,
                          threadScratch: walk.threadScratch * 4)
    }

    /// Whether a checkpoint of this config counts as large (``WeightReader/largeModel``).
    var isLargeModel: Bool { parameterCount > WeightReader.largeModelParameters }

    /// Bytes the model loaded under `policy` holds (``UNetMemory/weights``).
    func loadedWeightBytes(_ policy: ConvPolicy) -> Int {
        let large = isLargeModel
        let side = sampleSize?.min() ?? 0, levels = blockOutChannels.count
        var floats = 0
        let packs = ConvWeight.packsGEMMByDefault, bf16 = policy.precision == .bf16 && policy.precision.supported
        for (name, shape) in parameterShapes {
            let count = shape.reduce(1, *)
            // GEMM weights packed in blocks of 6 rows (``PackedMatrix``) in place of the originals:
            // convolutions' unless DDIM_GEMM=blas, attention projections' always
            let gemm = shape.count == 4 && packs || shape.count == 2 && name.contains("attentions")
            // a convolution's weights in bf16 pairs under --precision bf16 (not the first and last)
            let half = bf16 && shape.count == 4 && !WeightReader.floatUnderBF16.contains(String(name.dropLast(".weight".count)))
            let inner = shape[0] > 0 ? count / shape[0] : 0
            let kept = gemm && shape[0] > 0 ? roundUp(shape[0], 6) * (half ? (inner + 1) / 2 : inner) : count
            // stride-1 3×3 weights: planes (packed in blocks of 6 outputs) and maybe the originals
            guard shape.count == 4, shape[2] == 3, !name.contains("downsamplers") else {
                floats += kept
                continue
            }
            let resolution = side >> Self.level(ofTensor: name, levels: levels)
            let tile = policy.tile(resolution: resolution, out: shape[0], in: shape[1], largeModel: large)
            // in bf16 pairs: half, input channels rounded up to even (not the first and last layers)
            floats += half ? tile.planes * roundUp(shape[0], 6) * (shape[1] + 1) / 2 : tile.planes * roundUp(shape[0], 6) * shape[1]
            if ConvPolicy.keepsWeights(resolution: resolution, tile: tile) { floats += kept }
        }
        return floats * 4
    }

    /// The level whose resolution hint a tensor's layer gets at load (``UNet2DModel/init(config:weights:)``):
    /// down block i → i, the mid block → the deepest, up block i → levels − 1 − i, others → 0.
    static func level(ofTensor name: String, levels: Int) -> Int {
        let parts = name.split(separator: ".")
        if parts.first == "mid_block" { return levels - 1 }
        guard parts.count > 1, let i = Int(parts[1]) else { return 0 }
        if parts[0] == "down_blocks" { return i }
        if parts[0] == "up_blocks" { return levels - 1 - i }
        return 0
    }
}

private func roundUp(_ n: Int, _ m: Int) -> Int { (n + m - 1) / m * m }

/// Live floats over a forward pass: tensors held (reference-counted, as skips share their
/// storage with h) and the peak of live + scratch.
private struct Ledger {
    private var sizes: [Int] = []
    private var references: [Int] = []
    private(set) var live = 0
    private(set) var peak = 0

    /// A new tensor of `floats`, held once.
    mutating func hold(_ floats: Int) -> Int {
        sizes.append(floats)
        references.append(1)
        live += floats
        peak = max(peak, live)
        return sizes.count - 1
    }

    mutating func retain(_ id: Int) { references[id] += 1 }

    mutating func release(_ id: Int) {
        references[id] -= 1
        if references[id] == 0 { live -= sizes[id] }
    }

    /// Scratch alive for a moment on top of what is held.
    mutating func transient(_ floats: Int) { peak = max(peak, live + floats) }
}

/// One forward pass of ``UNet2DModel`` replayed on a ``Ledger``, block by block as
/// `UNet2DModel.forward` runs it; sizes in floats.
private struct ForwardWalk {
    let config: UNetConfig
    let batch: Int, threads: Int
    let policy: ConvPolicy
    let large: Bool
    var ledger = Ledger()
    /// The pool threads' kept scratch (``UNetMemory/threadScratch``), floats.
    var threadScratch = 0

    init(config: UNetConfig, batch: Int, threads: Int, policy: ConvPolicy) {
        (self.config, self.batch, self.threads, self.policy) = (config, batch, threads, policy)
        large = config.isLargeModel
    }

    /// A tensor of the walk: its ledger id and channels.
    struct Held { let id: Int, channels: Int }

    mutating func run(height: Int, width: Int) {
        let c = config, ch = c.blockOutChannels, levels = ch.count, side = c.sampleSize?.min() ?? 0
        var (h, w) = (height, width)
        let input = ledger.hold(batch * c.inChannels * h * w)
        // γ(t) (B × C₀), then emb and silu(emb) (B × T each)
        let embedding = ledger.hold(batch * (ch[0] + 2 * c.timeEmbedWidth))
        var current = conv(in: c.inChannels, out: ch[0], h, w, resolution: side, prologue: false)
        var skips = [current]
        ledger.retain(current.id)
        for (i, type) in c.downBlockTypes.enumerated() {
            for _ in 0..<c.layersPerBlock {
                let next = resnet(current, out: ch[i], h, w, resolution: side >> i)
                ledger.release(current.id)
                current = next
                if type == "AttnDownBlock2D" { current = attention(current, h, w, groupNorm: true) }
                skips.append(current)
                ledger.retain(current.id)
            }
            if let kind = c.downsampling(level: i) {
                // a stride-2 conv; or a resnet on the pooled maps (the activated copy and both
                // pooled maps alive while it runs, counted as one more map at full size)
                let down: Held
                if kind == .resnet {
                    let copies = ledger.hold(batch * ch[i] * h * w * 3 / 2)
                    (h, w) = (h / 2, w / 2)
                    down = resnet(Held(id: copies, channels: ch[i]), out: ch[i], h, w, resolution: side >> i)
                    ledger.release(copies)
                } else {
                    down = conv(in: ch[i], out: ch[i], h, w, resolution: side >> i, prologue: false, stride: 2)
                    (h, w) = (h / 2, w / 2)
                }
                ledger.release(current.id)
                current = down
                skips.append(current)
                ledger.retain(current.id)
            }
        }
        if c.midBlockType != nil {
            let deepest = side >> (levels - 1)
            var next = resnet(current, out: ch[levels - 1], h, w, resolution: deepest)
            ledger.release(current.id)
            current = next
            if c.addAttention { current = attention(current, h, w, groupNorm: c.midAttentionGroups != nil) }
            next = resnet(current, out: ch[levels - 1], h, w, resolution: deepest)
            ledger.release(current.id)
            current = next
        }
        let reversed = Array(ch.reversed())
        for (i, type) in c.upBlockTypes.enumerated() {
            let resolution = side >> (levels - 1 - i)
            for _ in 0...c.layersPerBlock {
                guard let skip = skips.popLast() else { break }
                // [h ‖ skip], then the resnet on it
                let joined = Held(id: ledger.hold(batch * (current.channels + skip.channels) * h * w),
                                  channels: current.channels + skip.channels)
                let next = resnet(joined, out: reversed[i], h, w, resolution: resolution)
                ledger.release(joined.id)
                ledger.release(skip.id)
                ledger.release(current.id)
                current = next
                if type == "AttnUpBlock2D" { current = attention(current, h, w, groupNorm: true) }
            }
            if let kind = c.upsampling(level: i) {
                // nearest ×2, then a 3×3 conv whose planes were chosen for the smaller maps; or a
                // resnet on the upsampled maps (the activated copy too: two maps at the new size)
                let up = Held(id: ledger.hold(batch * current.channels * (kind == .resnet ? 8 : 4) * h * w), channels: current.channels)
                (h, w) = (2 * h, 2 * w)
                let next = kind == .resnet ? resnet(up, out: up.channels, h, w, resolution: resolution)
                    : conv(in: up.channels, out: up.channels, h, w, resolution: resolution, prologue: false)
                ledger.release(up.id)
                ledger.release(current.id)
                current = next
            }
        }
        let output = conv(in: ch[0], out: c.outChannels, h, w, resolution: side, prologue: true)
        ledger.release(current.id)
        for skip in skips { ledger.release(skip.id) }
        ledger.release(embedding)
        ledger.release(output.id)
        ledger.release(input)
    }

    /// ResnetBlock2D: conv₁(x) and, when the channels change, the 1×1 shortcut, alive while
    /// conv₂ writes its output; the norms' maps and the time projection beside them.
    mutating func resnet(_ x: Held, out: Int, _ h: Int, _ w: Int, resolution: Int) -> Held {
        // the two ChannelAffine maps, the time projection and conv₁'s per-image bias
        let small = ledger.hold(batch * (2 * x.channels + 5 * out))
        let h1 = conv(in: x.channels, out: out, h, w, resolution: resolution, prologue: true)
        let shortcut = x.channels == out ? nil : ledger.hold(batch * out * h * w)
        let h2 = conv(in: out, out: out, h, w, resolution: resolution, prologue: true)
        ledger.release(h1.id)
        if let shortcut { ledger.release(shortcut) }
        ledger.release(small)
        return h2
    }

    /// Attention: the normalised copy, [Q K V] and Oᵀ per image, K and Vᵀ packed per head, one
    /// panel of scores (keys × 16 queries) per task running at once, and the output.
    mutating func attention(_ x: Held, _ h: Int, _ w: Int, groupNorm: Bool) -> Held {
        let n = h * w, (heads, d) = config.attentionHeads(channels: x.channels), inner = heads * d
        let normed = groupNorm ? ledger.hold(batch * x.channels * n) : nil
        let out = ledger.hold(batch * x.channels * n)
        let qkv = ledger.hold(batch * n * 4 * inner)  // [Q K V] and Oᵀ
        let packed = batch * heads * (roundUp(n, 6) * d + roundUp(d, 6) * n)
        ledger.transient(packed + threads * (d * 16 + roundUp(n, 6) * 16 + 96))
        ledger.release(qkv)
        if let normed { ledger.release(normed) }
        ledger.release(x.id)
        return Held(id: out, channels: x.channels)
    }

    /// A convolution's output (held) after its scratch: the Winograd path's V and M operands (or
    /// the fused path's per-thread panels), or im2col's columns, the prologue applied to a copy
    /// of x first, and the weights recovered from the planes when they were not kept.
    mutating func conv(in cin: Int, out cout: Int, _ h: Int, _ w: Int, resolution: Int, prologue: Bool,
                       stride: Int = 1) -> Held {
        let (ho, wo) = stride == 1 ? (h, w) : (h / 2, w / 2)
        let winogradLayer = stride == 1
        let tile = policy.tile(resolution: resolution, out: cout, in: cin, largeModel: large)
        let m = tile.rawValue, (th, tw) = ((h + m - 1) / m, (w + m - 1) / m)
        var scratch: Int
        if winogradLayer, policy.algorithm == .winograd, batch * th * tw >= ConvolutionAlgorithm.winogradMinTiles {
            scratch = winogradScratch(cin: cin, cout: cout, h, w, planes: tile.planes, th: th, tw: tw)
        } else {
            scratch = prologue ? batch * cin * h * w : 0
            if winogradLayer && !ConvPolicy.keepsWeights(resolution: resolution, tile: tile) { scratch += cout * cin * 9 }
            let k = winogradLayer || stride == 2 ? 3 : 1, kk = cin * k * k, plane = ho * wo
            let bandRows = max(1, min(ho, 4 << 20 / max(1, kk * wo)))
            let group = min(batch, 4 << 20 / max(1, kk * plane))
            if bandRows == ho && group >= 2 {
                scratch += (kk + cout) * group * plane  // columns and product of a group of images
            } else {
                scratch += kk * bandRows * wo
            }
        }
        let output = batch * cout * ho * wo
        ledger.transient(scratch + output)
        return Held(id: ledger.hold(output), channels: cout)
    }

    /// winograd_driver.c's scratch for one convolution (floats alive during it); records the fused
    /// path's kept per-thread panels in ``threadScratch``.
    mutating func winogradScratch(cin: Int, cout: Int, _ h: Int, _ w: Int, planes: Int, th: Int, tw: Int) -> Int {
        let coutPad = roundUp(cout, 6), perImage = th * tw
        // portable transforms: one h × w plane of activated rows per task
        let activated = threads * h * w
        if 16 % tw == 0, th % (16 / tw) == 0, batch * perImage / 16 >= 2 * threads {
            let panel = planes * (cin + coutPad) * 16 + inputScratch(planes: planes, tw: tw, rows: 16 / tw)
            threadScratch = max(threadScratch, threads * roundUp(panel, 1 << 18))  // whole MB per thread
            return activated
        }
        // V and M of a chunk, each ≤ 2 M floats unless one row of tiles needs more
        let maxTiles = max(tw, (2 << 20) / (planes * max(cin, coutPad)))
        let imagesPerChunk = perImage <= maxTiles ? min(maxTiles / perImage, batch) : 1
        let band = perImage <= maxTiles ? th : max(1, maxTiles / tw)
        let capacity = roundUp(perImage <= maxTiles ? imagesPerChunk * perImage : band * tw, 16)
        let rows = 16 % tw == 0 ? 16 / tw : 1
        return planes * (cin + coutPad) * capacity + threads * (inputScratch(planes: planes, tw: tw, rows: rows) + planes * tw) + activated
    }

    /// winograd_paths.c's `wg_input_scratch_count`.
    func inputScratch(planes: Int, tw: Int, rows: Int) -> Int {
        let m = planes == 16 ? 2 : 4
        let rowwise = planes == 16 ? 16 * (tw + 1) : 4 * (tw + 1) + 36 * tw
        return max(rowwise, (m * rows + 2) * (m * tw + 4))
    }
}
