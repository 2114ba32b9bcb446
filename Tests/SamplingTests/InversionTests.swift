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
        struct Constant: DenoisingModel {
            func output(_ x: Tensor, timestep: Int) throws -> Tensor {
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

@Suite("The Inverter, one step at a time")
struct InverterSteppingTests {
    let scheduler: DDIMScheduler
    init() throws {
        var config = SchedulerConfig()
        config.clipSample = false
        scheduler = try DDIMScheduler(config: config)
    }

    @Test("stepping by hand is encode's loop: the same steps, reports and x_T")
    func stepwiseEqualsEncode() throws {
        let model = GaussianDataModel(alphaBar: scheduler.schedule.alphaBar)
        let plan = try scheduler.timesteps(steps: 10)
        let x0 = randn(seed: 6, [1, 1, 4, 4])
        var inverter = try Inverter(model: model, scheduler: scheduler, initialSample: x0, timesteps: plan)
        #expect(inverter.count == 10 && inverter.stepsDone == 0 && inverter.from == nil && inverter.sample == x0)
        var reports: [InversionProgress] = []
        while let p = try inverter.step() { reports.append(p) }
        #expect(inverter.isFinished && inverter.stepsDone == 10 && inverter.from == plan[0])
        #expect(reports.map(\.index) == Array(0..<10) && reports.map(\.timestep) == plan.reversed())
        #expect(try inverter.step() == nil)
        let encoded = try Inverter(model: model, scheduler: scheduler).encode(x0, timesteps: plan)
        #expect(encoded.sample == inverter.sample && reports.last?.sample == inverter.sample)
        // cancelled after 3 steps: x at the third timestep from the end
        let cancelled = try Inverter(model: model, scheduler: scheduler).encode(x0, timesteps: plan) { $0.index < 2 }
        #expect(!cancelled.isFinished && cancelled.sample == reports[2].sample)
    }

    @Test("a model output of the wrong shape stops the step and leaves the state as it was")
    func outputShape() throws {
        let model = RecordingModel()
        let x0 = randn(seed: 7, [1, 1, 4, 4])
        var inverter = try Inverter(model: model, scheduler: scheduler, initialSample: x0, timesteps: [900, 500, 100])
        _ = try inverter.step()
        let after = inverter.sample
        model.wrongShape = true
        #expect(throws: SamplingError.modelOutputShape(timestep: 500, expected: [1, 1, 4, 4], actual: [1])) { try inverter.step() }
        #expect(inverter.stepsDone == 1 && inverter.sample == after && inverter.from == 100)
        #expect(throws: SamplingError.self) { try Inverter(model: model, scheduler: self.scheduler, initialSample: x0, timesteps: [100, 500]) }
    }
}
