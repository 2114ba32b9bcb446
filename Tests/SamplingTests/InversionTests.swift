import Foundation
import Sampling
import Tensors
import Testing

@Suite struct InversionTests {
    /// Encoding x₀ with the exact ε of Gaussian data, then sampling x_T with the same plan,
    /// returns x₀ up to the discretisation error, which shrinks as S grows (paper Table 2).
    @Test func inversionThenSamplingReturnsTheStart() throws {
        var config = SchedulerConfig()
        config.clipSample = false
        let scheduler = try DDIMScheduler(config: config)
        let model = GaussianDataModel(alphaBar: scheduler.schedule.alphaBar)
        var g = TorchRandom(seed: 3)
        let x0 = Tensor(shape: [2, 1, 8, 8], data: g.normal(count: 128).map { 0.3 + 0.5 * $0 })
        var errors: [Double] = []
        for steps in [10, 50, 200, 1000] {
            let plan = try scheduler.timesteps(steps: steps)
            let xT = try Inverter(model: model, scheduler: scheduler).encode(x0, timesteps: plan)
            #expect(xT.isFinished)
            var sampler = try Sampler(
                model: model, scheduler: scheduler, initialSample: xT.sample, timesteps: plan, source: TorchRandom(seed: 0))
            let back = try sampler.run().sample
            errors.append(Double(back.maxAbsDifference(x0)))
        }
        // max |error| ≈ 0.41, 0.085, 0.022, … (the discretisation error of the ODE)
        #expect(zip(errors, errors.dropFirst()).allSatisfy { $0 > $1 }, "\(errors)")
        #expect(errors[3] < 0.01, "\(errors)")
    }

    /// x-independent ε makes inversion the exact reverse of sampling.
    @Test func constantNoiseIsExactlyReversible() throws {
        struct Constant: NoisePredictor {
            func predictNoise(_ x: Tensor, timestep: Int) throws -> Tensor {
                Tensor(shape: x.shape, data: (0..<x.count).map { Float($0 % 5) / 5 - 0.4 })
            }
        }
        var config = SchedulerConfig()
        config.clipSample = false
        let scheduler = try DDIMScheduler(config: config)
        let plan = try scheduler.timesteps(steps: 20)
        let x0 = randn(seed: 4, [1, 1, 4, 4])
        var reports: [InversionProgress] = []
        let xT = try Inverter(model: Constant(), scheduler: scheduler).encode(x0, timesteps: plan) {
            reports.append($0)
            return true
        }
        #expect(reports.map(\.timestep) == plan.reversed())
        #expect(reports.first?.from == nil && reports.last?.from == plan[1])
        var sampler = try Sampler(model: Constant(), scheduler: scheduler, initialSample: xT.sample, timesteps: plan, source: TorchRandom(seed: 0))
        #expect(try sampler.run().sample.maxAbsDifference(x0) < 1e-4)
    }
}
