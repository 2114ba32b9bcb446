import Foundation
import Sampling
import Tensors
import Testing

@Suite struct SamplerTests {
    static func scheduler(clip: Bool = true) throws -> DDIMScheduler {
        var config = SchedulerConfig()
        config.clipSample = clip
        return try DDIMScheduler(config: config)
    }

    /// The sampler's draws and arithmetic equal a hand-written DDIMPipeline loop over one generator.
    @Test(arguments: [Float(0), 0.5, 1]) func seededRunMatchesManualLoop(_ eta: Float) throws {
        let scheduler = try Self.scheduler()
        let shape = [2, 1, 4, 4]
        var sampler = try Sampler(
            model: RecordingModel(), scheduler: scheduler, shape: shape, steps: 10, noise: .eta(eta),
            source: TorchRandom(seed: 42))
        let outcome = try sampler.run()
        #expect(outcome.isFinished && sampler.isFinished && sampler.stepsDone == 10)

        var g = TorchRandom(seed: 42)
        var x = g.normal(shape: shape)
        let model = RecordingModel()
        let plan = try scheduler.timesteps(steps: 10)
        for (i, t) in plan.enumerated() {
            let eps = try model.output(x, timestep: t)
            let z = eta > 0 ? g.normal(shape: shape) : nil
            x = scheduler.step(
                sample: x, modelOutput: eps, timestep: t, prev: i + 1 < plan.count ? plan[i + 1] : nil,
                noise: .eta(eta), varianceNoise: z
            ).prevSample
        }
        #expect(outcome.sample == x)
    }

    /// One draw for x_T, then one per step iff η > 0 — including the last step, whose σ is 0.
    @Test func drawOrderMirrorsDiffusers() throws {
        let scheduler = try Self.scheduler()
        for (noise, draws) in [(NoiseLevel.eta(0), 1), (.eta(0.3), 11), (.ddpmLarge, 11)] {
            var sampler = try Sampler(
                model: RecordingModel(), scheduler: scheduler, shape: [1, 1, 2, 2], steps: 10, noise: noise,
                source: CountingSource(inner: TorchRandom(seed: 1)))
            var sigmas: [Float] = []
            _ = try sampler.run { p in
                sigmas.append(p.sigma)
                return .continue
            }
            let source = try #require(sampler.source as? CountingSource)
            #expect(source.shapes.count == draws, "\(noise)")
            #expect(source.shapes.allSatisfy { $0 == [1, 1, 2, 2] })
            if case .eta(let eta) = noise, eta > 0 { #expect(sigmas.last == 0) }
        }
    }

    /// A re-plan keeps x_t and continues from the current t through timesteps strictly below it.
    @Test func replanKeepsSampleAndGoesBelow() throws {
        let scheduler = try Self.scheduler()
        let model = RecordingModel()
        var sampler = try Sampler(
            model: model, scheduler: scheduler, shape: [1, 1, 3, 3], steps: 10, source: TorchRandom(seed: 5))
        var reports: [StepProgress] = []
        let outcome = try sampler.run { p in
            reports.append(p)
            return p.index == 2 ? .replan(steps: 25, noise: .eta(1), spacing: .trailing) : .continue
        }
        #expect(outcome.isFinished)
        let visited = model.calls.map(\.timestep)
        #expect(visited.prefix(3) == [900, 800, 700])
        let current = try #require(reports[2].prev)
        #expect(current == 600)
        let fresh = try scheduler.timesteps(steps: 25, spacing: .trailing)
        #expect(Array(visited.dropFirst(3)) == [current] + fresh.filter { $0 < current })
        // x_t is kept: the step after the re-plan starts from the sample the step before produced.
        #expect(model.calls[3].x == reports[2].sample)
        #expect(reports.last?.count == reports.count && reports.last?.isLast == true)
        #expect(reports[3].sigma > 0)
    }

    @Test func cancelStops() throws {
        let scheduler = try Self.scheduler()
        var sampler = try Sampler(
            model: RecordingModel(), scheduler: scheduler, shape: [1, 1, 2, 2], steps: 10, source: TorchRandom(seed: 5))
        let outcome = try sampler.run { $0.index == 3 ? .cancel : .continue }
        guard case .cancelled(let sample, let done) = outcome else {
            Issue.record("not cancelled")
            return
        }
        #expect(done == 4 && sample == sampler.sample && sampler.timestep == 500)
    }

    /// Driving `step()` by hand (pausing in between) gives what `run` gives.
    @Test func stepwiseEqualsRun() throws {
        let scheduler = try Self.scheduler()
        let x = randn(seed: 9, [1, 2, 3, 3])
        var a = try Sampler(model: RecordingModel(), scheduler: scheduler, initialSample: x, steps: 7, noise: .eta(0.7), source: TorchRandom(seed: 2))
        var b = a
        var indices: [Int] = []
        while let p = try a.step() { indices.append(p.index) }
        #expect(indices == Array(0..<7))
        #expect(try a.step()?.index == nil)
        #expect(try b.run().sample == a.sample)
    }

    @Test func modelErrorsLeaveTheStateAlone() throws {
        let scheduler = try Self.scheduler()
        let model = RecordingModel()
        model.wrongShape = true
        var sampler = try Sampler(
            model: model, scheduler: scheduler, shape: [1, 1, 2, 2], steps: 5, source: TorchRandom(seed: 5))
        let before = sampler.sample
        #expect(throws: SamplingError.modelOutputShape(timestep: 800, expected: [1, 1, 2, 2], actual: [1])) {
            try sampler.step()
        }
        #expect(sampler.sample == before && sampler.stepsDone == 0 && sampler.timestep == 800)
        #expect(throws: SamplingError.self) {
            try Sampler(model: model, scheduler: scheduler, initialSample: before, timesteps: [5, 9], source: TorchRandom(seed: 0))
        }
    }

    /// With the exact ε of Gaussian data x₀ ~ N(μ, s²), each DDIM step is affine in x, so the run
    /// is x₀ = k·x_T + c; k and c follow from eq. 12 in double. S = 50 gives k ≈ 0.472 (not
    /// s = 0.5: discretisation), S = 1000 gives k ≈ 0.498.
    @Test(arguments: [50, 1000]) func gaussianDataIsAnAffineMap(_ steps: Int) throws {
        let scheduler = try Self.scheduler(clip: false)
        let model = GaussianDataModel(alphaBar: scheduler.schedule.alphaBar)
        var sampler = try Sampler(
            model: model, scheduler: scheduler, shape: [4, 1, 8, 8], steps: steps, source: TorchRandom(seed: 0))
        let xT = sampler.sample
        let x0 = try sampler.run().sample
        let (mu, s2) = (Double(model.mean), Double(model.std * model.std))
        var (k, c) = (1.0, 0.0)
        let plan = try scheduler.timesteps(steps: steps)
        for (i, t) in plan.enumerated() {
            let a = Double(scheduler.schedule.alphaBar[t])
            let ap = i + 1 < plan.count ? Double(scheduler.schedule.alphaBar[plan[i + 1]]) : 1
            // ε = e1·x + e0,  x̂₀ = (x − √(1−a)·ε)/√a,  x' = √a'·x̂₀ + √(1−a')·ε
            let e1 = (1 - a).squareRoot() / (a * s2 + 1 - a)
            let e0 = -e1 * a.squareRoot() * mu
            let n1 = ap.squareRoot() * (1 - (1 - a).squareRoot() * e1) / a.squareRoot() + (1 - ap).squareRoot() * e1
            let n0 = ap.squareRoot() * (-(1 - a).squareRoot() * e0 / a.squareRoot()) + (1 - ap).squareRoot() * e0
            (k, c) = (n1 * k, n1 * c + n0)
        }
        let expected = xT.data.map { k * Double($0) + c }
        #expect(maxAbsDiff(x0.data, expected) < 1e-4)
        #expect(abs(k - 0.5) < (steps == 50 ? 0.03 : 0.002), "k = \(k)")
    }
}

