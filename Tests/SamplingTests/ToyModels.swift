import Foundation
import Sampling
import Tensors

/// The exact ε-predictor for data x₀ ~ N(μ, s²) per element:
/// E[ε | x_t] = √(1−ᾱ)·(x_t − √ᾱ·μ) / (ᾱ·s² + 1 − ᾱ).
struct GaussianDataModel: DenoisingModel {
    var alphaBar: [Float]
    var mean: Float = 0.3
    var std: Float = 0.5

    func output(_ x: Tensor, timestep: Int) throws -> Tensor {
        let a = Double(alphaBar[timestep])
        let s2 = Double(std * std)
        let k = (1 - a).squareRoot() / (a * s2 + 1 - a)
        return Tensor(shape: x.shape, data: x.data.map { Float(k * (Double($0) - a.squareRoot() * Double(mean))) })
    }
}

/// Records every call; returns a fixed smooth function of (x, t).
final class RecordingModel: DenoisingModel {
    var calls: [(timestep: Int, x: Tensor)] = []
    var wrongShape = false

    func output(_ x: Tensor, timestep: Int) throws -> Tensor {
        calls.append((timestep, x))
        if wrongShape { return Tensor(shape: [1]) }
        return Tensor(shape: x.shape, data: x.data.map { 0.5 * $0 + Float(timestep) / 2000 })
    }
}

/// Counts the draws of the wrapped source.
struct CountingSource: NoiseSource {
    var inner: TorchRandom
    var shapes: [[Int]] = []
    mutating func normal(shape: [Int]) -> Tensor {
        shapes.append(shape)
        return inner.normal(shape: shape)
    }
}
