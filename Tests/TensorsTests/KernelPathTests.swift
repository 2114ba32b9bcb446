import CKernels
import Foundation
import Testing
import Tensors

/// The implementations of ddim's own kernels (dispatch.c): portable C, AVX2 + FMA, AVX-512.
/// Each path has its own tests below, run where this CPU can run it; where it cannot, the test
/// is skipped and says why (Swift Testing prints a skipped test with its comment), never passed
/// without running.
enum KernelPath {
    static let portable = Int32(DDIM_KERNELS_PORTABLE), avx2 = Int32(DDIM_KERNELS_AVX2), avx512 = Int32(DDIM_KERNELS_AVX512)
    static func supported(_ path: Int32) -> Bool { ddim_kernel_path_supported(path) != 0 }
    static func name(_ path: Int32) -> String { String(cString: ddim_kernel_path_name(path)) }
}

@Suite("Kernel paths: which one runs")
struct KernelDispatchTests {
    @Test("the path in use is one the CPU supports, portable always is, and the names are the switch's values")
    func dispatch() {
        #expect(KernelPath.supported(KernelPath.portable))
        #expect(KernelPath.supported(ddim_kernel_path()))
        #expect(!KernelPath.supported(KernelPath.avx512 + 1))
        // AVX-512 implies AVX2 here: the paths are ordered
        if KernelPath.supported(KernelPath.avx512) { #expect(KernelPath.supported(KernelPath.avx2)) }
        #expect([KernelPath.portable, KernelPath.avx2, KernelPath.avx512].map(KernelPath.name) == ["portable", "avx2", "avx512"])
        #expect(Threads.kernelPath == KernelPath.name(ddim_kernel_path()))
    }
}

/// The shapes every path's Winograd convolution is checked on: partial tiles at the right and
/// bottom edges, tile rows that do and do not divide a panel of 16, runs that end in a partial
/// group of lanes, the fused path and the three-loop path, odd and even input channels (the
/// AVX-512 kernel's two-step loop and its tail), and 1–11 blocks of 6 output channels (the
/// AVX-512 kernel takes 4, 3 + 2 for 5, then what is left).
let winogradPathShapes = [
    (tile: 2, batch: 2, cin: 5, cout: 4, h: 17, w: 15),  // partial tiles, 8 tiles a row
    (tile: 2, batch: 1, cin: 9, cout: 7, h: 8, w: 8),  // one panel of whole rows (4 tiles each)
    (tile: 2, batch: 3, cin: 4, cout: 6, h: 10, w: 10),  // 5 tiles a row: the row buffer
    (tile: 4, batch: 2, cin: 5, cout: 4, h: 17, w: 15),
    (tile: 4, batch: 1, cin: 6, cout: 13, h: 16, w: 16),  // 4 rows of 4 tiles in one panel
    (tile: 4, batch: 4, cin: 8, cout: 13, h: 9, w: 12),  // 3 tiles a row
    (tile: 4, batch: 2, cin: 16, cout: 8, h: 32, w: 32),  // fused panels of 2 rows of 8
    (tile: 4, batch: 1, cin: 3, cout: 5, h: 24, w: 24),  // 6 tiles a row, groups of 8 cross rows
    (tile: 2, batch: 2, cin: 7, cout: 30, h: 8, w: 8),  // 5 blocks: 3 + 2
    (tile: 4, batch: 2, cin: 12, cout: 40, h: 32, w: 32),  // fused, 7 blocks: 4 + 3
    (tile: 4, batch: 1, cin: 33, cout: 64, h: 16, w: 16),  // 11 blocks: 4 + 4 + 3
    (tile: 2, batch: 1, cin: 2, cout: 24, h: 6, w: 7),  // 4 blocks, kc 2
    // 8 tiles a row (AVX-512: F(4×4) window columns by permutes and whole output rows, two tile rows a group)
    (tile: 4, batch: 3, cin: 5, cout: 9, h: 28, w: 32),  // 7 tile rows: three loops, groups of one tile row
    (tile: 4, batch: 1, cin: 4, cout: 6, h: 13, w: 30),  // partial tiles at both edges
    // 4 tiles a row (AVX-512: four tile rows a group)
    (tile: 4, batch: 3, cin: 5, cout: 7, h: 12, w: 16),  // 3 tile rows: groups of 1–4 tile rows
    (tile: 4, batch: 2, cin: 3, cout: 8, h: 10, w: 14),  // partial tiles at both edges
    // tile rows of 2 and 4 whole panels (AVX2: transformed straight into the panels)
    (tile: 4, batch: 1, cin: 5, cout: 7, h: 8, w: 128),
    (tile: 2, batch: 2, cin: 3, cout: 6, h: 6, w: 64),
]

/// Each implementation of the Winograd transforms and GEMM kernel — AVX-512 (the input rows'
/// copy and prologue 16 lanes at a time, a 24 × 16 kernel), AVX2 (8 tiles at a time, 6 × 16),
/// portable row-wise C — against the definition of the convolution, on `winogradPathShapes`;
/// each with the weight's bias alone, with a bias per image plus a residual, and with those and
/// a prologue (a per-channel affine map and SiLU applied to the input as it is read).
@Suite("Winograd transforms and kernel: AVX-512, AVX2 and portable")
struct WinogradPathTests {
    @Test("the portable path equals the definition", arguments: winogradPathShapes)
    func portable(tile: Int, batch: Int, cin: Int, cout: Int, h: Int, w: Int) throws {
        try check(KernelPath.portable, tile: tile, batch: batch, cin: cin, cout: cout, h: h, w: w)
    }

