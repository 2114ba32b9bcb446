import CKernels
import Foundation

// MARK: - Convolution

/// Weights of a 2-D convolution, laid out once at load as a GEMM operand.
public struct ConvWeight: Sendable {
    /// Output channels.
    public let outChannels: Int
    /// Input channels.
    public let inChannels: Int
    /// Kernel height and width.
    public let kernel: Int
    /// (out, in·k·k) row-major: the PyTorch layout (out, in, kh, kw) flattened — as loaded, or,
    /// for a layer whose original weights were not kept (``keepsWeights``), recovered from its
    /// Winograd planes each time it is asked for (the im2col path then; ~1e-7 relative).
    public var weight: [Float] {
        if let stored { return stored }
        guard let planes = winograd, let tile = winogradTile else { return [] }
        var g = uninitializedFloats(outChannels * inChannels * 9)
        planes.withUnsafeBufferPointer { up in
            g.withUnsafeMutableBufferPointer { gp in
                ddim_winograd_unpack_weights(up.start, Int32(tile.rawValue), outChannels, inChannels, gp.start)
            }
        }
        return g
    }
    /// Whether the original weights are held beside the planes.
    public var keepsWeights: Bool { stored != nil }
    private let stored: [Float]?
    /// (out)
    public let bias: [Float]?
    /// 3×3 kernels only, when asked for: the Winograd planes U_k = (G g Gᵀ)_k (out × in) — 16
    /// for F(2×2, 3×3), 36 for F(4×4, 3×3) — made once at load and packed in blocks of 6 output
    /// channels for the convolution's own GEMM kernel (`ddim_winograd_pack_weights`; ``ConvolutionAlgorithm``).
    public let winograd: [Float]?
    /// The output tile those planes are for (nil without planes).
    public let winogradTile: WinogradTile?

    /// Wraps PyTorch-layout weights `(out, in, k, k)` and an optional bias `(out)`. A 3×3 kernel
    /// also gets the Winograd planes of `winograd` (F(2×2, 3×3) unless told; nil: none), used by
    /// stride-1, padding-1 convolutions of large enough images: 16/9 (F(2×2)) or 36/9 (F(4×4))
    /// of the weights in memory. `keepWeights: false` drops the originals once the planes are
    /// made (for layers that only Winograd will run: 9/25 or 9/45 of their memory saved).
    public init(weight: Tensor, bias: Tensor?, winograd: WinogradTile? = .f2x2, keepWeights: Bool = true) {
        precondition(weight.rank == 4 && weight.shape[2] == weight.shape[3], "ConvWeight: shape \(weight.shape)")
        outChannels = weight.shape[0]
        inChannels = weight.shape[1]
        kernel = weight.shape[2]
        self.stored = keepWeights || winograd == nil || weight.shape[2] != 3 ? weight.data : nil
        self.bias = bias?.data
        if let tile = winograd, kernel == 3 {
            let (cout, cin) = (outChannels, inChannels)
            var packed = uninitializedFloats(ddim_winograd_packed_count(Int32(tile.rawValue), cout, cin))
            weight.data.withUnsafeBufferPointer { g in
                packed.withUnsafeMutableBufferPointer { pp in
                    ddim_winograd_pack_weights(g.start, Int32(tile.rawValue), cout, cin, pp.start)
                }
            }
            self.winograd = packed
            self.winogradTile = tile
        } else {
            self.winograd = nil
            self.winogradTile = nil
        }
    }
}

/// The output tile of a Winograd convolution: F(m×m, 3×3) computes m×m outputs from an
/// (m + 2)² input tile with (m + 2)² multiplies per input channel.
public enum WinogradTile: Int, Sendable {
    /// F(2×2, 3×3): 16 planes, 4 multiplies per output (9 directly); error ~1e-6 relative.
    case f2x2 = 2
    /// F(4×4, 3×3): 36 planes, 2.25 multiplies per output; error ~1e-5–1e-4 relative (larger
    /// transform constants), and tiles of 4×4 need maps of 16×16 or more to fill the kernel.
    case f4x4 = 4

    /// The number of planes: (m + 2)².
    public var planes: Int { (rawValue + 2) * (rawValue + 2) }
}

