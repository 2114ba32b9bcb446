import CKernels
import Foundation
import Testing
import Tensors

/// Deterministic pseudo-random values in [−1, 1) (a 64-bit LCG), so failures reproduce.
func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    let n = shape.reduce(1, *)
    var data = [Float](repeating: 0, count: n)
    for i in 0..<n {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        data[i] = Float(state >> 40) / Float(1 << 23) - 1
    }
    return Tensor(shape: shape, data: data)
}

/// The definition of a 2-D convolution, one output at a time.
func naiveConv(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, stride: Int, padding p: Padding) -> Tensor {
    let (b, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (cout, k) = (w.shape[0], w.shape[2])
    let ho = (h + p.top + p.bottom - k) / stride + 1, wo = (wd + p.left + p.right - k) / stride + 1
    var out = Tensor(shape: [b, cout, ho, wo])
    for n in 0..<b { for o in 0..<cout { for oy in 0..<ho { for ox in 0..<wo {
        var s = Double(bias?.data[o] ?? 0)
        for c in 0..<cin { for i in 0..<k { for j in 0..<k {
            let iy = oy * stride + i - p.top, ix = ox * stride + j - p.left
            guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
            s += Double(x.data[((n * cin + c) * h + iy) * wd + ix]) * Double(w.data[((o * cin + c) * k + i) * k + j])
        } } }
        out.data[((n * cout + o) * ho + oy) * wo + ox] = Float(s)
    } } } }
    return out
}

@Suite("Kernels against naive loops")
struct KernelTests {
    @Test("conv2d", arguments: [
        (k: 3, stride: 1, padding: Padding(1), h: 7, w: 5),
        (k: 3, stride: 2, padding: Padding(1), h: 8, w: 8),
        (k: 3, stride: 2, padding: Padding(top: 0, left: 0, bottom: 1, right: 1), h: 8, w: 6),
        (k: 1, stride: 1, padding: Padding(0), h: 4, w: 3),
        (k: 3, stride: 1, padding: Padding(0), h: 6, w: 6),
    ])
    func conv(k: Int, stride: Int, padding: Padding, h: Int, w: Int) {
        let x = randomTensor([2, 5, h, w], seed: 1)
        let wt = randomTensor([4, 5, k, k], seed: 2)
        let bias = randomTensor([4], seed: 3)
        let got = conv2d(x, ConvWeight(weight: wt, bias: bias), stride: stride, padding: padding)
        let want = naiveConv(x, wt, bias, stride: stride, padding: padding)
        #expect(got.shape == want.shape)
        #expect(got.maxAbsDifference(want) <= 1e-5)
    }

    @Test("conv2d in bands of rows gives the same result as in one piece")
    func convBands() {
        // 600 input channels × 9 × 40 wide rows exceeds the band budget, so the loop tiles.
        let x = randomTensor([1, 600, 40, 40], seed: 4)
        let wt = randomTensor([2, 600, 3, 3], seed: 5)
        let got = conv2d(x, ConvWeight(weight: wt, bias: nil), padding: Padding(1))
        let want = naiveConv(x, wt, nil, stride: 1, padding: Padding(1))
        #expect(got.maxAbsDifference(want) <= 1e-3)
    }

    @Test("conv2d over a batch in groups of images (3 + 2 here) equals the per-image definition")
    func convGroups() {
        // 150 channels × 9 × 32×32 ≈ 1.4 M floats per image: three images per GEMM.
        let x = randomTensor([5, 150, 32, 32], seed: 40)
        let wt = randomTensor([2, 150, 3, 3], seed: 41), bias = randomTensor([2], seed: 42)
        let got = conv2d(x, ConvWeight(weight: wt, bias: bias), padding: Padding(1))
        let want = naiveConv(x, wt, bias, stride: 1, padding: Padding(1))
        #expect(got.maxAbsDifference(want) <= 1e-3)
    }

    @Test("Winograd F(2×2, 3×3) equals the definition: odd and even sizes, with and without bias", arguments: [
        (batch: 2, cin: 5, cout: 4, h: 17, w: 15, bias: true),
        (batch: 1, cin: 3, cout: 7, h: 16, w: 16, bias: false),
        (batch: 4, cin: 8, cout: 2, h: 9, w: 12, bias: true),
    ])
    func winograd(batch: Int, cin: Int, cout: Int, h: Int, w: Int, bias: Bool) {
        let x = randomTensor([batch, cin, h, w], seed: 50)
        let wt = randomTensor([cout, cin, 3, 3], seed: 51)
        let b = bias ? randomTensor([cout], seed: 52) : nil
        let weight = ConvWeight(weight: wt, bias: b)
        // 16 planes, output channels padded to the kernel's blocks of 6
        #expect(weight.winograd?.count == 16 * ((cout + 5) / 6 * 6) * cin)
        // enough 2×2 tiles for the Winograd path
        #expect(batch * ((h + 1) / 2) * ((w + 1) / 2) >= ConvolutionAlgorithm.winogradMinTiles)
        let got = conv2d(x, weight, padding: Padding(1))
        let want = naiveConv(x, wt, b, stride: 1, padding: Padding(1))
        #expect(got.shape == want.shape)
        #expect(got.maxAbsDifference(want) <= 1e-5)
        // and the plain path (no Winograd planes) agrees with both
        let plain = conv2d(x, ConvWeight(weight: wt, bias: b, winograd: nil), padding: Padding(1))
        #expect(plain.maxAbsDifference(got) <= 1e-5)
    }

    @Test("Winograd F(4×4, 3×3) equals the definition: sizes that are not multiples of 4, partial tile panels", arguments: [
        (batch: 2, cin: 5, cout: 4, h: 17, w: 15, bias: true),
        (batch: 1, cin: 3, cout: 7, h: 16, w: 16, bias: false),
        (batch: 4, cin: 8, cout: 13, h: 9, w: 12, bias: true),
        (batch: 1, cin: 64, cout: 32, h: 32, w: 32, bias: true),
    ])
    func winograd4(batch: Int, cin: Int, cout: Int, h: Int, w: Int, bias: Bool) {
        let x = randomTensor([batch, cin, h, w], seed: 57)
        let wt = randomTensor([cout, cin, 3, 3], seed: 58)
        let b = bias ? randomTensor([cout], seed: 59) : nil
        let weight = ConvWeight(weight: wt, bias: b, winograd: .f4x4)
        #expect(weight.winogradTile == .f4x4)
        #expect(weight.winograd?.count == 36 * ((cout + 5) / 6 * 6) * cin)
        #expect(batch * ((h + 3) / 4) * ((w + 3) / 4) >= ConvolutionAlgorithm.winogradMinTiles)
        let got = conv2d(x, weight, padding: Padding(1))
        let want = naiveConv(x, wt, b, stride: 1, padding: Padding(1))
        #expect(got.shape == want.shape)
        // the larger transform constants: ~1e-6 per unit of output here against ~1e-7 for F(2×2)
        let scale = max(1, want.data.map { abs($0) }.max() ?? 1)
        #expect(got.maxAbsDifference(want) <= 2e-5 * scale)
    }

    @Test("weights dropped after the Winograd planes are made come back from them, and im2col runs on those", arguments: [
        WinogradTile.f2x2, .f4x4,
    ])
    func recoveredWeights(tile: WinogradTile) {
        let wt = randomTensor([7, 5, 3, 3], seed: 85), b = randomTensor([7], seed: 86)
        let lean = ConvWeight(weight: wt, bias: b, winograd: tile, keepWeights: false)
        #expect(!lean.keepsWeights)
        #expect(ConvWeight(weight: wt, bias: b, winograd: tile).keepsWeights)
        #expect(ConvWeight(weight: wt, bias: b, winograd: nil, keepWeights: false).keepsWeights)  // no planes: kept
        let worst = zip(lean.unpackedWeights(), wt.data).map { abs($0 - $1) }.max() ?? .nan
        #expect(worst <= 1e-6, "\(worst)")
        // a 3×3 map at batch 1 has too few tiles for Winograd: im2col, on the recovered weights
        let x = randomTensor([1, 5, 3, 3], seed: 87)
        #expect(1 * ((3 + tile.rawValue - 1) / tile.rawValue) * ((3 + tile.rawValue - 1) / tile.rawValue) < ConvolutionAlgorithm.winogradMinTiles)
        let got = conv2d(x, lean, padding: Padding(1))
        #expect(got.maxAbsDifference(naiveConv(x, wt, b, stride: 1, padding: Padding(1))) <= 1e-5)
    }

    @Test("conv2d adds a bias per image and a residual, by Winograd and by im2col alike")
    func convEpilogue() {
        let x = randomTensor([3, 6, 12, 12], seed: 80)
        let wt = randomTensor([5, 6, 3, 3], seed: 81), b = randomTensor([5], seed: 82)
        let imageBias = randomTensor([3, 5], seed: 83), residual = randomTensor([3, 5, 12, 12], seed: 84)
        var want = naiveConv(x, wt, b, stride: 1, padding: Padding(1))
        for i in 0..<want.count { want.data[i] += imageBias.data[i / 144] + residual.data[i] }
        for tile in [WinogradTile.f2x2, .f4x4, nil] {
            let got = conv2d(x, ConvWeight(weight: wt, bias: b, winograd: tile), padding: Padding(1),
                             imageBias: imageBias, residual: residual)
            #expect(got.maxAbsDifference(want) <= 1e-4, "\(String(describing: tile))")
        }
    }

    @Test("Winograd F(4×4, 3×3) in bands of tile rows and in chunks of images equals the definition")
    func winograd4Chunks() {
        // 300 channels: 2 M floats / (36 × 300) = 194 tiles per chunk; a 60×60 image has 225
        // (15 tiles a row, which does not divide a panel of 16: the three-loop path, in bands)
        let big = randomTensor([2, 300, 60, 60], seed: 60)
        let wt = randomTensor([3, 300, 3, 3], seed: 61), bias = randomTensor([3], seed: 62)
        let weight = ConvWeight(weight: wt, bias: bias, winograd: .f4x4)
        let got = conv2d(big, weight, padding: Padding(1))
        #expect(got.maxAbsDifference(naiveConv(big, wt, bias, stride: 1, padding: Padding(1))) <= 2e-3)
        // 20×20 images (25 tiles) with 300 channels: seven images per chunk, 9 = 7 + 2
        let many = randomTensor([9, 300, 20, 20], seed: 63)
        let got2 = conv2d(many, weight, padding: Padding(1))
        #expect(got2.maxAbsDifference(naiveConv(many, wt, bias, stride: 1, padding: Padding(1))) <= 2e-3)
    }

    @Test("Winograd in bands of tile rows (a large image) and in chunks of images equals the definition")
    func winogradChunks() {
        // 300 channels: 2 M floats / (16 × 300) = 436 tiles per chunk; a 48×48 image has 576 tiles
        let big = randomTensor([2, 300, 48, 48], seed: 53)
        let wt = randomTensor([3, 300, 3, 3], seed: 54), bias = randomTensor([3], seed: 55)
        let got = conv2d(big, ConvWeight(weight: wt, bias: bias), padding: Padding(1))
        #expect(got.maxAbsDifference(naiveConv(big, wt, bias, stride: 1, padding: Padding(1))) <= 1e-3)
        // 20×20 images (100 tiles) with 300 channels: four images per chunk, 7 = 4 + 3
        let many = randomTensor([7, 300, 20, 20], seed: 56)
        let got2 = conv2d(many, ConvWeight(weight: wt, bias: bias), padding: Padding(1))
        #expect(got2.maxAbsDifference(naiveConv(many, wt, bias, stride: 1, padding: Padding(1))) <= 1e-3)
    }

    @Test("group norm with and without SiLU")
    func norm() {
        let x = randomTensor([2, 6, 3, 4], seed: 6)
        let gamma = randomTensor([6], seed: 7).data, beta = randomTensor([6], seed: 8).data
        for fuse in [false, true] {
            let got = groupNorm(x, groups: 3, gamma: gamma, beta: beta, eps: 1e-6, silu: fuse)
            for b in 0..<2 { for g in 0..<3 {
                let idx = (0..<24).map { (b * 6 + g * 2) * 12 + $0 }
                let vals = idx.map { Double(x.data[$0]) }
                let mean = vals.reduce(0, +) / 24
                let variance = vals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 24
                for (n, i) in idx.enumerated() {
                    let c = g * 2 + n / 12
                    var y = (vals[n] - mean) / (variance + 1e-6).squareRoot() * Double(gamma[c]) + Double(beta[c])
                    if fuse { y = y / (1 + exp(-y)) }
                    #expect(abs(Double(got.data[i]) - y) <= 1e-5)
                }
            } }
        }
    }

    @Test("linear")
    func dense() {
        let x = randomTensor([3, 5], seed: 9), w = randomTensor([4, 5], seed: 10), b = randomTensor([4], seed: 11)
        let got = linear(x, LinearWeight(weight: w, bias: b))
        for r in 0..<3 { for o in 0..<4 {
            let s = (0..<5).reduce(b.data[o]) { $0 + x.data[r * 5 + $1] * w.data[o * 5 + $1] }
            #expect(abs(got.data[r * 4 + o] - s) <= 1e-5)
        } }
    }

    @Test("multi-head self-attention with residual", arguments: [1, 2, 4])
    func attention(heads: Int) {
        let (b, c, n) = (2, 8, 6)  // (B, C, H·W) with H·W = 2×3
        let h = randomTensor([b, c, 2, 3], seed: 12), res = randomTensor([b, c, 2, 3], seed: 13)
        let ws = (0..<4).map { randomTensor([c, c], seed: 20 + UInt64($0)) }
        let bs = (0..<4).map { randomTensor([c], seed: 30 + UInt64($0)) }
        let lw = (0..<4).map { LinearWeight(weight: ws[$0], bias: bs[$0]) }
        let got = selfAttention(h, residual: res, AttentionWeights(query: lw[0], key: lw[1], value: lw[2], output: lw[3], heads: heads))
        let d = c / heads
        for s in 0..<b {
            // tokens X[i][ch] = h[s, ch, i]
            func proj(_ k: Int) -> [[Double]] {
                (0..<n).map { i in (0..<c).map { o in
                    (0..<c).reduce(Double(bs[k].data[o])) { $0 + Double(h.data[(s * c + $1) * n + i]) * Double(ws[k].data[o * c + $1]) }
                } }
            }
            let (q, k, v) = (proj(0), proj(1), proj(2))
            var o = [[Double]](repeating: [Double](repeating: 0, count: c), count: n)
            for hd in 0..<heads { for i in 0..<n {
                let sc = (0..<n).map { j in (0..<d).reduce(0.0) { $0 + q[i][hd * d + $1] * k[j][hd * d + $1] } / Double(d).squareRoot() }
                let m = sc.max() ?? 0
                let e = sc.map { exp($0 - m) }, z = e.reduce(0, +)
                for dd in 0..<d { o[i][hd * d + dd] = (0..<n).reduce(0.0) { $0 + e[$1] / z * v[$1][hd * d + dd] } }
            } }
            for ch in 0..<c { for i in 0..<n {
                let y = (0..<c).reduce(Double(bs[3].data[ch])) { $0 + o[i][$1] * Double(ws[3].data[ch * c + $1]) }
                let want = y + Double(res.data[(s * c + ch) * n + i])
                #expect(abs(Double(got.data[(s * c + ch) * n + i]) - want) <= 1e-5)
            } }
        }
    }

    @Test("nearest upsampling and channel concatenation")
    func shapes() {
        let x = randomTensor([1, 2, 2, 3], seed: 14)
        let up = upsampleNearest2x(x)
        #expect(up.shape == [1, 2, 4, 6])
        for c in 0..<2 { for y in 0..<4 { for xx in 0..<6 {
            #expect(up.data[(c * 4 + y) * 6 + xx] == x.data[(c * 2 + y / 2) * 3 + xx / 2])
        } } }
        let a = randomTensor([2, 1, 2, 2], seed: 15), b = randomTensor([2, 3, 2, 2], seed: 16)
        let cat = concatChannels(a, b)
        #expect(cat.shape == [2, 4, 2, 2])
        #expect(Array(cat.data[16..<20]) == Array(a.data[4..<8]))
        #expect(Array(cat.data[20..<32]) == Array(b.data[12..<24]))
    }

    /// Large enough to be split over the pool in chunks that cut across images and channels.
    @Test("upsampling, concatenation and the element-wise adds in parallel chunks equal the plain loops")
    func chunked() {
        let x = randomTensor([3, 7, 40, 36], seed: 17)
        let up = upsampleNearest2x(x)
        var same = true
        for p in 0..<21 { for y in 0..<80 { for xx in 0..<72 {
            same = same && up.data[(p * 80 + y) * 72 + xx] == x.data[(p * 40 + y / 2) * 36 + xx / 2]
        } } }
        #expect(same)
        let a = randomTensor([3, 5, 33, 31], seed: 18), b = randomTensor([3, 7, 33, 31], seed: 19)
        let cat = concatChannels(a, b)
        let (na, nb) = (5 * 33 * 31, 7 * 33 * 31)
        var want: [Float] = []
        for i in 0..<3 {
            want += a.data[(i * na)..<((i + 1) * na)]
            want += b.data[(i * nb)..<((i + 1) * nb)]
        }
        #expect(cat.data == want)
        var sum = a
        sum.add(a)
        #expect(sum.data == a.data.map { $0 + $0 })
        let perChannel = randomTensor([3, 5], seed: 20)
        var shifted = a
        perChannel.data.withUnsafeBufferPointer { shifted.addPerChannel($0.baseAddress!) }
        #expect(shifted.data == a.data.indices.map { a.data[$0] + perChannel.data[$0 / (33 * 31)] })
    }

    /// The vectorised exponential behind SiLU and softmax (Cephes' expf in C) against double
    /// precision over the whole useful range: relative error ≤ 1e-6 (measured ~2e-7).
    @Test("SiLU and softmax with the kernels' exponential match double precision")
    func exponential() {
        let xs = (0..<2001).map { Float($0 - 1000) * 0.085 }  // −85 … 85, odd length for the scalar tail
        let got = silu(Tensor(shape: [xs.count], data: xs))
        for (i, x) in xs.enumerated() {
            let want = Double(x) / (1 + exp(-Double(x)))
            #expect(abs(Double(got.data[i]) - want) <= 1e-6 * max(1e-30, abs(want)) + 1e-37, "silu(\(x))")
        }
        var scores = (0..<37).map { Float($0) * 0.7 - 12 }
        let maximum = Double(scores.max() ?? 0)
        let total = scores.reduce(0.0) { $0 + exp(Double($1) - maximum) }
        let want = scores.map { exp(Double($0) - maximum) / total }
        // the attention core's softmax: 16 columns side by side, the scores in column 5
        var columns = [Float](repeating: 0, count: 37 * 16)
        for (t, v) in scores.enumerated() { columns[t * 16 + 5] = v }
        columns.withUnsafeMutableBufferPointer { ddim_softmax_columns16($0.baseAddress!, 37) }
        scores = (0..<37).map { columns[$0 * 16 + 5] }
        for (g, w) in zip(scores, want) { #expect(abs(Double(g) - w) <= 1e-6 * w + 1e-12) }
    }

    @Test("group norm over large groups (vector lanes and a tail)")
    func largeNorm() {
        let x = randomTensor([1, 4, 13, 11], seed: 9)
        let got = groupNorm(x, groups: 2, gamma: [1, 1, 1, 1], beta: [0, 0, 0, 0], eps: 1e-6, silu: true)
        let n = 2 * 13 * 11
        for g in 0..<2 {
            let vals = (0..<n).map { Double(x.data[g * n + $0]) }
            let mean = vals.reduce(0, +) / Double(n)
            let variance = vals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
            for k in 0..<n {
                let y = (vals[k] - mean) / (variance + 1e-6).squareRoot()
                #expect(abs(Double(got.data[g * n + k]) - y / (1 + exp(-y))) <= 1e-5)
            }
        }
    }
}
