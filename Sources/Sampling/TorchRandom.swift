import Foundation
import Tensors

/// Reproduces `torch.manual_seed(seed); torch.randn(shape)` (float32, CPU), draw after draw.
///
/// torch's algorithm (aten `normal_kernel`, `CPUGeneratorImpl`):
/// - mt19937 seeded with the low 32 bits of the seed;
/// - a float uniform is (32-bit output & (2²⁴ − 1))·2⁻²⁴; a double uniform is
///   (((hi ≪ 32) | lo) & (2⁵³ − 1))·2⁻⁵³ from two outputs, the first one high;
/// - **numel ≥ 16**: numel float uniforms are drawn, then each block of 16 is turned into
///   normals by Box–Muller over the pairs (i, i + 8): u₁ = 1 − uᵢ, u₂ = uᵢ₊₈,
///   r = √(−2 ln u₁), θ = 2π·u₂, xᵢ = r·cos θ, xᵢ₊₈ = r·sin θ, all in float (see
///   ``BoxMullerKernel`` for the two ways torch evaluates them). If numel is not a multiple of 16,
///   16 more uniforms are drawn and the last 16 values are redone from them.
/// - **numel < 16**: each value comes from a double Box–Muller on two double uniforms u₁, u₂:
///   r = √(−2 ln(1 − u₂)), θ = 2π·u₁ in double, returns r·cos θ and caches r·sin θ in the generator for
///   the next scalar normal (the cache survives across `randn` calls; seeding clears it).
///
/// With the default ``BoxMullerKernel/avx2`` the values are bit-identical to torch on an x86-64
/// CPU with AVX2 (checked against `Tests/Fixtures/randn.json`).
public struct TorchRandom: NoiseSource, Sendable {
    /// The seed given to ``init(seed:)``.
    public let seed: UInt64
    private var engine: MersenneTwister
    private var cachedNormal: Double?

    /// The Box–Muller kernel used for draws of ≥ 16 values.
    public let kernel: BoxMullerKernel

    /// The state of `torch.manual_seed(seed)`, drawing as torch's `kernel` does.
    public init(seed: UInt64, kernel: BoxMullerKernel = .avx2) {
        self.seed = seed
        self.kernel = kernel
        engine = MersenneTwister(seed: UInt32(truncatingIfNeeded: seed))
    }

    /// The next raw 32-bit output of the mt19937 engine.
    public mutating func nextUInt32() -> UInt32 { engine.next() }

    /// A float uniform in [0, 1) from 24 random bits (torch's `uniform_real_distribution<float>`).
    mutating func nextFloat() -> Float {
        Float(engine.next() & 0xff_ffff) * 0x1p-24
    }

    /// A double uniform in [0, 1) from 53 random bits (torch's `uniform_real_distribution<double>`).
    mutating func nextDouble() -> Double {
        let hi = UInt64(engine.next())
        let lo = UInt64(engine.next())
        return Double(((hi << 32) | lo) & ((1 << 53) - 1)) * 0x1p-53
    }

    /// One normal from torch's scalar path (`at::normal_distribution<double>`), with its cache.
    mutating func nextScalarNormal() -> Double {
        if let cached = cachedNormal {
            cachedNormal = nil
            return cached
        }
        let u1 = nextDouble()
        let u2 = nextDouble()
        // r = √(−2 ln(1 − u₂)) (torch ≥ 2.1 writes log1p(−u₂))
        let r = (-2 * log1p(-u2)).squareRoot()
        let theta = 2 * Double.pi * u1
        cachedNormal = r * sin(theta)
        return r * cos(theta)
    }

    /// `torch.randn(shape)`: standard normals in row-major order.
    public mutating func normal(shape: [Int]) -> Tensor {
        Tensor(shape: shape, data: normal(count: shape.reduce(1, *)))
    }

    /// `count` standard normals, as `torch.randn(count)` would give them.
    public mutating func normal(count: Int) -> [Float] {
        guard count >= 16 else {
            return (0..<count).map { _ in Float(nextScalarNormal()) }
        }
        var data = [Float](repeating: 0, count: count)
        data.withUnsafeMutableBufferPointer { data in
            guard let base = data.baseAddress else { return }
            for i in 0..<count { data[i] = nextFloat() }
            for block in stride(from: 0, through: count - 16, by: 16) {
                Self.boxMuller16(base + block, kernel: kernel)
            }
            if count % 16 != 0 {
                // torch redraws the last 16 uniforms and transforms them again.
                let tail = base + (count - 16)
                for j in 0..<16 { tail[j] = nextFloat() }
                Self.boxMuller16(tail, kernel: kernel)
            }
        }
        return data
    }
}
