import Foundation
import Tensors

/// The kinds of operation a forward pass is made of, for `--profile`.
public enum OpKind: String, CaseIterable, Sendable {
    case conv3x3 = "3×3 conv", conv1x1 = "1×1 conv", norm = "group norm", attention = "attention"
    case linear = "linear", elementwise = "element-wise"
}

/// Wall time spent per kind of operation over one or more forward passes.
public struct OpProfile: Sendable {
    /// Seconds per kind.
    public var seconds: [OpKind: Double] = [:]
    /// An empty profile.
    public init() {}
    /// Total seconds over all kinds.
    public var total: Double { seconds.values.reduce(0, +) }
}

/// What a forward pass carries along: the algorithm of its 3×3 convolutions (the model's
/// ``ConvPolicy/algorithm``, or another for a comparison) and an optional profile that times
/// every operation.
struct RunContext {
    let algorithm: ConvolutionAlgorithm
    var profile: OpProfile?

    /// Runs `body`, timing it under `kind` when profiling.
    @inline(__always)
    mutating func op<T>(_ kind: OpKind, _ body: () -> T) -> T {
        guard profile != nil else { return body() }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = body()
        profile?.seconds[kind, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return result
    }

    /// conv2d by the run's algorithm, timed under `kind`.
    mutating func conv(_ kind: OpKind, _ x: Tensor, _ w: ConvWeight, stride: Int = 1, padding: Padding,
                       prologue: ChannelAffine? = nil, imageBias: Tensor? = nil, residual: Tensor? = nil) -> Tensor {
        let algorithm = self.algorithm
        return op(kind) {
            conv2d(x, w, stride: stride, padding: padding, prologue: prologue, imageBias: imageBias, residual: residual,
                   algorithm: algorithm)
        }
    }
}
