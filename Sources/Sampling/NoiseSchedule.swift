import Foundation

/// The forward-process schedule: β_t → α_t = 1 − β_t → ᾱ_t = ∏_{s≤t} α_s (t = 0…T−1).
///
/// Matches diffusers' float32 arithmetic bit for bit: β by `torch.linspace` in float32 (see
/// ``torchLinspace(from:to:count:)``), α = 1 − β in float32, and ᾱ by `torch.cumprod`, which on
/// the CPU accumulates float in double and rounds each partial product to float.
///
/// | paper (DDIM) | diffusers | here |
/// | --- | --- | --- |
/// | α_t | `alphas_cumprod[t]` | `alphaBar[t]` |
/// | α_{τ_0} after the last step | `final_alpha_cumprod` | `finalAlphaBar` |
public struct NoiseSchedule: Sendable, Equatable {
    /// β_t, t = 0…T−1.
    public let betas: [Float]
    /// α_t = 1 − β_t.
    public let alphas: [Float]
    /// ᾱ_t = ∏_{s≤t} α_s (the paper's α_t).
    public let alphaBar: [Float]
    /// ᾱ used after the last step: 1 with `set_alpha_to_one`, else ᾱ₀.
    public let finalAlphaBar: Float

    /// T, the number of training timesteps.
    public var trainTimesteps: Int { betas.count }

    /// The schedule a config describes (`trained_betas` win over `beta_schedule`).
    public init(config: SchedulerConfig) throws {
        try config.validate()
        let betas: [Float]
        if let trained = config.trainedBetas {
            betas = trained.map { Float($0) }
        } else {
            let n = config.trainTimesteps
            switch config.betaSchedule {
            case .linear:
                betas = Self.torchLinspace(from: Float(config.betaStart), to: Float(config.betaEnd), count: n)
            case .scaledLinear:
                // diffusers: torch.linspace(beta_start**0.5, beta_end**0.5, T, dtype=float32) ** 2
                let roots = Self.torchLinspace(
                    from: Float(config.betaStart.squareRoot()), to: Float(config.betaEnd.squareRoot()), count: n)
                betas = roots.map { $0 * $0 }
            case .squaredcosCapV2:
                betas = Self.cosineBetas(count: n)
            }
        }
        self.init(betas: betas, setAlphaToOne: config.setAlphaToOne)
        // x̂₀ = (x_t − √(1 − ᾱ_t)·ε) / √ᾱ_t: a schedule whose ᾱ falls to 0 (in float32) makes x̂₀
        // infinite, and the sampler's NaN check would blame the model for the config's fault
        if let t = alphaBar.firstIndex(where: { !($0 >= Self.minAlphaBar) }) {
            let (field, value) =
                config.trainedBetas != nil ? ("trained_betas", "\(betas.count) values")
                : config.betaSchedule == .squaredcosCapV2 ? ("num_train_timesteps", "\(config.trainTimesteps)") : ("beta_end", "\(config.betaEnd)")
            throw SchedulerConfigError.invalid(
                field: field, value: value,
                reason: "ᾱ_t = ∏(1 − β) falls to \(alphaBar[t]) at t = \(t), below \(Self.minAlphaBar): 1/√ᾱ_t would overflow x̂₀")
        }
    }

    /// The smallest ᾱ_t accepted from a config: 1/√ᾱ_t then scales x̂₀ by at most 10¹⁰, far from
    /// float32's 3·10³⁸ even squared (group norm). Real schedules stay far above it (linear
    /// 1e-4…0.02 over 1000 steps: ᾱ_T = 4·10⁻⁵; the cosine schedule at T = 100,000: ~10⁻¹³).
    public static let minAlphaBar: Float = 1e-20

    /// A schedule from explicit β values (each in (0, 1)).
    public init(betas: [Float], setAlphaToOne: Bool = true) {
        precondition(!betas.isEmpty, "NoiseSchedule: no betas")
        self.betas = betas
        alphas = betas.map { 1 - $0 }
        var alphaBar = [Float](repeating: 0, count: betas.count)
        // ᾱ_t = ∏_{s≤t} α_s, accumulated in double as torch's CPU cumprod does.
        var product: Double = 1
        for (t, alpha) in alphas.enumerated() {
            product *= Double(alpha)
            alphaBar[t] = Float(product)
        }
        self.alphaBar = alphaBar
        finalAlphaBar = setAlphaToOne ? 1 : alphaBar[0]
    }

    /// ᾱ at a timestep, or ``finalAlphaBar`` for `nil` (the step after the last).
    @inlinable public func alphaBar(at t: Int?) -> Float {
        guard let t else { return finalAlphaBar }
        return alphaBar[t]
    }

    // MARK: - diffusers' constructions

    /// `torch.linspace(start, end, count, dtype=torch.float32)` on the CPU, bit for bit.
    ///
    /// torch computes `step = (end − start)/(count − 1)` in float and fills `start + step·i` for
    /// the first half, `end − step·(count − 1 − i)` for the rest, so both ends are exact. Its
    /// compiled kernel fuses each multiply-add (one rounding), which changes about one β in five
    /// by an ulp compared with separate float operations; checked against torch 2.15 (x86-64, AVX2).
    static func torchLinspace(from start: Float, to end: Float, count: Int) -> [Float] {
        guard count > 1 else { return count == 1 ? [start] : [] }
        let step = (end - start) / Float(count - 1)
        let halfway = count / 2
        return (0..<count).map { i in
            i < halfway
                ? start.addingProduct(step, Float(i))
                : end.addingProduct(-step, Float(count - 1 - i))
        }
    }

    /// diffusers' `betas_for_alpha_bar` with the cosine ᾱ(t) = cos²((t + 0.008)/1.008 · π/2),
    /// computed in double and capped at `maxBeta`, then rounded to float.
    static func cosineBetas(count: Int, maxBeta: Double = 0.999) -> [Float] {
        func alphaBar(_ t: Double) -> Double {
            let c = cos((t + 0.008) / 1.008 * Double.pi / 2)
            return c * c
        }
        return (0..<count).map { i in
            let t1 = Double(i) / Double(count)
            let t2 = Double(i + 1) / Double(count)
            // β_i = min(1 − ᾱ(t2)/ᾱ(t1), max_beta)
            return Float(min(1 - alphaBar(t2) / alphaBar(t1), maxBeta))
        }
    }
}
