import Tensors

extension DDIMScheduler {
    /// The largest η for which every step of `plan` (descending timesteps; the last step goes to
    /// x₀) keeps eq. 12's direction term √(1 − ᾱ_{t−1} − σ_t²) real:
    /// σ_t(η)² = η²·v_t ≤ 1 − ᾱ_{t−1}  ⇔  η ≤ √((1 − ᾱ_{t−1}) / v_t),
    /// with v_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·(1 − ᾱ_t/ᾱ_{t−1}) (eq. 16). Since v_t ≤ 1 − ᾱ_{t−1},
    /// it is at least 1 (η ∈ [0, 1], the paper's range, always holds); ∞ when no step limits it.
    public func largestEta(plan: [Int]) -> Float {
        var largest = Float.infinity
        for (i, t) in plan.enumerated() {
            let alphaBar = schedule.alphaBar[t]
            let alphaBarPrev = schedule.alphaBar(at: i + 1 < plan.count ? plan[i + 1] : nil)
            // v_t = σ_t(η = 1)²
            let variance = ((1 - alphaBarPrev) / (1 - alphaBar)) * (1 - alphaBar / alphaBarPrev)
            guard variance > 0, variance.isFinite else { continue }
            largest = min(largest, ((1 - alphaBarPrev) / variance).squareRoot())
        }
        return largest
    }

    /// Refuses an η whose σ_t makes the direction term imaginary at some step of `plan` (diffusers
    /// then draws NaN); η ≤ 1 always passes, σ̂ is the paper's own rule and takes the term as 0.
    public func check(noise: NoiseLevel, plan: [Int]) throws(SamplingError) {
        guard case .eta(let eta) = noise else { return }
        guard eta.isFinite, eta >= 0 else { throw .etaOutOfRange(eta: eta, largest: 1, steps: plan.count) }
        guard eta > 1 else { return }
        let largest = largestEta(plan: plan)
        guard eta <= largest else { throw .etaOutOfRange(eta: eta, largest: largest, steps: plan.count) }
    }
}
