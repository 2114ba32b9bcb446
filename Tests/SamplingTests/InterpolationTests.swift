import Foundation
import Sampling
import Tensors
import Testing

@Suite struct InterpolationTests {
    static func norm(_ x: Tensor) -> Double { x.data.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot() }

    @Test func endpointsAndMidpoint() {
        let z1 = randn(seed: 1, [1, 3, 8, 8])
        let z2 = randn(seed: 2, [1, 3, 8, 8])
        #expect(slerp(z1, z2, alpha: 0).maxAbsDifference(z1) < 1e-6)
        #expect(slerp(z1, z2, alpha: 1).maxAbsDifference(z2) < 1e-6)
        // For nearly orthogonal Gaussian vectors of similar norm, the midpoint keeps the norm
        // (a lerp would shrink it by ≈ 1/√2).
        let mid = slerp(z1, z2, alpha: 0.5)
        let expected = (Self.norm(z1) + Self.norm(z2)) / 2
        #expect(abs(Self.norm(mid) / expected - 1) < 0.05)
        let lerped = Tensor(shape: z1.shape, data: zip(z1.data, z2.data).map { ($0 + $1) / 2 })
        #expect(Self.norm(lerped) < 0.8 * expected)
    }

    /// Orthogonal unit vectors: z(α) = cos(απ/2)·e₁ + sin(απ/2)·e₂.
    @Test func orthogonalInputs() {
        let e1 = Tensor(shape: [2], data: [1, 0])
        let e2 = Tensor(shape: [2], data: [0, 1])
        for alpha in stride(from: Float(0), through: 1, by: 0.125) {
            let z = slerp(e1, e2, alpha: alpha)
            #expect(abs(z.data[0] - cos(alpha * .pi / 2)) < 1e-6 && abs(z.data[1] - sin(alpha * .pi / 2)) < 1e-6)
        }
    }

    /// Parallel inputs (θ = 0) fall back to a lerp instead of dividing by sin θ = 0.
    @Test func parallelInputsFallBackToLerp() {
        let a = Tensor(shape: [3], data: [1, 2, 3])
        let b = Tensor(shape: [3], data: [2, 4, 6])
        let z = slerp(a, b, alpha: 0.25)
        #expect(z.data == [1.25, 2.5, 3.75])
        #expect(slerp(a, Tensor(shape: [3]), alpha: 0.5).data == [0.5, 1, 1.5])
    }
}
