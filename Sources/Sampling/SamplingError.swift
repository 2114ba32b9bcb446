/// Why a sampling or inversion run cannot go on.
public enum SamplingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The model's output does not have the sample's shape.
    case modelOutputShape(timestep: Int, expected: [Int], actual: [Int])
    /// A noise source returned a tensor of the wrong shape.
    case noiseShape(expected: [Int], actual: [Int])
    /// A plan that is empty, not strictly monotonic, or outside 0..<T.
    case invalidPlan(timesteps: [Int], reason: String)
    /// η past the largest for which σ_t ≤ √(1 − ᾱ_{t−1}) at every step of the plan (or not ≥ 0).
    case etaOutOfRange(eta: Float, largest: Float, steps: Int)
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
        case .etaOutOfRange(let eta, let largest, let steps):
            eta.isFinite && eta >= 0
                ? "η = \(eta) is too large for this \(steps)-step plan: σ_t would exceed √(1 − ᾱ_{t−1}) and eq. 12's direction term would not be a real number; the largest η here is \(largest) (or use σ̂: --eta hat)"
                : "η = \(eta) is not a noise level (η is a number ≥ 0)"
        case .nonFinite(let step, let of, let t, let what, let count):
            "step \(step) of \(of) (t = \(t)): \(what) holds \(count) NaN or infinite value\(count == 1 ? "" : "s"); the model or its weights are broken"
        }
    }
}
