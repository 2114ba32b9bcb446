import CKernels
import Foundation
import Testing
import Tensors

/// float → bfloat16 → float, rounded to nearest, ties to even: the test's own rounding.
func bf16Rounded(_ f: Float) -> Float {
    let bits = f.bitPattern
    let rounded = (bits &+ 0x7fff &+ ((bits >> 16) & 1)) & 0xffff_0000
    return Float(bitPattern: rounded)
}

let bf16Supported = ddim_bf16_supported() != 0

/// The bf16 Winograd products (`--precision bf16`, bf16_gemm.c): the planes' packing in pairs of
/// input channels and back, and whole convolutions against the definition — within what rounding
/// both operands to 8 significant bits allows, and far enough from float that the bf16 kernel is
/// known to have run. Skipped, saying why, where the CPU lacks AVX-512 BF16.
@Suite("bf16 Winograd products", .enabled(if: bf16Supported, "skipped: this CPU (or its OS) lacks AVX-512 BF16"))
struct BF16Tests {
    @Test("planes to bf16 pairs and back: each value rounded to nearest even, the layout the inverse reads",
          arguments: [(2, 7, 5), (4, 13, 6), (4, 6, 1)])
    func packing(tile: Int, cout: Int, cin: Int) throws {
        let wt = randomTensor([cout, cin, 3, 3], seed: 80)
        let weight = ConvWeight(weight: wt, bias: nil, winograd: tile == 4 ? .f4x4 : .f2x2)
        let planes = try #require(weight.winograd)
        var half = [Float](repeating: .nan, count: ddim_winograd_bf16_count(Int32(tile), cout, cin))
        ddim_winograd_bf16_from_packed(planes, Int32(tile), cout, cin, &half)
        var back = [Float](repeating: .nan, count: planes.count)
        ddim_winograd_bf16_to_packed(half, Int32(tile), cout, cin, &back)
        #expect(back == planes.map(bf16Rounded))
        // half the float planes' memory (input channels rounded up to even)
        #expect(half.count == planes.count / cin * ((cin + 1) / 2))
        // a tie rounds to even: 1 + 2⁻⁸ (halfway between two bf16) → 1, 1 + 3·2⁻⁸ → 1 + 2⁻⁶
        #expect(bf16Rounded(1 + 0x1p-8) == 1 && bf16Rounded(1 + 3 * 0x1p-8) == 1 + 0x1p-6)
    }

    @Test("a layer in bf16 holds only the bf16 planes; its weights come back within bf16's rounding")
    func layer() throws {
        let wt = randomTensor([10, 7, 3, 3], seed: 81)
        let weight = ConvWeight(weight: wt, bias: nil, winograd: .f4x4, keepWeights: false, bf16: true)
        #expect(weight.winograd == nil && weight.winogradBF16 != nil && weight.hasWinograd)
        let back = weight.unpackedWeights()
        let worst = zip(back, wt.data).map { abs($0 - $1) }.max() ?? .nan
        let size = wt.data.map(abs).max() ?? 1
        // the planes' rounding (2⁻⁹ relative) through G⁺'s rows (coefficients up to 4)
        #expect(worst <= 0.02 * size && worst > 0, "\(worst) of \(size)")
    }