/// Which algorithm stride-1, padding-1 3×3 convolutions use; set once at start-up (benchmarks
/// and tests compare the two).
public enum ConvolutionAlgorithm: Sendable {
    /// im2col + one GEMM per band or group of images: 9·Cin multiplies per output.
    case im2col
    /// Winograd F(4×4, 3×3) or F(2×2, 3×3), per the weights' planes (``WinogradTile``):
    /// 2.25·Cin or 4·Cin multiplies per output.
    case winograd

    /// The algorithm in use (default `.winograd`; `DDIM_CONV=im2col` in the environment picks the other).
    public static var current: ConvolutionAlgorithm {
        get { ConvolutionAlgorithm.storage }
        set { ConvolutionAlgorithm.storage = newValue }
    }

    nonisolated(unsafe) private static var storage: ConvolutionAlgorithm =
        ProcessInfo.processInfo.environment["DDIM_CONV"] == "im2col" ? .im2col : .winograd

    /// Below this many tiles per convolution (batch × ⌈H/m⌉ × ⌈W/m⌉) im2col is used: the
    /// Winograd kernel works on panels of 16 tiles, and a panel mostly of padding costs more
    /// than the transforms save (4×4 maps at batch 1 with F(2×2), 8×8 with F(4×4)).
    public static let winogradMinTiles = 16
}

/// Zero padding on each side of the image, in pixels.
public struct Padding: Sendable, Equatable {
    public var top: Int, left: Int, bottom: Int, right: Int
    /// The same padding on every side.
    public init(_ all: Int) { (top, left, bottom, right) = (all, all, all, all) }
    /// Padding per side.
    public init(top: Int, left: Int, bottom: Int, right: Int) {
        (self.top, self.left, self.bottom, self.right) = (top, left, bottom, right)
    }
}

/// How many im2col floats one band may hold (16 MB): large models convolve in bands of rows.
let im2colBudget = 4 << 20

/// 2-D convolution: Winograd for stride-1 3×3 (``ConvolutionAlgorithm``), else im2col + GEMM in
/// bands of output rows. input (B, Cin, H, W) → output (B, Cout, Ho, Wo),
/// Ho = (H + pt + pb − k) / stride + 1; y = conv(prologue(x)) + b + imageBias[image, o] + residual.
/// `prologue` (a group norm and SiLU, ``groupNormAffine(_:groups:gamma:beta:eps:silu:)``) is
/// applied to each input value as the Winograd input transform reads it — no normalised tensor
/// is written — and the two optional terms are added as its output transform writes each value;
/// on the im2col path the prologue makes a tensor first and the terms are added after the GEMM.
/// `imageBias` (B, Cout), e.g. a ResNet block's time embedding; `residual` y's shape.
public func conv2d(_ x: Tensor, _ w: ConvWeight, stride: Int = 1, padding: Padding, prologue: ChannelAffine? = nil,
                   imageBias: Tensor? = nil, residual: Tensor? = nil) -> Tensor {
    precondition(x.rank == 4 && x.shape[1] == w.inChannels, "conv2d: input \(x.shape) for \(w.inChannels) channels")
    precondition(prologue.map { $0.scale.count == x.shape[0] * w.inChannels } ?? true,
                 "conv2d: prologue for \(prologue?.scale.count ?? 0) channels, input \(x.shape)")
    let (batch, h, wd) = (x.shape[0], x.shape[2], x.shape[3])
    let k = w.kernel
    let ho = (h + padding.top + padding.bottom - k) / stride + 1
    let wo = (wd + padding.left + padding.right - k) / stride + 1
    var out = Tensor(uninitializedShape: [batch, w.outChannels, ho, wo])
    precondition(imageBias.map { $0.count == batch * w.outChannels } ?? true,
                 "conv2d: image bias for \(batch)×\(w.outChannels)")
    precondition(residual.map { $0.shape == out.shape } ?? true,
                 "conv2d: residual \(residual?.shape ?? []) for \(out.shape)")
    if k == 3, stride == 1, padding == Padding(1), ConvolutionAlgorithm.current == .winograd, let u = w.winograd,
       let tile = w.winogradTile?.rawValue,
       batch * ((ho + tile - 1) / tile) * ((wo + tile - 1) / tile) >= ConvolutionAlgorithm.winogradMinTiles {
        conv2dWinograd(x, w, u, tile: tile, prologue: prologue, imageBias: imageBias, residual: residual, into: &out)
        return out
    }
    convolveByGEMM(prologue.map { $0.apply(to: x) } ?? x, w, stride: stride, padding: padding, into: &out)
    if let imageBias { imageBias.data.withUnsafeBufferPointer { out.addPerChannel($0.start) } }
    if let residual { out.add(residual) }
    return out
}

