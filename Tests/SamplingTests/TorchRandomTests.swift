import Foundation
import Sampling
import Tensors
import Testing

/// `TorchRandom` against `randn.json`: values drawn by real torch (CPU, AVX2), seeds including
/// ≥ 2³² and ≥ 2⁶³, successive draws of sizes below, at and above 16 from one generator.
@Suite struct TorchRandomTests {
    static let fixture: RandnFixture? = try? Fixtures.load(RandnFixture.self, "randn.json")

    @Test func mt19937FirstOutputs() throws {
        let fixture = try #require(Self.fixture, "randn.json missing or unreadable")
        for c in fixture.cases {
            var g = TorchRandom(seed: c.seed)
            #expect((0..<c.mt19937_first.count).map { _ in g.nextUInt32() } == c.mt19937_first, "seed \(c.seed)")
        }
    }

    /// Bit-exact with the AVX2 kernel (tolerance 0).
    @Test func drawsAreBitExact() throws {
        let fixture = try #require(Self.fixture, "randn.json missing or unreadable")
        #expect(fixture.cases.contains { $0.seed >= 1 << 32 })
        for c in fixture.cases {
            var g = TorchRandom(seed: c.seed)
            for (k, draw) in c.draws.enumerated() {
                let x = g.normal(shape: draw.shape)
                #expect(x.shape == draw.shape)
                let expected = draw.values.map { Float($0) }
                let mismatches = zip(x.data, expected).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(mismatches == 0, "seed \(c.seed) draw \(k) shape \(draw.shape): \(mismatches) values differ")
            }
        }
    }

    /// The portable kernel (libm) gives the same numbers to within a few float ulps.
    @Test func libmKernelIsClose() throws {
        let fixture = try #require(Self.fixture, "randn.json missing or unreadable")
        var worst = 0.0
        for c in fixture.cases {
            var g = TorchRandom(seed: c.seed, kernel: .libm)
            for draw in c.draws {
                worst = max(worst, maxAbsDiff(g.normal(shape: draw.shape).data, draw.values))
            }
        }
        #expect(worst <= 2e-6, "libm kernel differs by \(worst)")
    }

    /// Only the low 32 bits of the seed reach the engine, as in torch.
    @Test func seedUsesLow32Bits() {
        var a = TorchRandom(seed: 7)
        var b = TorchRandom(seed: (1 << 32) + 7)
        #expect(a.normal(count: 40) == b.normal(count: 40))
    }

    /// The scalar path caches the second normal of a pair across calls.
    @Test func scalarCacheSpansCalls() {
        var a = TorchRandom(seed: 3)
        let pair = a.normal(count: 2)
        var b = TorchRandom(seed: 3)
        let first = b.normal(count: 1)
        _ = b.normal(count: 20)  // the vector path leaves the cache alone
        let second = b.normal(count: 1)
        #expect(first + second == pair)
    }

    @Test func largeDrawIsFast() {
        var g = TorchRandom(seed: 0)
        let clock = ContinuousClock()
        let start = clock.now
        let x = g.normal(shape: [4, 3, 256, 256])
        let elapsed = clock.now - start
        #expect(x.count == 786_432)
        let mean = x.data.reduce(0, +) / Float(x.count)
        let variance = x.data.reduce(0) { $0 + $1 * $1 } / Float(x.count)
        #expect(abs(mean) < 0.01 && abs(variance - 1) < 0.01)
        #expect(elapsed < .seconds(1), "took \(elapsed)")
    }

    /// Each item of a `PerSampleNoise` batch is its own generator's `[1, …]` draw, whatever the batch.
    @Test func perSampleNoise() {
        var batch = PerSampleNoise(seeds: [11, 12, 13])
        let x = batch.normal(shape: [3, 2, 4, 4])
        for (i, seed) in [UInt64(11), 12, 13].enumerated() {
            var single = TorchRandom(seed: seed)
            #expect(x.slice(i) == single.normal(shape: [1, 2, 4, 4]))
        }
        var smaller = PerSampleNoise(firstSeed: 11, count: 1)
        #expect(smaller.normal(shape: [1, 2, 4, 4]) == x.slice(0))
        #expect(batch.seeds == [11, 12, 13])
    }
}
