import Foundation
import Tensors

/// Spherical linear interpolation between two noise tensors (paper App. D.5):
///
///     θ = arccos(⟨z₁, z₂⟩ / (‖z₁‖‖z₂‖)),   z(α) = sin((1 − α)θ)/sin θ · z₁ + sin(αθ)/sin θ · z₂
///
/// over all elements at once (slice a batch first for per-sample paths). Where sin θ ≈ 0
/// (parallel or anti-parallel inputs, or a zero input) it falls back to the linear (1 − α)·z₁ + α·z₂.
/// Sums are accumulated in double.
public func slerp(_ z1: Tensor, _ z2: Tensor, alpha: Float) -> Tensor {
    precondition(z1.shape == z2.shape, "slerp: shapes \(z1.shape) and \(z2.shape)")
    var dot = 0.0
    var norm1 = 0.0
    var norm2 = 0.0
    for i in 0..<z1.count {
        let a = Double(z1.data[i])
        let b = Double(z2.data[i])
        dot += a * b
        norm1 += a * a
        norm2 += b * b
    }
    let a = Double(alpha)
    var w1 = 1 - a
    var w2 = a
    let denominator = (norm1 * norm2).squareRoot()
    if denominator > 0 {
        let theta = acos(min(max(dot / denominator, -1), 1))
        let sinTheta = sin(theta)
        if sinTheta > 1e-6 {
            // z(α) = sin((1 − α)θ)/sin θ · z₁ + sin(αθ)/sin θ · z₂
            w1 = sin((1 - a) * theta) / sinTheta
            w2 = sin(a * theta) / sinTheta
        }
    }
    var out = z1
    let f1 = Float(w1)
    let f2 = Float(w2)
    for i in 0..<out.count { out.data[i] = f1 * z1.data[i] + f2 * z2.data[i] }
    return out
}
