/// Why a sampling or inversion run cannot go on.
public enum SamplingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The model's output does not have the sample's shape.
    case modelOutputShape(timestep: Int, expected: [Int], actual: [Int])
    /// A noise source returned a tensor of the wrong shape.
    case noiseShape(expected: [Int], actual: [Int])
    /// A plan that is empty, not strictly monotonic, or outside 0..<T.
    case invalidPlan(timesteps: [Int], reason: String)
    /// The model's output (or the new sample) holds NaN or ±∞: the run stops rather than draw garbage.
    case nonFinite(step: Int, of: Int, timestep: Int, what: String, count: Int)

    /// A one-line message with the shapes or timesteps involved.
    public var description: String {
        switch self {
        case .modelOutputShape(let t, let expected, let actual):
            "model output at t = \(t) has shape \(actual), expected the sample's \(expected)"
        case .noiseShape(let expected, let actual):
            "noise source returned shape \(actual), expected \(expected)"
        case .invalidPlan(let timesteps, let reason):
            "plan \(timesteps.prefix(8))\(timesteps.count > 8 ? "…" : ""): \(reason)"
        case .nonFinite(let step, let of, let t, let what, let count):
            "step \(step) of \(of) (t = \(t)): \(what) holds \(count) NaN or infinite value\(count == 1 ? "" : "s"); the model or its weights are broken"
        }
    }
}
