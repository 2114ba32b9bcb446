/// What the sampler's tiles show.
public enum View: String, CaseIterable, Sendable {
    case predicted = "x̂₀", noisy = "x_t", both = "x̂₀ | x_t"
}

/// The views of the live sampler: the sampler itself and the three studio views of DDIM's promises.
public enum Mode: Equatable, Sendable {
    case sample, compareSteps, compareEta, interpolate, invert

    /// The title prefix ("" for the sampler).
    public var title: String {
        switch self {
        case .sample: ""
        case .compareSteps: "compare steps ─ "
        case .compareEta: "compare η ─ "
        case .interpolate: "interpolate ─ "
        case .invert: "invert ─ "
        }
    }

    /// The key that opens (and closes) the view.
    public var key: String {
        switch self {
        case .sample: ""
        case .compareSteps: "k"
        case .compareEta: "K"
        case .interpolate: "i"
        case .invert: "u"
        }
    }
}
