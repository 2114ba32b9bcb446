import Foundation

/// Which of torch's Box–Muller kernels (for tensors of ≥ 16 elements) to reproduce.
///
/// Both draw the same uniforms; they differ in the last bits of some values (≈ 1e-6 at most).
public enum BoxMullerKernel: String, Sendable, CaseIterable {
    /// torch's x86-64 AVX2 kernel (`normal_fill_16_AVX2`), the one a Linux or Windows PC runs:
    /// θ = float(2π)·u₂ and avx_mathfun's Cephes `log256_ps`/`sincos256_ps` in float32, with
    /// the fused multiply-adds of the shipped build.
    case avx2
    /// torch's portable kernel (`normal_fill_16`, built where the AVX2 one is not, e.g. ARM):
    /// θ = float(2π·u₂) and the C library's float `log`/`cos`/`sin`, taken here as correctly
    /// rounded. Not checked against torch on such a machine; it stays within 2e-6 of ``avx2``.
    case libm
}

extension TorchRandom {
    /// torch's `normal_fill_16`: Box–Muller over the pairs (j, j + 8) of 16 uniforms, in place.
    static func boxMuller16(_ p: UnsafeMutablePointer<Float>, kernel: BoxMullerKernel) {
        for j in 0..<8 {
            // [0, 1) → (0, 1] for the logarithm
            let u1 = 1 - p[j]
            let u2 = p[j + 8]
            switch kernel {
            case .avx2:
                // r = √(−2 ln u₁), θ = 2π·u₂
                let radius = (-2 * Cephes.log(u1)).squareRoot()
                let theta = Cephes.twoPi * u2
                let (s, c) = Cephes.sincos(theta)
                p[j] = radius * c
                p[j + 8] = radius * s
            case .libm:
                let radius = (-2 * Float(Foundation.log(Double(u1)))).squareRoot()
                // torch: const float theta = 2.0f * c10::pi<double> * u2 (a double product, rounded)
                let theta = Float(2 * Double.pi * Double(u2))
                p[j] = radius * Float(Foundation.cos(Double(theta)))
                p[j + 8] = radius * Float(Foundation.sin(Double(theta)))
            }
        }
    }
}

/// avx_mathfun's single-precision Cephes `log` and `sincos`, one lane, with the FMA contractions
/// of torch's AVX2 build (`a.addingProduct(b, c)` is the fused a + b·c).
enum Cephes {
    static let twoPi = Float(2 * Double.pi)

    private static let minNormPos = Float(bitPattern: 0x0080_0000)
    private static let sqrtHalf = Float(0.707106781186547524 as Double)
    // Constants rounded decimal → double → float, as the verifying script does.
    /// log's polynomial p₀…p₈, highest power first.
    private static let logP = floats([7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
                                      1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
                                      3.3333331174e-1])
    private static let logQ1 = Float(-2.12194440e-4 as Double)
    private static let logQ2 = Float(0.693359375 as Double)

    /// The decimal constants rounded to double, then to float.
    private static func floats(_ values: [Double]) -> [Float] { values.map { Float($0) } }

    /// c₀·xⁿ + c₁·xⁿ⁻¹ + … + cₙ by Horner's rule, each step fused (y ← c_k + y·x), as avx_mathfun's
    /// chains of `_mm256_fmadd_ps`.
    private static func horner(_ c: [Float], _ x: Float) -> Float {
        var y = c[0]
        for k in 1..<c.count { y = c[k].addingProduct(y, x) }
        return y
    }

    /// `log256_ps` for x > 0.
    static func log(_ input: Float) -> Float {
        let bits = max(input, minNormPos).bitPattern
        var e = Float(Int32(bitPattern: bits >> 23) - 0x7f)
        // the mantissa, in [0.5, 1)
        var x = Float(bitPattern: (bits & ~0x7f80_0000) | Float(0.5).bitPattern)
        e += 1
        if x < sqrtHalf {
            e -= 1
            x = (x - 1) + x
        } else {
            x -= 1
        }
        let z = x * x
        var y = horner(logP, x)
        y *= x
        y = (e * logQ1).addingProduct(y, z)
        y = y.addingProduct(z, -0.5)
        x += y
        return x.addingProduct(e, logQ2)
    }

    private static let fourOverPi = Float(1.27323954473516 as Double)
    /// −π/4 in three parts, for the extended-precision reduction.
    private static let dp = floats([-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8])
    /// cos's and sin's polynomials in z = x², highest power first.
    private static let cosP = floats([2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2])
    private static let sinP = floats([-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1])

    /// `sincos256_ps`: (sin x, cos x).
    static func sincos(_ input: Float) -> (Float, Float) {
        var signSin = input.bitPattern & 0x8000_0000
        var x = abs(input)
        // the octant, rounded up to even
        var j = Int32(x * fourOverPi)
        j = (j + 1) & ~1
        let yq = Float(j)
        let swapSignSin = UInt32(bitPattern: (j & 4) << 29)
        let sinUsesSinPoly = (j & 2) == 0
        let signCos = UInt32(bitPattern: (~(j - 2) & 4) << 29)
        signSin ^= swapSignSin
        // extended-precision reduction x − yq·π/4
        for part in dp { x = x.addingProduct(yq, part) }
        let z = x * x
        var yc = horner(cosP, z)
        yc *= z
        yc = (-(z * 0.5)).addingProduct(yc, z)
        yc += 1
        var ys = horner(sinP, z)
        ys *= z
        ys = x.addingProduct(ys, x)
        let (s, c) = sinUsesSinPoly ? (ys, yc) : (yc, ys)
        return (Float(bitPattern: s.bitPattern ^ signSin), Float(bitPattern: c.bitPattern ^ signCos))
    }
}