/// A model that goes bad (NaN in one element, or +∞) from a given timestep down.
struct FailingModel: DenoisingModel {
    let below: Int
    let value: Float
    func output(_ x: Tensor, timestep: Int) throws -> Tensor {
        var out = Tensor(shape: x.shape, repeating: 0.1)
        if timestep < below { out.data[3] = value }
        return out
    }
}

@Suite struct NonFiniteTests {
    @Test("NaN or ∞ from the model stops the run, naming the step and timestep", arguments: [Float.nan, .infinity])
    func stops(value: Float) throws {
        let scheduler = try SamplerTests.scheduler()
        var sampler = try Sampler(model: FailingModel(below: 500, value: value), scheduler: scheduler, shape: [1, 1, 4, 4],
                                  steps: 10, source: TorchRandom(seed: 1))
        // plan 900, 800, …, 0: t = 400 is step 6
        #expect(throws: SamplingError.nonFinite(step: 6, of: 10, timestep: 400, what: "the model's output", count: 1)) {
            try sampler.run()
        }
        #expect(sampler.stepsDone == 5 && sampler.sample.nonFiniteCount == 0)
        let message = "\(SamplingError.nonFinite(step: 6, of: 10, timestep: 400, what: "the model's output", count: 1))"
        #expect(message == "step 6 of 10 (t = 400): the model's output holds 1 NaN or infinite value; the model or its weights are broken")
    }

    @Test("inversion stops on NaN too")
    func inversion() throws {
        let scheduler = try SamplerTests.scheduler()
        let x0 = Tensor(shape: [1, 1, 4, 4], repeating: 0.2)
        #expect(throws: SamplingError.self) {
            try Inverter(model: FailingModel(below: 1000, value: .nan), scheduler: scheduler).encode(x0, timesteps: [900, 500, 100])
        }
    }
}