    @Test("the AVX2 path equals the definition",
          .enabled(if: KernelPath.supported(KernelPath.avx2), "skipped: this CPU (or its OS) lacks AVX2 + FMA"),
          arguments: winogradPathShapes)
    func avx2(tile: Int, batch: Int, cin: Int, cout: Int, h: Int, w: Int) throws {
        try check(KernelPath.avx2, tile: tile, batch: batch, cin: cin, cout: cout, h: h, w: w)
    }

    @Test("the AVX-512 path equals the definition",
          .enabled(if: KernelPath.supported(KernelPath.avx512),
                   "skipped: this CPU (or its OS) lacks AVX-512 F/BW/DQ/VL or ZMM state"),
          arguments: winogradPathShapes)
    func avx512(tile: Int, batch: Int, cin: Int, cout: Int, h: Int, w: Int) throws {
        try check(KernelPath.avx512, tile: tile, batch: batch, cin: cin, cout: cout, h: h, w: w)
    }

    @Test("the default entry point runs the path in use and equals the definition", arguments: [winogradPathShapes[6]])
    func inUse(tile: Int, batch: Int, cin: Int, cout: Int, h: Int, w: Int) throws {
        try check(nil, tile: tile, batch: batch, cin: cin, cout: cout, h: h, w: w)
    }

