import Foundation
import Sampling
import Tensors
import Testing

/// Every case of `scheduler/cases.json` against diffusers 0.42's `DDIMScheduler`.
@Suite struct SchedulerFixtureTests {
    static let fixture: SchedulerFixture? = try? Fixtures.load(SchedulerFixture.self, "scheduler/cases.json")
    static var names: [String] { fixture?.cases.map(\.name) ?? [] }

    static func fixtureCase(_ name: String) throws -> SchedulerFixture.Case {
        let fixture = try #require(Self.fixture, "scheduler/cases.json missing or unreadable")
        return try #require(fixture.cases.first { $0.name == name })
    }

    @Test func fixtureIsThere() throws {
        let fixture = try Fixtures.load(SchedulerFixture.self, "scheduler/cases.json")
        #expect(fixture.cases.count >= 20)
    }

    /// Timesteps equal; ᾱ ≤ 1e-6 relative — and in fact bit-identical to torch's.
    @Test(arguments: names) func scheduleAndTimesteps(_ name: String) throws {
        let c = try Self.fixtureCase(name)
        let scheduler = try DDIMScheduler(config: c.scheduler_config)
        #expect(try scheduler.timesteps(steps: c.num_inference_steps) == c.timesteps)
        #expect(scheduler.schedule.alphaBar.count == c.alphas_cumprod.count)
        let worst = zip(scheduler.schedule.alphaBar, c.alphas_cumprod).map { abs(Double($0) / $1 - 1) }.max() ?? 0
        #expect(worst <= 1e-6, "ᾱ relative error \(worst)")
        #expect(zip(scheduler.schedule.alphaBar, c.alphas_cumprod).allSatisfy { Double($0) == $1 })
        #expect(Double(scheduler.schedule.finalAlphaBar) == c.final_alpha_cumprod)
    }

    /// Our step called with diffusers' prev (t − T//S) reproduces prev_sample and
    /// pred_original_sample to 1e-5 (absolute, relative above 1: with the cosine schedule
    /// ᾱ₉₉₉ ≈ 2e-9 and unclipped x̂₀ reaches 5e4).
    @Test(arguments: names) func stepWithDiffusersPrev(_ name: String) throws {
        let c = try Self.fixtureCase(name)
        let scheduler = try DDIMScheduler(config: c.scheduler_config)
        for s in c.steps {
            #expect(scheduler.diffusersPrev(timestep: s.t, steps: c.num_inference_steps) == (s.prev_t_diffusers >= 0 ? s.prev_t_diffusers : nil))
            let r = step(scheduler, c, s, prev: s.prev_t_diffusers)
            #expect(maxScaledDiff(r.prevSample.data, s.prev_sample) <= 1e-5, "t=\(s.t)")
            #expect(maxScaledDiff(r.predictedX0.data, s.pred_original_sample) <= 1e-5, "t=\(s.t)")
        }
    }

    /// With prev = the plan's next timestep: equal to diffusers' arithmetic given that prev, to a
    /// direct double-precision implementation of eq. 12, and — where the two prevs agree (leading,
    /// and trailing with S | T) — to diffusers' own prev_sample.
    @Test(arguments: names) func stepWithPlanPrev(_ name: String) throws {
        let c = try Self.fixtureCase(name)
        let scheduler = try DDIMScheduler(config: c.scheduler_config)
        let plan = c.timesteps
        for (i, s) in c.steps.enumerated() {
            let planPrev = i + 1 < plan.count ? plan[i + 1] : -1
            #expect(s.prev_t_plan == planPrev)
            let r = step(scheduler, c, s, prev: planPrev)
            #expect(maxScaledDiff(r.prevSample.data, s.prev_sample_plan) <= 1e-5, "t=\(s.t)")
            let reference = ReferenceDDIM(c).step(s, prev: planPrev)
            #expect(maxScaledDiff(r.prevSample.data, reference.prev) <= 1e-5, "t=\(s.t) vs double reference")
            #expect(maxScaledDiff(r.predictedX0.data, reference.x0) <= 1e-5, "t=\(s.t) vs double reference")
            if planPrev == s.prev_t_diffusers || (planPrev < 0 && s.prev_t_diffusers < 0) {
                #expect(maxScaledDiff(r.prevSample.data, s.prev_sample) <= 1e-5, "t=\(s.t)")
            }
        }
    }

