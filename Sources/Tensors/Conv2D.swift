import CKernels

/// How many im2col floats one band may hold (16 MB): large models convolve in bands of rows.
let im2colBudget = 4 << 20

/// 2-D convolution: Winograd for stride-1 3×3 when `algorithm` says so and the weights have
/// planes (``ConvolutionAlgorithm``), else im2col + GEMM in bands of output rows. input (B, Cin, H, W) → output (B, Cout, Ho, Wo),
/// Ho = (H + pt + pb − k) / stride + 1; y = conv(prologue(x)) + b + imageBias[image, o] + residual.
/// `prologue` (a group norm and SiLU, ``groupNormAffine(_:groups:gamma:beta:eps:silu:)``) is
/// applied to each input value as the Winograd input transform reads it — no normalised tensor
/// is written — and the two optional terms are added as its output transform writes each value;
/// on the im2col path the prologue makes a tensor first and the terms are added after the GEMM.
/// `imageBias` (B, Cout), e.g. a ResNet block's time embedding; `residual` y's shape.
public func conv2d(_ x: Tensor, _ w: ConvWeight, stride: Int = 1, padding: Padding, prologue: ChannelAffine? = nil,
                   imageBias: Tensor? = nil, residual: Tensor? = nil, algorithm: ConvolutionAlgorithm = .winograd) -> Tensor {
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
    if k == 3, stride == 1, padding == Padding(1), algorithm == .winograd, let tile = w.winogradTile?.rawValue,
       batch * ((ho + tile - 1) / tile) * ((wo + tile - 1) / tile) >= ConvolutionAlgorithm.winogradMinTiles {
        conv2dWinograd(x, w, tile: tile, prologue: prologue, imageBias: imageBias, residual: residual, into: &out)
        return out
    }
    if let packed = w.gemmPacked, k == 1, stride == 1, padding == Padding(0), prologue == nil, imageBias == nil {
        // 1×1: y_b (Cout × HW) = W · x_b (Cin × HW) + b + residual_b, the whole batch one parallel loop
        let plane = ho * wo
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                (residual?.data ?? []).withUnsafeBufferPointer { rp in
                    packed.multiply(count: batch, xp.start, n: plane, ldb: plane, strideB: w.inChannels * plane,
                                    into: op.start, ldc: plane, strideC: w.outChannels * plane, bias: w.bias,
                                    add: residual == nil ? nil : rp.baseAddress, ldAdd: plane, strideAdd: w.outChannels * plane)
                }
            }
        }
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
                // the row-major weights only for OpenBLAS (unpacked from the planes when dropped)
                (w.gemmPacked == nil ? w.unpackedWeights() : []).withUnsafeBufferPointer { wp in
                    for b in 0..<batch {
                        let xb = xp.start + b * cin * h * wd
                        let ob = op.start + b * w.outChannels * plane
                        // OpenBLAS writes every output with the bias filled first (then β = 1), or
                        // β = 0; the packed kernel writes W·B + bias itself
                        if w.gemmPacked == nil, let bias = w.bias { fillRows(ob, rows: w.outChannels, width: plane, with: bias) }
                        let beta: Float = w.bias == nil ? 0 : 1
                        // out[:, columns] (Cout × n, rows `plane` apart) = W (Cout × kk) · B (kk × n)
                        func multiply(_ bp: UnsafePointer<Float>, n: Int, into c: UnsafeMutablePointer<Float>) {
                            if let packed = w.gemmPacked {
                                packed.multiply(bp, n: n, ldb: n, into: c, ldc: plane, bias: w.bias)
                            } else {
                                gemm(m: w.outChannels, n: n, k: kk, wp.start, lda: kk, bp, ldb: n, c, ldc: plane, beta: beta)
                            }
                        }
                        if direct {
                            multiply(xb, n: plane, into: ob)
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
                            multiply(cp.start, n: n, into: ob + r0 * wo)
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
/// M_k = U_k · V_k by the register-blocked kernel of `winograd_gemm.c`, and M transformed back to
/// m×m output tiles with the epilogue (the bias, per image when `imageBias` is given, and the
/// residual) — in chunks of at most 8 MB of scratch per operand.
private func conv2dWinograd(_ x: Tensor, _ w: ConvWeight, tile: Int, prologue: ChannelAffine?,
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
            // the float planes, or the bf16 ones (one of the two is held)
            (w.winogradBF16 ?? w.winograd ?? []).withUnsafeBufferPointer { up in
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
                                if w.winogradBF16 != nil {
                                    return ddim_winograd_conv_bf16(xp.start, batch, cin, h, wd, up.start, Int32(tile), cout,
                                                                   &pro, &ep, op.start)
                                }
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
                    (w.gemmPacked == nil ? w.unpackedWeights() : []).withUnsafeBufferPointer { wp in
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
                            if let packed = w.gemmPacked {
                                packed.multiply(col, n: n, ldb: n, into: prod, ldc: n)
                            } else {
                                gemm(m: cout, n: n, k: kk, wp.start, lda: kk, col, ldb: n, prod, ldc: n)
                            }
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