    /// `path` nil: ddim_winograd_conv (the path in use); else ddim_winograd_conv_on(path).
    func check(_ path: Int32?, tile: Int, batch: Int, cin: Int, cout: Int, h: Int, w: Int) throws {
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
        do {
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
                                            guard let path else {
                                                return ddim_winograd_conv(xp.baseAddress, batch, cin, h, w, up.baseAddress,
                                                                          Int32(tile), cout, &prologue, &ep, yp.baseAddress)
                                            }
                                            return ddim_winograd_conv_on(path, xp.baseAddress, batch, cin, h, w, up.baseAddress,
                                                                         Int32(tile), cout, &prologue, &ep, yp.baseAddress)
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
                #expect(worst <= bound, """
                    path: \(path.map(KernelPath.name) ?? "in use"), terms: \(terms), prologue: \(pro), \
                    F(\(tile)×\(tile)), \(h)×\(w), \(cin) → \(cout): \(worst)
                    """)
            }
        }
    }
}

/// The shapes every path's attention core is checked on: token and head sizes that are not
/// multiples of the kernels' 6 × 16 block (partial panels of queries, partial blocks of keys and
/// dimensions), 1–43 blocks of 6 (the AVX-512 kernel's groups of 4 and what is left), one and
/// several panels a task, several images.
let attentionPathShapes = [
    (batch: 2, n: 100, heads: 3, d: 24, rows: 32),
    (batch: 1, n: 64, heads: 1, d: 64, rows: 16),
    (batch: 3, n: 9, heads: 2, d: 5, rows: 4),
    (batch: 1, n: 256, heads: 1, d: 64, rows: 32),  // the digits model's 16×16 attention
    (batch: 2, n: 40, heads: 2, d: 13, rows: 48),
    (batch: 1, n: 70, heads: 2, d: 256, rows: 32),  // cifar10-32's head size
    (batch: 1, n: 33, heads: 1, d: 30, rows: 16),  // 5 blocks of dimensions, a partial panel
]

/// The attention core (attention.c) on each path — the AVX-512 kernel and softmax, the AVX2
/// kernel, the portable C kernel — against the definition in double precision; the output
/// transposed per image (Oᵀ).
@Suite("Attention core: AVX-512, AVX2 and portable")
struct AttentionCoreTests {
    @Test("the portable path equals softmax(Q·Kᵀ/√d)·V", arguments: attentionPathShapes)
    func portable(batch: Int, n: Int, heads: Int, d: Int, rows: Int) {
        core(KernelPath.portable, batch: batch, n: n, heads: heads, d: d, rows: rows)
    }

    @Test("the AVX2 path equals softmax(Q·Kᵀ/√d)·V",
          .enabled(if: KernelPath.supported(KernelPath.avx2), "skipped: this CPU (or its OS) lacks AVX2 + FMA"),
          arguments: attentionPathShapes)
    func avx2(batch: Int, n: Int, heads: Int, d: Int, rows: Int) {
        core(KernelPath.avx2, batch: batch, n: n, heads: heads, d: d, rows: rows)
    }

    @Test("the AVX-512 path equals softmax(Q·Kᵀ/√d)·V",
          .enabled(if: KernelPath.supported(KernelPath.avx512),
                   "skipped: this CPU (or its OS) lacks AVX-512 F/BW/DQ/VL or ZMM state"),
          arguments: attentionPathShapes)
    func avx512(batch: Int, n: Int, heads: Int, d: Int, rows: Int) {
        core(KernelPath.avx512, batch: batch, n: n, heads: heads, d: d, rows: rows)
    }

    @Test("the default entry point and the portable one equal softmax(Q·Kᵀ/√d)·V", arguments: [attentionPathShapes[0]])
    func entryPoints(batch: Int, n: Int, heads: Int, d: Int, rows: Int) {
        core(nil, batch: batch, n: n, heads: heads, d: d, rows: rows)
        core(-1, batch: batch, n: n, heads: heads, d: d, rows: rows)
    }

    /// `path` nil: ddim_attention (the path in use); −1: ddim_attention_portable; else ddim_attention_on(path).
    func core(_ path: Int32?, batch: Int, n: Int, heads: Int, d: Int, rows: Int) {
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
        // the core reads them channel-major: per image [Qᵀ; Kᵀ; Vᵀ], 3·inner rows of n
        var channelMajor = [Float](repeating: .nan, count: qkv.count)
        for b in 0..<batch { for i in 0..<n { for c in 0..<width {
            channelMajor[(b * width + c) * n + i] = qkv[(b * n + i) * width + c]
        } } }
        var o = [Float](repeating: .nan, count: want.count)
        let status = channelMajor.withUnsafeBufferPointer { q in
            o.withUnsafeMutableBufferPointer { op in
                switch path {
                case nil: ddim_attention(q.baseAddress, batch, n, heads, d, rows, op.baseAddress)
                case -1: ddim_attention_portable(q.baseAddress, batch, n, heads, d, rows, op.baseAddress)
                case let path?: ddim_attention_on(path, q.baseAddress, batch, n, heads, d, rows, op.baseAddress)
                }
            }
        }
        #expect(status == 0)
        let worst = zip(o, want).map { abs($0 - $1) }.max() ?? .nan
        #expect(worst <= 1e-5, "path \(path.map { $0 < 0 ? "portable entry" : KernelPath.name($0) } ?? "in use"), n \(n), d \(d): \(worst)")
    }
}

/// The GEMM on weights packed at load (1×1 convolutions, im2col), on every kernel path, against
/// a double-precision product: odd sizes (rows not a multiple of 6, columns not of 16), strides,
/// with and without a bias, and a 16-column GEMM split into row groups over the pool.
@Suite("Packed-weight GEMM")
struct PackedGEMMTests {
    @Test("C = A·B + bias on every path, within 1e-6 of Σ|terms|", arguments: [
        (13, 37, 5), (64, 16, 288), (256, 16, 2304), (7, 1, 3), (32, 1024, 64), (100, 49, 130),
    ])
    func matchesProduct(m: Int, n: Int, k: Int) throws {
        let a = randomTensor([m, k], seed: UInt64(m + k)).data, b = randomTensor([k, n + 3], seed: UInt64(n)).data
        let bias = randomTensor([m], seed: 5).data
        var packed = [Float](repeating: .nan, count: ddim_gemm_packed_count(m, k))
        ddim_gemm_pack_weights(a, m, k, &packed)
        for path in [KernelPath.portable, KernelPath.avx2, KernelPath.avx512] where KernelPath.supported(path) {
            for withBias in [false, true] {
                // C with a row stride wider than n, its extra columns to stay as they were
                let ldc = n + 5
                var c = [Float](repeating: 7, count: m * ldc)
                let status = withBias ? ddim_gemm_packed_on(path, packed, m, k, b, n, n + 3, &c, ldc, bias)
                                      : ddim_gemm_packed_on(path, packed, m, k, b, n, n + 3, &c, ldc, nil)
                #expect(status == 0)
                var worst = 0.0
                for i in 0..<m {
                    for j in 0..<n {
                        var want = withBias ? Double(bias[i]) : 0, size = abs(want)
                        for p in 0..<k {
                            let term = Double(a[i * k + p]) * Double(b[p * (n + 3) + j])
                            want += term
                            size += abs(term)
                        }
                        // float32 sums: the error relative to Σ|terms| (a few ulps times √k at worst)
                        worst = max(worst, abs(Double(c[i * ldc + j]) - want) / max(1, size))
                    }
                    for j in n..<ldc { #expect(c[i * ldc + j] == 7, "column \(j) past n written") }
                }
                #expect(worst < 1e-6, "path \(path), \(m)×\(n)×\(k), bias \(withBias): \(worst)")
            }
        }
    }

    @Test("a convolution through it equals the same through OpenBLAS: 1×1 and im2col (stride 2, 5×5)")
    func convolutions() throws {
        for (kernel, stride, pad, size) in [(1, 1, 0, 9), (3, 2, 1, 11), (5, 1, 2, 4)] {
            let x = randomTensor([2, 12, size, size], seed: 9), wt = randomTensor([10, 12, kernel, kernel], seed: 10)
            let bias = randomTensor([10], seed: 11)
            let packed = ConvWeight(weight: wt, bias: bias, winograd: nil, packGEMM: true)
            let plain = ConvWeight(weight: wt, bias: bias, winograd: nil, packGEMM: false)
            #expect(packed.gemmPacked != nil && plain.gemmPacked == nil)
            let one = conv2d(x, packed, stride: stride, padding: Padding(pad))
            let two = conv2d(x, plain, stride: stride, padding: Padding(pad))
            #expect(one.maxAbsDifference(two) < 1e-4, "k \(kernel) s \(stride): \(one.maxAbsDifference(two))")
            #expect(one.maxAbsDifference(naiveConv(x, wt, bias, stride: stride, padding: Padding(pad))) < 1e-4)
        }
    }
}
