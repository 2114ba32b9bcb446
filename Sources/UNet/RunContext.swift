import Foundation

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

/// What a forward pass carries along: an optional profile that times every operation.
struct RunContext {
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
}
