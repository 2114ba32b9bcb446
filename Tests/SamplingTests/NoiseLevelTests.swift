import Sampling
import Testing

@Suite struct NoiseLevelTests {
    /// σ_t(η = 1) between consecutive timesteps is DDPM's posterior std √β̃_t,
    /// β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t; σ̂ is √β_t. Float arithmetic: 1e-3 relative.
    @Test func etaOneIsTheDDPMPosterior() throws {
        let schedule = try NoiseSchedule(config: SchedulerConfig())
        let a = schedule.alphaBar.map(Double.init)
        let beta = schedule.betas.map(Double.init)
        for t in 1..<schedule.trainTimesteps {
            let posterior = ((1 - a[t - 1]) / (1 - a[t]) * beta[t]).squareRoot()
            let sigma = Double(NoiseLevel.eta(1).sigma(alphaBar: schedule.alphaBar[t], alphaBarPrev: schedule.alphaBar[t - 1]))
            #expect(abs(sigma / posterior - 1) < 1e-3, "t=\(t)")
            let large = Double(NoiseLevel.ddpmLarge.sigma(alphaBar: schedule.alphaBar[t], alphaBarPrev: schedule.alphaBar[t - 1]))
            #expect(abs(large / beta[t].squareRoot() - 1) < 1e-3, "t=\(t)")
        }
        #expect(NoiseLevel.eta(0).sigma(alphaBar: 0.5, alphaBarPrev: 0.9) == 0)
        #expect(NoiseLevel.eta(1).sigma(alphaBar: 0.5, alphaBarPrev: 1) == 0)
        #expect(!NoiseLevel.eta(0).drawsNoise && NoiseLevel.eta(0.1).drawsNoise && NoiseLevel.ddpmLarge.drawsNoise)
    }

    /// σ(η) grows linearly in η.
    @Test func sigmaIsLinearInEta() {
        let one = NoiseLevel.eta(1).sigma(alphaBar: 0.3, alphaBarPrev: 0.6)
        #expect(abs(NoiseLevel.eta(0.5).sigma(alphaBar: 0.3, alphaBarPrev: 0.6) - one / 2) < 1e-7)
    }
}