    /// Where diffusers' prev and the plan's differ, the fixture does show the difference.
    @Test func diffusersPrevDiffersForTrailingAndLinspace() throws {
        let trailing7 = try Self.fixtureCase("linear_trailing_7_eta05")
        #expect(trailing7.steps.contains { $0.prev_t_diffusers != $0.prev_t_plan && $0.prev_t_plan >= 0 })
        let leading7 = try Self.fixtureCase("linear_leading_7_eta0")
        #expect(leading7.steps.allSatisfy { $0.prev_t_diffusers == $0.prev_t_plan || ($0.prev_t_diffusers < 0 && $0.prev_t_plan < 0) })
    }

    private func step(_ scheduler: DDIMScheduler, _ c: SchedulerFixture.Case, _ s: SchedulerFixture.Step, prev: Int) -> StepResult {
        scheduler.step(
            sample: Tensor(shape: c.shape, doubles: s.sample),
            modelOutput: Tensor(shape: c.shape, doubles: s.model_output),
            timestep: s.t, prev: prev >= 0 ? prev : nil, noise: .eta(Float(c.eta)),
            varianceNoise: s.variance_noise.map { Tensor(shape: c.shape, doubles: $0) },
            useClippedModelOutput: c.use_clipped_model_output)
    }
}

/// Eq. 12 written out in double, from the fixture's ᾱ, for one batch item.
struct ReferenceDDIM {
    let c: SchedulerFixture.Case
    init(_ c: SchedulerFixture.Case) { self.c = c }

    func step(_ s: SchedulerFixture.Step, prev: Int) -> (prev: [Double], x0: [Double]) {
        let config = c.scheduler_config
        let a = Float(c.alphas_cumprod[s.t])  // ᾱ as stored (float32), then all in double
        let ap = prev >= 0 ? Float(c.alphas_cumprod[prev]) : Float(c.final_alpha_cumprod)
        let (alpha, alphaPrev) = (Double(a), Double(ap))
        let x = s.sample
        let m = s.model_output
        var x0: [Double]
        var eps: [Double]
        switch config.predictionType {
        case .epsilon:
            eps = m
            x0 = zip(x, m).map { ($0 - (1 - alpha).squareRoot() * $1) / alpha.squareRoot() }
        case .sample:
            x0 = m
            eps = zip(x, m).map { ($0 - alpha.squareRoot() * $1) / (1 - alpha).squareRoot() }
        case .vPrediction:
            x0 = zip(x, m).map { alpha.squareRoot() * $0 - (1 - alpha).squareRoot() * $1 }
            eps = zip(x, m).map { alpha.squareRoot() * $1 + (1 - alpha).squareRoot() * $0 }
        }
        if config.thresholding {
            let sorted = x0.map(abs).sorted()
            let rank = Double(config.dynamicThresholdingRatio) * Double(sorted.count - 1)
            let lo = Int(rank.rounded(.down))
            let hi = Int(rank.rounded(.up))
            let q = sorted[lo] + (rank - Double(lo)) * (sorted[hi] - sorted[lo])
            let limit = min(max(q, 1), Double(config.sampleMaxValue))
            x0 = x0.map { min(max($0, -limit), limit) / limit }
        } else if config.clipSample {
            let r = Double(config.clipSampleRange)
            x0 = x0.map { min(max($0, -r), r) }
        }
        if c.use_clipped_model_output {
            eps = zip(x, x0).map { ($0 - alpha.squareRoot() * $1) / (1 - alpha).squareRoot() }
        }
        // σ_t(η) = η √((1 − α_{t−1})/(1 − α_t)) √(1 − α_t/α_{t−1})
        let sigma = c.eta * ((1 - alphaPrev) / (1 - alpha)).squareRoot() * (1 - alpha / alphaPrev).squareRoot()
        let z = s.variance_noise ?? [Double](repeating: 0, count: x.count)
        // x_{t−1} = √α_{t−1} x̂₀ + √(1 − α_{t−1} − σ²) ε + σ z
        let out = (0..<x.count).map { i in
            alphaPrev.squareRoot() * x0[i] + max(0, 1 - alphaPrev - sigma * sigma).squareRoot() * eps[i] + sigma * z[i]
        }
        return (out, x0)
    }
}
