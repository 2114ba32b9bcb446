import Foundation
import Sampling
import Tensors
import Testing

/// η past the point where σ_t > √(1 − ᾱ_{t−1}) (issue #16: `--eta 1e19` ran and recorded a
/// wrapped integer): refused by the sampler, with the largest η of the plan in the message.
@Suite struct EtaRangeTests {
    @Test("η ≤ 1 always passes; the largest η keeps every direction term real; past it is refused",
          arguments: [(10, TimestepSpacing.leading), (50, .leading), (50, .trailing), (1000, .leading), (7, .linspace)])
    func largestEta(_ steps: Int, _ spacing: TimestepSpacing) throws {
        let scheduler = try SamplerTests.scheduler()
        let plan = try scheduler.timesteps(steps: steps, spacing: spacing)
        let largest = scheduler.largestEta(plan: plan)
        #expect(largest >= 1)
        try scheduler.check(noise: .eta(1), plan: plan)
        // at η_max, 1 − ᾱ_{t−1} − σ_t² ≥ 0 (up to rounding) at every step, computed in double
        for (i, t) in plan.enumerated() {
            let a = Double(scheduler.schedule.alphaBar[t])
            let prev = Double(scheduler.schedule.alphaBar(at: i + 1 < plan.count ? plan[i + 1] : nil))
            let v = (1 - prev) / (1 - a) * (1 - a / prev)
            #expect(1 - prev - Double(largest) * Double(largest) * v >= -1e-6, "t = \(t)")
        }
        if largest.isFinite {
            #expect(throws: SamplingError.self) { try scheduler.check(noise: .eta(largest * 1.01), plan: plan) }
        }
        #expect(throws: SamplingError.self) { try scheduler.check(noise: .eta(1e19), plan: plan) }
        try scheduler.check(noise: .ddpmLarge, plan: plan)
    }

    @Test("the sampler refuses at the start, on a re-plan and on a new η, leaving its state as it was")
    func samplerRefuses() throws {
        let scheduler = try SamplerTests.scheduler()
        #expect(throws: SamplingError.self) {
            _ = try Sampler(model: RecordingModel(), scheduler: scheduler, shape: [1, 1, 2, 2], steps: 10, noise: .eta(1e19),
                            source: TorchRandom(seed: 0))
        }
        var s = try Sampler(model: RecordingModel(), scheduler: scheduler, shape: [1, 1, 2, 2], steps: 10, noise: .eta(0.5),
                            source: TorchRandom(seed: 0))
        _ = try s.step()
        #expect(throws: SamplingError.self) { try s.setNoise(.eta(5)) }
        #expect(throws: SamplingError.self) { try s.replan(steps: 20, noise: .eta(5), spacing: .leading) }
        #expect(s.noise == .eta(0.5) && s.count == 10)
        let message = "\(SamplingError.etaOutOfRange(eta: 1e19, largest: 1.008, steps: 50))"
        #expect(message.contains("η = 1e+19") && message.contains("1.008") && message.contains("50-step"))
    }
}
