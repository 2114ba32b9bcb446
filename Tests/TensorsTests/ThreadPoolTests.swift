import Dispatch
import Testing
import Tensors

/// ddim's thread pool: GEMMs split into bands and Winograd convolutions give the same numbers
/// on 1, 2 and 3 threads (more threads than this machine's cores included), and callers on
/// several threads at once (which the pool serialises) still get their own results.
@Suite(.serialized)
struct ThreadPoolTests {
    /// C = op(A)·op(B) by the definition, in Double.
    func naiveGEMM(m: Int, n: Int, k: Int, _ a: [Float], transposeA: Bool, _ b: [Float], transposeB: Bool) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for p in 0..<k {
                let av = transposeA ? a[p * m + i] : a[i * k + p]
                let bv = transposeB ? b[j * k + p] : b[p * n + j]
                s += Double(av) * Double(bv)
            }
            c[i * n + j] = Float(s)
        } }
        return c
    }

    @Test("gemm split over the pool equals the definition: bands of rows and of columns, every transpose", arguments: [
        (m: 96, n: 70, k: 64), // rows: 96 ≥ 70
        (m: 5, n: 300, k: 200), // columns
        (m: 37, n: 37, k: 300), // rows, a partial band
        (m: 1, n: 600, k: 500), // one row (a matrix-vector product), in bands of columns
        (m: 1, n: 40, k: 30), // one row, too small to split
    ])
    func gemmSplit(m: Int, n: Int, k: Int) {
        let before = Threads.current
        defer { Threads.set(before) }
        let a = randomTensor([m * k], seed: 70).data, b = randomTensor([k * n], seed: 71).data
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let want = naiveGEMM(m: m, n: n, k: k, a, transposeA: ta, b, transposeB: tb)
            for threads in [1, 2, 3] {
                Threads.set(threads)
                #expect(Threads.current == threads)
                var c = [Float](repeating: .nan, count: m * n)
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        c.withUnsafeMutableBufferPointer { cp in
                            gemm(m: m, n: n, k: k, ap.baseAddress!, lda: ta ? m : k, transposeA: ta,
                                 bp.baseAddress!, ldb: tb ? k : n, transposeB: tb, cp.baseAddress!, ldc: n)
                        }
                    }
                }
                let worst = zip(c, want).map { abs($0 - $1) }.max() ?? .nan
                #expect(worst <= 1e-4, "threads \(threads), transposes \(ta) \(tb): \(worst)")
            }
        }
    }

    @Test("a Winograd convolution is the same on 1, 2 and 3 threads, and from four callers at once")
    func winogradThreads() {
        let before = Threads.current
        defer { Threads.set(before) }
        let x = randomTensor([3, 40, 20, 18], seed: 72)
        let wt = randomTensor([13, 40, 3, 3], seed: 73), bias = randomTensor([13], seed: 74)
        let weight = ConvWeight(weight: wt, bias: bias)
        let want = naiveConv(x, wt, bias, stride: 1, padding: Padding(1))
        var outputs: [Tensor] = []
        for threads in [1, 2, 3] {
            Threads.set(threads)
            outputs.append(conv2d(x, weight, padding: Padding(1)))
        }
        for got in outputs { #expect(got.maxAbsDifference(want) <= 1e-4) }
        // the tasks are the same whatever thread runs them: bit-identical
        #expect(outputs[0].data == outputs[1].data && outputs[1].data == outputs[2].data)
        Threads.set(before)
        let results = Results(count: 4)
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            results.set(i, conv2d(x, weight, padding: Padding(1)))
        }
        for i in 0..<4 { #expect(results.get(i)?.data == outputs[0].data) }
    }

    @Test("many small loops back to back: every index of every loop runs exactly once, on 2 and 3 threads")
    func everyTaskOnce() {
        let before = Threads.current
        defer { Threads.set(before) }
        for threads in [2, 3] {
            Threads.set(threads)
            let counts = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
            defer { counts.deallocate() }
            var wrong = 0
            for loop in 0..<50_000 {
                let n = 2 + loop % 60
                counts.initialize(repeating: 0, count: 64)
                // each task marks its own slot: a task run twice, or run for another loop, shows
                parallelFor(n) { i in counts[i] &+= 1 }
                for i in 0..<64 where counts[i] != (i < n ? 1 : 0) { wrong += 1 }
            }
            #expect(wrong == 0, "\(threads) threads: \(wrong) slots wrong")
        }
    }

    @Test("F(4×4) on 16×16 maps: one panel per image, fused on 1 thread, three loops on 2 and 3 — the same numbers")
    func fusedAndThreeLoops() {
        let before = Threads.current
        defer { Threads.set(before) }
        // two panels: the fused path needs at least two per thread
        let x = randomTensor([2, 24, 16, 16], seed: 75)
        let wt = randomTensor([10, 24, 3, 3], seed: 76), bias = randomTensor([10], seed: 77)
        let weight = ConvWeight(weight: wt, bias: bias, winograd: .f4x4)
        let want = naiveConv(x, wt, bias, stride: 1, padding: Padding(1))
        var outputs: [Tensor] = []
        for threads in [1, 2, 3] {
            Threads.set(threads)
            outputs.append(conv2d(x, weight, padding: Padding(1)))
        }
        for got in outputs { #expect(got.maxAbsDifference(want) <= 1e-4) }
        // the same transforms, kernel and order of sums either way
        #expect(outputs[0].data == outputs[1].data && outputs[1].data == outputs[2].data)
    }
}

/// Tensors written by concurrent callers, one slot each.
final class Results: @unchecked Sendable {
    private var slots: [Tensor?]
    private let lock = DispatchQueue(label: "results")
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ t: Tensor) { lock.sync { slots[i] = t } }
    func get(_ i: Int) -> Tensor? { lock.sync { slots[i] } }
}
