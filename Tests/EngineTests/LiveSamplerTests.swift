import Engine
import Foundation
import Sampling
import Tensors
import Testing

/// Polls `live` until `predicate` holds for its latest snapshot, or `timeout` seconds pass.
func waitFor(_ live: LiveSampler, timeout: Double = 20, _ predicate: (LiveSnapshot) -> Bool) -> LiveSnapshot? {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        let s = live.latest().snapshot
        if predicate(s) { return s }
        Thread.sleep(forTimeInterval: 0.005)
    }
    return nil
}

@Suite("The live sampler's worker, headless")
struct LiveSamplerTests {
    let model: LoadedModel
    init() throws { model = try ModelStore.load(fixtures.appendingPathComponent("pipeline/tiny")) }

    @Test("a run publishes every step and ends done; tile i is a batch-1 run of seed + i")
    func run() throws {
        let live = LiveSampler(model: model, settings: LiveSettings(steps: 8, noise: .eta(0), spacing: .leading, seed: 3, batch: 2))
        live.start()
        defer { live.stop() }
        let done = try #require(waitFor(live) { $0.state == .done })
        #expect(done.stepsDone == 8 && done.stepCount == 8)
        let single = try model.sample(SampleRequest(steps: 8, noise: .eta(0), seed: 4, batch: 1)).sample
        // equal up to float rounding: a batch of 2 shares one GEMM per conv, a batch of 1 does not,
        // and their 8×8 maps take different paths (Winograd at batch 1, im2col at 2), whose folded
        // group norm + SiLU use different exponentials (the AVX2 transform's, and the C one's,
        // which a ThreadSanitizer build compiles without FMA): 1.3e-4 there after 8 steps of
        // this random-weight model, under 1e-4 in release builds
        #expect(done.sample.slice(1).maxAbsDifference(single) <= 3e-4)
    }

    @Test("a run's time counts its steps, not a pause; timing blocks add up to it")
    func runTime() throws {
        let live = LiveSampler(model: model, settings: LiveSettings(steps: 20, noise: .eta(0), spacing: .leading, seed: 0, batch: 1),
                               paused: true, timingBlock: 3)
        live.start()
        defer { live.stop() }
        _ = try #require(waitFor(live) { $0.stepCount == 20 })
        live.send(.stepOnce)
        let one = try #require(waitFor(live) { $0.stepsDone == 1 })
        #expect(one.runSeconds > 0 && one.blockSeconds == [one.runSeconds])
        // paused for 0.3 s: a run's time that counted it would exceed the wall time from here on
        Thread.sleep(forTimeInterval: 0.3)
        let resumed = Date()
        live.send(.setPaused(false))
        let done = try #require(waitFor(live) { $0.state == .done })
        let wall = Date().timeIntervalSince(resumed)
        #expect(done.runSeconds > one.runSeconds && done.runSeconds - one.runSeconds <= wall, "\(done.runSeconds) s, wall \(wall) s")
        // steps 0–2, 3–5, …, 18–19: seven blocks, whose times are the run's
        #expect(done.blockSeconds.count == 7 && done.blockSeconds.allSatisfy { $0 > 0 })
        #expect(abs(done.blockSeconds.reduce(0, +) - done.runSeconds) < 1e-9)
        // a new run (paused, so that it stays at its start) starts its time afresh
        live.send(.setPaused(true))
        live.send(.restart)
        let fresh = try #require(waitFor(live) { $0.generation == done.generation + 1 })
        #expect(fresh.runSeconds == 0 && fresh.blockSeconds.isEmpty)
    }

    @Test("paused: nothing runs until one step is asked for; a mid-run step change keeps x_t and re-plans below t")
    func pauseAndReplan() throws {
        let live = LiveSampler(model: model, settings: LiveSettings(steps: 100, noise: .eta(0), spacing: .leading, seed: 0, batch: 1),
                               paused: true)
        live.start()
        defer { live.stop() }
        let start = try #require(waitFor(live) { $0.stepCount == 100 })
        Thread.sleep(forTimeInterval: 0.1)
        #expect(live.latest().snapshot.stepsDone == 0)
        live.send(.stepOnce)
        let one = try #require(waitFor(live) { $0.stepsDone == 1 })
        #expect(one.timestep == 990 && one.sample != start.sample)
        live.send(.setSettings(steps: 10, noise: .eta(0), spacing: .leading))
        // 1 done + the current t = 980 + the 10-step plan's timesteps below 980 (900 … 0)
        let replanned = try #require(waitFor(live) { $0.stepCount == 12 })
        #expect(replanned.sample == one.sample)
        #expect(replanned.planChanges == [1])
        live.send(.setPaused(false))
        let done = try #require(waitFor(live) { $0.state == .done })
        #expect(done.stepsDone == 12)
    }

    @Test("restart repeats the run exactly; a new seed gives another one")
    func restart() throws {
        let live = LiveSampler(model: model, settings: LiveSettings(steps: 5, noise: .eta(1), spacing: .trailing, seed: 9, batch: 2))
        live.start()
        defer { live.stop() }
        let first = try #require(waitFor(live) { $0.state == .done })
        live.send(.restart)
        let second = try #require(waitFor(live) { $0.state == .done && $0.generation > first.generation })
        #expect(second.sample == first.sample)
        live.send(.newRun(seed: 11, batch: 2))
        let third = try #require(waitFor(live) { $0.state == .done && $0.generation > second.generation })
        #expect(third.sample != first.sample)
        // seeds 11, 12: tile 0 of this run is tile 1 of seed 10's
        #expect(third.settings.seeds == [11, 12])
    }
}
