import CKernels
import Foundation
import Testing
import Tensors

/// The two implementations of the Winograd transforms: the AVX2 one over 8 tiles at a time
/// (what this machine runs when it has AVX2 + FMA) and the portable row-wise C (what any other
/// CPU runs), each against the definition of the convolution, on shapes that take every branch:
/// partial tiles at the right and bottom edges, tile rows that do and do not divide a panel of
/// 16, runs that end in a partial group of 8 lanes, the fused path and the three-loop path;
/// each with the weight's bias alone, with a bias per image plus a residual, and with those and
/// a prologue (a per-channel affine map and SiLU applied to the input as it is read).
@Suite("Winograd transforms, AVX2 and portable")
struct WinogradPathTests {
    @Test("both implementations equal the definition", arguments: [
        (tile: 2, batch: 2, cin: 5, cout: 4, h: 17, w: 15),  // partial tiles, 8 tiles a row
        (tile: 2, batch: 1, cin: 9, cout: 7, h: 8, w: 8),  // one panel of whole rows (4 tiles each)
        (tile: 2, batch: 3, cin: 4, cout: 6, h: 10, w: 10),  // 5 tiles a row: the row buffer
        (tile: 4, batch: 2, cin: 5, cout: 4, h: 17, w: 15),
        (tile: 4, batch: 1, cin: 6, cout: 13, h: 16, w: 16),  // 4 rows of 4 tiles in one panel
        (tile: 4, batch: 4, cin: 8, cout: 13, h: 9, w: 12),  // 3 tiles a row
        (tile: 4, batch: 2, cin: 16, cout: 8, h: 32, w: 32),  // fused panels of 2 rows of 8
        (tile: 4, batch: 1, cin: 3, cout: 5, h: 24, w: 24),  // 6 tiles a row, groups of 8 cross rows
    ])
    func paths(tile: Int, batch: Int, cin: Int, cout: Int, h: Int, w: Int) throws {
        let x = randomTensor([batch, cin, h, w], seed: UInt64(70 + h))
        let wt = randomTensor([cout, cin, 3, 3], seed: 71), bias = randomTensor([cout], seed: 72)
        let weight = ConvWeight(weight: wt, bias: bias, winograd: tile == 4 ? .f4x4 : .f2x2)
        let planes = try #require(weight.winograd)
        let plain = naiveConv(x, wt, bias, stride: 1, padding: Padding(1))
        // the epilogue's two terms: a bias per (image, channel) and a residual of the output's shape
        let imageBias = randomTensor([batch, cout], seed: 73), residual = randomTensor(plain.shape, seed: 74)
        var withTerms = plain
        for i in 0..<plain.count {
            withTerms.data[i] += imageBias.data[i / (h * w)] - bias.data[(i / (h * w)) % cout] + residual.data[i]
        }
        // the prologue: a per-(image, channel) affine map and SiLU on the input (a folded group norm)
        let mapScale = randomTensor([batch, cin], seed: 75).data.map { 0.5 + abs($0) }
        let mapShift = randomTensor([batch, cin], seed: 76).data
        var mapped = x
        for i in 0..<x.count {
            let c = i / (h * w)
            let v = Double(x.data[i]) * Double(mapScale[c]) + Double(mapShift[c])
            mapped.data[i] = Float(v / (1 + exp(-v)))
        }
        var withPrologue = naiveConv(mapped, wt, bias, stride: 1, padding: Padding(1))
        for i in 0..<plain.count {
            withPrologue.data[i] += imageBias.data[i / (h * w)] - bias.data[(i / (h * w)) % cout] + residual.data[i]
        }
        let scale = max(1, (plain.data + withPrologue.data).map { abs($0) }.max() ?? 1)
        // F(4×4)'s larger transform constants: ~10× the rounding of F(2×2)
        let bound: Float = (tile == 4 ? 2e-5 : 2e-6) * scale
        for portable in [false, true] {
            // 0: the weight's bias alone; 1: + a bias per image and a residual; 2: 1 + the prologue
            for variant in 0..<3 {
                let terms = variant > 0, pro = variant == 2
                let want = pro ? withPrologue : terms ? withTerms : plain
                var y = [Float](repeating: .nan, count: want.count)
                let status = x.data.withUnsafeBufferPointer { xp in
                    planes.withUnsafeBufferPointer { up in
                        (terms ? imageBias : bias).data.withUnsafeBufferPointer { bp in
                            residual.data.withUnsafeBufferPointer { rp in
                                mapScale.withUnsafeBufferPointer { sp in
                                    mapShift.withUnsafeBufferPointer { hp in
                                        y.withUnsafeMutableBufferPointer { yp in
                                            var prologue = ddim_conv_prologue(scale: pro ? sp.baseAddress : nil,
                                                                              shift: pro ? hp.baseAddress : nil, silu: 1)
                                            var ep = ddim_conv_epilogue(bias: bp.baseAddress, bias_stride: terms ? cout : 0,
                                                                        residual: terms ? rp.baseAddress : nil)
                                            let run = portable ? ddim_winograd_conv_portable : ddim_winograd_conv
                                            return run(xp.baseAddress, batch, cin, h, w, up.baseAddress, Int32(tile), cout,
                                                       &prologue, &ep, yp.baseAddress)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                #expect(status == 0)
                let worst = zip(y, want.data).map { abs($0 - $1) }.max() ?? .nan
                // NaN (an output never written) fails this too
                #expect(worst <= bound,
                        "portable: \(portable), terms: \(terms), prologue: \(pro), F(\(tile)×\(tile)), \(h)×\(w): \(worst)")
            }
        }
    }
}

/// The attention core (attention.c) with the AVX2 and the portable kernel against the
/// definition in double precision: token and head sizes that are not multiples of the kernel's
/// 6 × 16 block (partial panels of queries, partial blocks of keys and dimensions), one and
/// several panels a task, several images; the output transposed per image (Oᵀ).
@Suite("Attention core, AVX2 and portable")
struct AttentionCoreTests {
    @Test("both kernels equal softmax(Q·Kᵀ/√d)·V", arguments: [
        (batch: 2, n: 100, heads: 3, d: 24, rows: 32),
        (batch: 1, n: 64, heads: 1, d: 64, rows: 16),
        (batch: 3, n: 9, heads: 2, d: 5, rows: 4),
        (batch: 1, n: 256, heads: 1, d: 64, rows: 32),  // the digits model's 16×16 attention
        (batch: 2, n: 40, heads: 2, d: 13, rows: 48),
        (batch: 1, n: 70, heads: 2, d: 256, rows: 32),  // cifar10-32's head size
    ])
    func core(batch: Int, n: Int, heads: Int, d: Int, rows: Int) {
        let inner = heads * d, width = 3 * inner
        let qkv = randomTensor([batch, n, width], seed: 90).data
        var want = [Float](repeating: 0, count: batch * n * inner)
        for b in 0..<batch { for h in 0..<heads { for i in 0..<n {
            let row = (b * n + i) * width + h * d
            var scores = (0..<n).map { t in
                (0..<d).reduce(0.0) { $0 + Double(qkv[row + $1]) * Double(qkv[(b * n + t) * width + inner + h * d + $1]) }
                    / Double(d).squareRoot()
            }
            let top = scores.max() ?? 0
            scores = scores.map { exp($0 - top) }
            let total = scores.reduce(0, +)
            for c in 0..<d {
                let value = (0..<n).reduce(0.0) { $0 + scores[$1] / total * Double(qkv[(b * n + $1) * width + 2 * inner + h * d + c]) }
                // Oᵀ per image: heads·d rows of n
                want[(b * inner + h * d + c) * n + i] = Float(value)
            }
        } } }
        for portable in [false, true] {
            var o = [Float](repeating: .nan, count: want.count)
            let status = qkv.withUnsafeBufferPointer { q in
                o.withUnsafeMutableBufferPointer { op in
                    (portable ? ddim_attention_portable : ddim_attention)(q.baseAddress, batch, n, heads, d, rows, op.baseAddress)
                }
            }
            #expect(status == 0)
            let worst = zip(o, want).map { abs($0 - $1) }.max() ?? .nan
            #expect(worst <= 1e-5, "portable: \(portable), n \(n), d \(d): \(worst)")
        }
    }
}