/// conv2d by im2col (or the input itself for 1×1) and GEMM, the weight's bias added.
private func convolveByGEMM(_ x: Tensor, _ w: ConvWeight, stride: Int, padding: Padding, into out: inout Tensor) {
    let (batch, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let k = w.kernel
    let (ho, wo) = (out.shape[2], out.shape[3])
    let kk = cin * k * k
    let plane = ho * wo
    // 1×1, stride 1, no padding: the input is already the GEMM operand.
    let direct = k == 1 && stride == 1 && padding == Padding(0)
    let bandRows = direct ? ho : max(1, min(ho, im2colBudget / max(1, kk * wo)))
    // Small images: the columns of several images side by side make one wider GEMM.
    let group = min(batch, im2colBudget / max(1, kk * plane))
    if !direct && bandRows == ho && group >= 2 {
        conv2dGrouped(x, w, stride: stride, padding: padding, into: &out, group: group)
        return
    }
    var col = uninitializedFloats(direct ? 0 : kk * bandRows * wo)
    x.data.withUnsafeBufferPointer { xp in
        out.data.withUnsafeMutableBufferPointer { op in
            col.withUnsafeMutableBufferPointer { cp in
                w.weight.withUnsafeBufferPointer { wp in
                    for b in 0..<batch {
                        let xb = xp.start + b * cin * h * wd
                        let ob = op.start + b * w.outChannels * plane
                        // every output is written: the bias first (then β = 1), or β = 0
                        if let bias = w.bias { fillRows(ob, rows: w.outChannels, width: plane, with: bias) }
                        let beta: Float = w.bias == nil ? 0 : 1
                        if direct {
                            gemm(m: w.outChannels, n: plane, k: kk, wp.start, lda: kk,
                                 xb, ldb: plane, ob, ldc: plane, beta: beta)
                            continue
                        }
                        var r0 = 0
                        while r0 < ho {
                            let rows = min(bandRows, ho - r0)
                            let n = rows * wo
                            // the band's columns on the pool, a few input channels a task
                            let (col, start) = (cp.start, r0)
                            parallelChunks(cin, grain: max(1, elementwiseGrain / (k * k * n))) { channels in
                                im2col(xb + channels.lowerBound * h * wd, channels: channels.count, height: h,
                                       width: wd, kernel: k, stride: stride, padding: padding,
                                       outRows: start..<(start + rows), outWidth: wo,
                                       into: col + channels.lowerBound * k * k * n)
                            }
                            // out[:, band] (Cout × n) = W (Cout × kk) · col (kk × n)
                            gemm(m: w.outChannels, n: n, k: kk, wp.start, lda: kk,
                                 cp.start, ldb: n, ob + r0 * wo, ldc: plane, beta: beta)
                            r0 += rows
                        }
                    }
                }
            }
        }
    }
}

/// conv2d (3×3, stride 1, padding 1) by Winograd F(m×m, 3×3) on ddim's thread pool: the input
/// tiles transformed to V (planes × Cin × tiles, panels of 16 tiles), the products
/// M_k = U_k · V_k by the register-blocked kernel of `winograd.c`, and M transformed back to
/// m×m output tiles with the epilogue (the bias, per image when `imageBias` is given, and the
/// residual) — in chunks of at most 8 MB of scratch per operand.
private func conv2dWinograd(_ x: Tensor, _ w: ConvWeight, _ u: [Float], tile: Int, prologue: ChannelAffine?,
                            imageBias: Tensor?, residual: Tensor?, into out: inout Tensor) {
    let (batch, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let cout = w.outChannels
    // b + imageBias[image] per image, or the weight's bias shared by all
    var bias = w.bias ?? []
    var biasStride = 0
    if let imageBias {
        bias = (0..<(batch * cout)).map { i in imageBias.data[i] + (w.bias?[i % cout] ?? 0) }
        biasStride = cout
    }
    let status = x.data.withUnsafeBufferPointer { xp in
        out.data.withUnsafeMutableBufferPointer { op in
            u.withUnsafeBufferPointer { up in
                bias.withUnsafeBufferPointer { bp in
                    (residual?.data ?? []).withUnsafeBufferPointer { rp in
                        (prologue?.scale ?? []).withUnsafeBufferPointer { sp in
                            (prologue?.shift ?? []).withUnsafeBufferPointer { hp in
                                var pro = ddim_conv_prologue(scale: prologue == nil ? nil : sp.baseAddress,
                                                             shift: prologue == nil ? nil : hp.baseAddress,
                                                             silu: prologue?.silu == true ? 1 : 0)
                                var ep = ddim_conv_epilogue(bias: bias.isEmpty ? nil : bp.baseAddress,
                                                            bias_stride: biasStride,
                                                            residual: residual == nil ? nil : rp.baseAddress)
                                return ddim_winograd_conv(xp.start, batch, cin, h, wd, up.start, Int32(tile), cout, &pro,
                                                          &ep, op.start)
                            }
                        }
                    }
                }
            }
        }
    }
    // only its two scratch buffers can fail; the process is out of memory
    precondition(status == 0, "conv2d: out of memory for the Winograd scratch (\(cin) → \(w.outChannels) channels, \(h)×\(wd))")
}

/// conv2d for a batch of small images: im2col of `group` images into one (k·k·Cin × group·Ho·Wo)
/// matrix, one GEMM, then each image's (Cout × Ho·Wo) block scattered out with the bias.
private func conv2dGrouped(_ x: Tensor, _ w: ConvWeight, stride: Int, padding: Padding, into out: inout Tensor, group: Int) {
    let (batch, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (cout, k) = (w.outChannels, w.kernel)
    let (ho, wo) = (out.shape[2], out.shape[3])
    let kk = cin * k * k, plane = ho * wo
    // im2col writes every column (zeros included) and the GEMM every product: no zero fill
    var col = uninitializedFloats(kk * group * plane)
    var product = uninitializedFloats(cout * group * plane)
    x.data.withUnsafeBufferPointer { xp in
        out.data.withUnsafeMutableBufferPointer { op in
            col.withUnsafeMutableBufferPointer { cp in
                product.withUnsafeMutableBufferPointer { pp in
                    w.weight.withUnsafeBufferPointer { wp in
                        let (src, col, prod, dst) = (xp.start, cp.start, pp.start, op.start)
                        var first = 0
                        while first < batch {
                            let m = min(group, batch - first), n = m * plane, f = first
                            // each image's columns on the pool, then one GEMM, then the scatter
                            parallelFor(m) { j in
                                im2col(src + (f + j) * cin * h * wd, channels: cin, height: h, width: wd, kernel: k,
                                       stride: stride, padding: padding, outRows: 0..<ho, outWidth: wo,
                                       into: col + j * plane, rowStride: n)
                            }
                            // P (Cout × m·plane) = W (Cout × kk) · col (kk × m·plane)
                            gemm(m: cout, n: n, k: kk, wp.start, lda: kk, col, ldb: n, prod, ldc: n)
                            parallelFor(m) { j in
                                for o in 0..<cout {
                                    addScalar(prod + o * n + j * plane, w.bias?[o] ?? 0,
                                              into: dst + ((f + j) * cout + o) * plane, count: plane)
                                }
                            }
                            first += m
                        }
                    }
                }
            }
        }
    }
}

/// Each row r of a (rows × width) matrix set to value[r].
@inline(__always)
func fillRows(_ p: UnsafeMutablePointer<Float>, rows: Int, width: Int, with value: [Float]) {
    value.withUnsafeBufferPointer { v in
        let values = v.start
        parallelChunks(rows, grain: max(1, elementwiseGrain / width)) { range in
            for r in range { (p + r * width).update(repeating: values[r], count: width) }
        }
    }
}

/// Unfolds the receptive fields of output rows `outRows` into columns (rows `rowStride` apart):
/// col[(c·k + i)·k + j][row·Wo + ox] = x[c][oy·s + i − pt][ox·s + j − pl] (0 outside).
func im2col(
    _ x: UnsafePointer<Float>, channels: Int, height: Int, width: Int, kernel k: Int, stride s: Int,
    padding: Padding, outRows: Range<Int>, outWidth wo: Int, into col: UnsafeMutablePointer<Float>,
    rowStride: Int? = nil
) {
    ddim_im2col(x, channels, height, width, k, s, padding.top, padding.left, outRows.lowerBound, outRows.count, wo, col,
                rowStride ?? outRows.count * wo)
}

// MARK: - Normalisation and activations

/// A per-(image, channel) affine map, optionally followed by SiLU: y = x·scale + shift, then
/// y·σ(y) when `silu` — a group norm with its γ, β (and the SiLU after it) reduced to what each
/// channel of each image needs, so that a convolution can apply it as it reads its input.
public struct ChannelAffine: Sendable {
    /// (B·C) multipliers and offsets, image-major.
    public var scale: [Float], shift: [Float]
    /// SiLU after the affine map.
    public var silu: Bool

    /// The map with these coefficients.
    public init(scale: [Float], shift: [Float], silu: Bool) {
        precondition(scale.count == shift.count, "ChannelAffine: \(scale.count) scales, \(shift.count) shifts")
        (self.scale, self.shift, self.silu) = (scale, shift, silu)
    }

    /// The map applied to x (B, C, …), a new tensor; one task per chunk of channels on the pool.
    public func apply(to x: Tensor) -> Tensor {
        precondition(x.rank >= 2 && x.shape[0] * x.shape[1] == scale.count, "ChannelAffine: \(scale.count) channels for \(x.shape)")
        let spatial = x.count / scale.count
        var out = Tensor(uninitializedShape: x.shape)
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                scale.withUnsafeBufferPointer { sp in
                    shift.withUnsafeBufferPointer { hp in
                        let (src, dst, s, h, fuse) = (xp.start, op.start, sp.start, hp.start, silu)
                        // SiLU's exponential makes a float ~4× the work of a copy
                        let grain = max(1, (fuse ? elementwiseGrain / 4 : elementwiseGrain) / spatial)
                        parallelChunks(scale.count, grain: grain) { channels in
                            for c in channels {
                                affine(src + c * spatial, scale: s[c], shift: h[c], silu: fuse, into: dst + c * spatial,
                                       count: spatial)
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

/// Group normalisation's statistics and affine, per (image, channel), without normalising:
/// μ_g = Σx / n, σ²_g = Σ(x − μ_g)² / n over each group of C/G channels (two passes, as torch,
/// summed in float lanes, then double), and for channel c of group g
/// scale = γ_c / √(σ²_g + ε), shift = β_c − μ_g · scale, so that x·scale + shift is the norm's output.
/// One task per (image, group) on the pool.
public func groupNormAffine(_ x: Tensor, groups: Int, gamma: [Float], beta: [Float], eps: Float,
                            silu: Bool = false) -> ChannelAffine {
    let (batch, channels) = (x.shape[0], x.shape[1])
    let spatial = x.count / (batch * channels)
    precondition(channels % groups == 0, "groupNorm: \(channels) channels in \(groups) groups")
    let perGroup = channels / groups
    var scale = uninitializedFloats(batch * channels), shift = uninitializedFloats(batch * channels)
    x.data.withUnsafeBufferPointer { xp in
        scale.withUnsafeMutableBufferPointer { sp in
            shift.withUnsafeMutableBufferPointer { hp in
                let (src, s, h) = (xp.start, sp.start, hp.start)
                parallelFor(batch * groups) { task in
                    let (b, g) = task.quotientAndRemainder(dividingBy: groups)
                    let base = src + (b * channels + g * perGroup) * spatial
                    let n = perGroup * spatial
                    // μ = Σx / n
                    let mean = sum(base, count: n) / Double(n)
                    // σ² = Σ(x − μ)² / n
                    let variance = sumOfSquares(base, count: n, about: Float(mean)) / Double(n)
                    let invStd = Float(1 / (variance + Double(eps)).squareRoot())
                    let m = Float(mean)
                    for cg in 0..<perGroup {
                        let c = g * perGroup + cg
                        // scale = γ_c / √(σ² + ε), shift = β_c − μ · scale
                        s[b * channels + c] = gamma[c] * invStd
                        h[b * channels + c] = beta[c] - m * s[b * channels + c]
                    }
                }
            }
        }
    }
    return ChannelAffine(scale: scale, shift: shift, silu: silu)
}

/// Group normalisation with a per-channel affine, optionally followed by SiLU:
/// y = (x − μ_g) / √(σ²_g + ε) · γ_c + β_c over each group of C/G channels
/// (``groupNormAffine(_:groups:gamma:beta:eps:silu:)`` applied).
public func groupNorm(_ x: Tensor, groups: Int, gamma: [Float], beta: [Float], eps: Float, silu fuseSiLU: Bool = false) -> Tensor {
    groupNormAffine(x, groups: groups, gamma: gamma, beta: beta, eps: eps, silu: fuseSiLU).apply(to: x)
}

/// Σ p[i] (float lanes, then double).
@inline(__always)
func sum(_ p: UnsafePointer<Float>, count n: Int) -> Double { ddim_sum(p, n) }

/// Σ (p[i] − m)² (float lanes, then double).
@inline(__always)
func sumOfSquares(_ p: UnsafePointer<Float>, count n: Int, about m: Float) -> Double { ddim_sum_squares(p, n, m) }

/// y = x·scale + shift, or silu of it, over `count` floats (x and y may be the same).
@inline(__always)
public func affine(_ x: UnsafePointer<Float>, scale: Float, shift: Float, silu: Bool, into y: UnsafeMutablePointer<Float>, count n: Int) {
    ddim_affine(x, scale, shift, silu ? 1 : 0, y, n)
}

/// y = x + b over `count` floats.
@inline(__always)
func addScalar(_ x: UnsafePointer<Float>, _ b: Float, into y: UnsafeMutablePointer<Float>, count n: Int) {
    ddim_add_scalar(x, b, y, n)
}

/// silu(x) = x · σ(x) = x / (1 + e^(−x)), with the kernels' exponential.
@inline(__always)
public func siluScalar(_ x: Float) -> Float { x / (1 + ddim_exp(-x)) }

/// SiLU applied element-wise.
public func silu(_ x: Tensor) -> Tensor {
    var out = x
    out.data.withUnsafeMutableBufferPointer { p in ddim_silu(p.start, p.count) }
    return out
}

/// `count` floats whose values are unspecified: scratch that the caller overwrites completely.
@inline(__always)
func uninitializedFloats(_ count: Int) -> [Float] {
    // count 0 would store into the shared empty-array singleton (a data race ThreadSanitizer found)
    guard count > 0 else { return [] }
    return [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
}

extension Tensor {
    /// A tensor whose elements are unspecified, for kernels that write every element.
    init(uninitializedShape shape: [Int]) {
        self.init(shape: shape, data: uninitializedFloats(shape.reduce(1, *)))
    }
}

// MARK: - Dense layers

/// Weights of a fully connected layer in PyTorch layout: weight (out, in), bias (out).
public struct LinearWeight: Sendable {
    /// Output features.
    public let outFeatures: Int
    /// Input features.
    public let inFeatures: Int
    /// (out, in) row-major.
    public let weight: [Float]
    /// (out)
    public let bias: [Float]?

    /// Wraps PyTorch-layout weights.
    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 2, "LinearWeight: shape \(weight.shape)")
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
        self.weight = weight.data
        self.bias = bias?.data
    }
}

/// y = x · Wᵀ + b over rows: x (rows, in) → (rows, out).
public func linear(_ x: UnsafePointer<Float>, rows: Int, _ w: LinearWeight, into y: UnsafeMutablePointer<Float>) {
    if let bias = w.bias {
        for r in 0..<rows { (y + r * w.outFeatures).update(from: bias, count: w.outFeatures) }
    }
    gemm(m: rows, n: w.outFeatures, k: w.inFeatures, x, lda: w.inFeatures,
         w.weight, ldb: w.inFeatures, transposeB: true, y, ldc: w.outFeatures, beta: w.bias == nil ? 0 : 1)
}

/// y = x · Wᵀ + b for a (rows, in) tensor.
public func linear(_ x: Tensor, _ w: LinearWeight) -> Tensor {
    let rows = x.count / w.inFeatures
    precondition(rows * w.inFeatures == x.count, "linear: \(x.shape) for \(w.inFeatures) inputs")
    var out = Tensor(uninitializedShape: [rows, w.outFeatures])
    x.data.withUnsafeBufferPointer { xp in
        out.data.withUnsafeMutableBufferPointer { op in
            linear(xp.start, rows: rows, w, into: op.start)
        }
    }
    return out
}

// MARK: - Shape and element-wise helpers

/// Nearest-neighbour upsampling by 2: (B, C, H, W) → (B, C, 2H, 2W).
public func upsampleNearest2x(_ x: Tensor) -> Tensor {
    let (planes, h, w) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
    var out = Tensor(uninitializedShape: [x.shape[0], x.shape[1], 2 * h, 2 * w])
    x.data.withUnsafeBufferPointer { xp in
        out.data.withUnsafeMutableBufferPointer { op in
            let (source, target) = (xp.start, op.start)
            // input rows of all planes, on the pool
            parallelChunks(planes * h, grain: max(1, elementwiseGrain / (4 * w))) { rows in
                for r in rows {
                    let src = source + r * w
                    let dst = target + 4 * r * w  // output rows 2·y and 2·y + 1 of the same plane
                    for xx in 0..<w { dst[2 * xx] = src[xx]; dst[2 * xx + 1] = src[xx] }
                    (dst + 2 * w).update(from: dst, count: 2 * w)
                }
            }
        }
    }
    return out
}

/// Channel concatenation: (B, C1, H, W) ‖ (B, C2, H, W) → (B, C1 + C2, H, W).
public func concatChannels(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape[0] == b.shape[0] && a.shape[2...] == b.shape[2...], "concatChannels: \(a.shape) ‖ \(b.shape)")
    let batch = a.shape[0]
    let na = a.count / batch, nb = b.count / batch, n = na + nb
    var out = Tensor(uninitializedShape: [batch, a.shape[1] + b.shape[1]] + Array(a.shape[2...]))
    a.data.withUnsafeBufferPointer { ap in
        b.data.withUnsafeBufferPointer { bp in
            out.data.withUnsafeMutableBufferPointer { op in
                let (pa, pb, po) = (ap.start, bp.start, op.start)
                // output index o of image i: a's o when o < na, else b's o − na; copied a run at a time
                parallelChunks(batch * n, grain: elementwiseGrain) { range in
                    var o = range.lowerBound
                    while o < range.upperBound {
                        let (image, r) = o.quotientAndRemainder(dividingBy: n)
                        let (source, end) = r < na ? (pa + image * na + r, na) : (pb + image * nb + (r - na), n)
                        let run = min(end - r, range.upperBound - o)
                        (po + o).update(from: source, count: run)
                        o += run
                    }
                }
            }
        }
    }
    return out
}

extension Tensor {
    /// self += other, element-wise (equal shapes).
    public mutating func add(_ other: Tensor) {
        precondition(count == other.count, "add: \(shape) + \(other.shape)")
        other.data.withUnsafeBufferPointer { o in
            data.withUnsafeMutableBufferPointer { p in
                let (src, dst) = (o.start, p.start)
                parallelChunks(p.count, grain: elementwiseGrain) { range in
                    for i in range { dst[i] += src[i] }
                }
            }
        }
    }

    /// self *= s, element-wise.
    public mutating func scale(by s: Float) {
        data.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count { p[i] *= s }
        }
    }

    /// self[b, c, :, :] += v[b, c] for a (B, C) tensor `v`.
    public mutating func addPerChannel(_ v: UnsafePointer<Float>) {
        let planes = shape[0] * shape[1]
        let n = count / planes
        data.withUnsafeMutableBufferPointer { p in
            let dst = p.start
            parallelChunks(planes, grain: max(1, elementwiseGrain / n)) { range in
                for q in range { addScalar(dst + q * n, v[q], into: dst + q * n, count: n) }
            }
        }
    }
}