    @Test("whole convolutions against the definition: errors of bf16's size, not float's",
          arguments: [winogradPathShapes[0], winogradPathShapes[3], winogradPathShapes[6], winogradPathShapes[9],
                      winogradPathShapes[10], winogradPathShapes[11]])
    func convolutions(tile: Int, batch: Int, cin: Int, cout: Int, h: Int, w: Int) throws {
        let x = randomTensor([batch, cin, h, w], seed: UInt64(90 + h))
        let wt = randomTensor([cout, cin, 3, 3], seed: 91), bias = randomTensor([cout], seed: 92)
        let residual = randomTensor([batch, cout, h, w], seed: 93)
        let weight = ConvWeight(weight: wt, bias: bias, winograd: tile == 4 ? .f4x4 : .f2x2, bf16: true)
        let half = try #require(weight.winogradBF16)
        var want = naiveConv(x, wt, bias, stride: 1, padding: Padding(1))
        for i in 0..<want.count { want.data[i] += residual.data[i] }
        var y = [Float](repeating: .nan, count: want.count)
        let status = x.data.withUnsafeBufferPointer { xp in
            half.withUnsafeBufferPointer { up in
                bias.data.withUnsafeBufferPointer { bp in
                    residual.data.withUnsafeBufferPointer { rp in
                        y.withUnsafeMutableBufferPointer { yp in
                            var ep = ddim_conv_epilogue(bias: bp.baseAddress, bias_stride: 0, residual: rp.baseAddress)
                            return ddim_winograd_conv_bf16(xp.baseAddress, batch, cin, h, w, up.baseAddress, Int32(tile),
                                                           cout, nil, &ep, yp.baseAddress)
                        }
                    }
                }
            }
        }
        #expect(status == 0)
        let errors = zip(y, want.data).map { Double(abs($0 - $1)) }
        let scale = Double(max(1, want.data.map { abs($0) }.max() ?? 1))
        let worst = errors.max() ?? .nan, rms = (errors.map { $0 * $0 }.reduce(0, +) / Double(errors.count)).squareRoot()
        // F(4×4)'s transform constants (A's up to 8, B's up to 5) amplify the operands' rounding
        // (2⁻⁹) far more than F(2×2)'s: measured here, worst 6–10 % and rms 0.5–0.7 % of the
        // output scale for F(4×4), 0.4 % and 0.1 % for F(2×2); bounds with ~2× margin
        let (bound, rmsBound) = tile == 4 ? (0.2 * scale, 0.015 * scale) : (0.01 * scale, 0.003 * scale)
        #expect(worst <= bound, "F(\(tile)×\(tile)) \(h)×\(w), \(cin) → \(cout): worst \(worst), bound \(bound)")
        #expect(rms <= rmsBound, "F(\(tile)×\(tile)) \(h)×\(w): rms \(rms), bound \(rmsBound)")
        // the float path's bound is 2e-5 (F(4×4)) / 2e-6 (F(2×2)) of the scale: bf16 ran
        #expect(worst > (tile == 4 ? 2e-4 : 2e-5) * scale, "worst \(worst): no bf16 rounding seen")
    }

    @Test("the packed GEMM in bf16 equals the product of the bf16-rounded operands, with bias and an added matrix",
          arguments: [(13, 37, 5), (64, 16, 288), (7, 1, 3), (32, 1024, 64), (100, 49, 131)])
    func packedGEMM(m: Int, n: Int, k: Int) throws {
        let a = randomTensor([m, k], seed: UInt64(m + k)).data, b = randomTensor([k, n], seed: UInt64(n)).data
        let bias = randomTensor([m], seed: 5).data, extra = randomTensor([m, n], seed: 6).data
        let w = PackedMatrix(a, rows: m, columns: k, bf16: true)
        #expect(w.bf16 && w.storedCount == (m + 5) / 6 * 6 * ((k + 1) / 2))
        #expect(w.unpacked() == a.map(bf16Rounded))
        var c = [Float](repeating: .nan, count: m * n)
        b.withUnsafeBufferPointer { bp in
            extra.withUnsafeBufferPointer { ep in
                c.withUnsafeMutableBufferPointer { cp in
                    w.multiply(bp.start, n: n, ldb: n, into: cp.start, ldc: n, bias: bias, add: ep.start, ldAdd: n)
                }
            }
        }
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var want = Double(bias[i]) + Double(extra[i * n + j]), size = abs(want)
                for p in 0..<k {
                    let term = Double(bf16Rounded(a[i * k + p])) * Double(bf16Rounded(b[p * n + j]))
                    want += term
                    size += abs(term)
                }
                // the products are exact in float; only the float sums round
                worst = max(worst, abs(Double(c[i * n + j]) - want) / max(1, size))
            }
        }
        #expect(worst < 1e-6, "\(m)×\(n)×\(k): \(worst)")
    }

    @Test("the policy: DDIM_PRECISION=bf16 asks for it; fp32 is the default and runs everywhere")
    func policy() {
        #expect(ConvPolicy().precision == .float32)
        #expect(ConvPolicy(environment: ["DDIM_PRECISION": "bf16"]).precision == .bf16)
        #expect(ConvPolicy(environment: ["DDIM_PRECISION": "fp16"]).precision == .float32)
        #expect(ConvPolicy.Precision.float32.supported && ConvPolicy.Precision.bf16.supported)
    }
}
