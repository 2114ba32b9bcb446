/// How much fresh noise each DDIM step adds: σ_t in the paper's eq. 12.
public enum NoiseLevel: Sendable, Equatable, Hashable {
    /// σ_t(η) = η·√((1 − ᾱ_prev)/(1 − ᾱ_t))·√(1 − ᾱ_t/ᾱ_prev) (eq. 16): η = 0 is deterministic
    /// DDIM, η = 1 is DDPM's posterior standard deviation.
    case eta(Float)
    /// σ̂_t = √(1 − ᾱ_t/ᾱ_prev), DDPM's larger variance (the paper's σ̂ row of Table 1); the
    /// direction term's √(1 − ᾱ_prev − σ̂²) is taken as 0 where it would be imaginary.
    case ddpmLarge

    /// Deterministic DDIM, η = 0.
    public static let deterministic = NoiseLevel.eta(0)

    /// σ_t for a step from ᾱ_t to ᾱ_prev, in float32 as diffusers computes it.
    public func sigma(alphaBar: Float, alphaBarPrev: Float) -> Float {
        switch self {
        case .eta(let eta):
            // σ_t(η)² / η² = (1 − ᾱ_prev)/(1 − ᾱ_t) · (1 − ᾱ_t/ᾱ_prev)   (eq. 16; diffusers' _get_variance)
            let variance = ((1 - alphaBarPrev) / (1 - alphaBar)) * (1 - alphaBar / alphaBarPrev)
            return eta * variance.squareRoot()
        case .ddpmLarge:
            // σ̂_t = √(1 − ᾱ_t/ᾱ_prev)
            return (1 - alphaBar / alphaBarPrev).squareRoot()
        }
    }

    /// Whether a step draws variance noise z. As in diffusers' `DDIMScheduler.step`, this is
    /// every step when η > 0, even the last one, whose σ is 0 with `set_alpha_to_one`; seeded
    /// runs then draw the same numbers as diffusers'.
    public var drawsNoise: Bool {
        switch self {
        case .eta(let eta): eta > 0
        case .ddpmLarge: true
        }
    }
}

extension NoiseLevel: CustomStringConvertible {
    /// `η=0.5` or `σ̂`.
    public var description: String {
        switch self {
        case .eta(let eta): "η=\(eta)"
        case .ddpmLarge: "σ̂"
        }
    }
}
