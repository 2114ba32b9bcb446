import Engine
import Foundation
import Sampling
import Tensors
import Testing

/// A clock for ``LiveRun``: each reading is one second after the last; ``jump(_:)`` lets time
/// pass between commands (a pause), as no step does.
final class SteppingClock {
    private(set) var now = 0.0
    /// The reading function a run takes.
    var reading: () -> Double { { [self] in now += 1; return now } }
    /// Lets `seconds` pass.
    func jump(_ seconds: Double) { now += seconds }
}

/// Steps `run` (a ``LiveRun`` or a ``StudioRun``) while it wants to; returns how many steps ran.
@discardableResult
func drain<Work: LiveWork>(_ run: inout Work) -> Int {
    var n = 0
    while run.wantsStep { if run.step() { n += 1 } }
    return n
}

@Suite("The live sampler's state machine, driven step by step")
struct LiveRunTests {
    let model: LoadedModel
    init() throws { model = try ModelStore.load(fixtures.appendingPathComponent("pipeline/tiny")) }

    func settings(steps: Int, noise: NoiseLevel = .eta(0), seed: UInt64 = 0, batch: Int = 1, pace: Double = 0) -> LiveSettings {
        LiveSettings(steps: steps, noise: noise, spacing: .leading, seed: seed, batch: batch, paceMilliseconds: pace)
    }

    @Test("a new run starts at x_T, steps while it wants to, and ends done; the result is the headless sampler's")
    func runToTheEnd() throws {
        var run = LiveRun(model: model, settings: settings(steps: 6, seed: 7))
        let start = run.snapshot
        #expect(start.generation == 1 && start.state == .running && start.stepsDone == 0 && start.stepCount == 6)
        #expect(start.sample.shape == [1] + model.sampleShape() && start.predictedX0 == nil)
        #expect(drain(&run) == 6)
        #expect(run.snapshot.state == .done && run.snapshot.stepsDone == 6 && run.snapshot.timestep == 0)
        #expect(!run.wantsStep && !run.step())
        let headless = try model.sample(SampleRequest(steps: 6, noise: .eta(0), seed: 7, batch: 1, spacing: .leading)).sample
        #expect(run.snapshot.sample.maxAbsDifference(headless) <= 1e-5)
    }

    @Test("paused: no step is wanted; each stepOnce is one step; resuming runs the rest")
    func pauseAndStepOnce() {
        var run = LiveRun(model: model, settings: settings(steps: 10), paused: true)
        #expect(run.snapshot.state == .paused && !run.wantsStep && !run.step())
        run.apply(.stepOnce)
        run.apply(.stepOnce)
        #expect(drain(&run) == 2)
        #expect(run.snapshot.stepsDone == 2 && run.snapshot.state == .paused)
        run.apply(.setPaused(false))
        #expect(run.snapshot.state == .running)
        #expect(drain(&run) == 8)
        #expect(run.snapshot.state == .done)
        // a stepOnce for a run that is done is dropped: the next run, paused, does not step
        run.apply(.setPaused(true))
        #expect(run.snapshot.state == .done)
        run.apply(.stepOnce)
        run.apply(.restart)
        #expect(run.snapshot.state == .paused && !run.wantsStep)
    }

    @Test("a mid-run change of S keeps x_t, re-plans below t and marks the step; η alone does not re-plan")
    func replanMidRun() {
        var run = LiveRun(model: model, settings: settings(steps: 100), paused: true)
        let xT = run.snapshot.sample
        run.apply(.stepOnce)
        run.step()
        let one = run.snapshot
        #expect(one.timestep == 990 && one.sample != xT)
        run.apply(.setSettings(steps: 10, noise: .eta(0), spacing: .leading))
        // 1 done + the current t = 980 + the 10-step plan's timesteps below 980 (900 … 0)
        #expect(run.snapshot.stepCount == 12 && run.snapshot.sample == one.sample && run.snapshot.planChanges == [1])
        #expect(run.snapshot.generation == one.generation && run.snapshot.settings.steps == 10)
        // the same step: no second mark; σ's rule alone keeps the plan
        run.apply(.setSettings(steps: 10, noise: .eta(0.5), spacing: .leading))
        #expect(run.snapshot.stepCount == 12 && run.snapshot.planChanges == [1])
        run.apply(.stepOnce)
        run.step()
        run.apply(.setSettings(steps: 10, noise: .eta(0), spacing: .leading))
        #expect(run.snapshot.stepCount == 12 && run.snapshot.planChanges == [1, 2])
        run.apply(.setPaused(false))
        drain(&run)
        #expect(run.snapshot.state == .done && run.snapshot.stepsDone == 12)
        // after the end, new settings run again from the same x_T
        run.apply(.setSettings(steps: 4, noise: .eta(0), spacing: .leading))
        #expect(run.snapshot.generation == one.generation + 1 && run.snapshot.stepsDone == 0)
        #expect(run.snapshot.stepCount == 4 && run.snapshot.sample == xT && run.snapshot.planChanges.isEmpty)
    }

    @Test("restart repeats the run exactly; a new seed or batch is a new x_T")
    func restartAndNewRun() {
        var run = LiveRun(model: model, settings: settings(steps: 5, noise: .eta(1), seed: 9, batch: 2))
        drain(&run)
        let first = run.snapshot
        run.apply(.restart)
        #expect(run.snapshot.generation == first.generation + 1 && run.snapshot.state == .running)
        drain(&run)
        #expect(run.snapshot.sample == first.sample)
        run.apply(.newRun(seed: 10, batch: 3))
        #expect(run.snapshot.settings.seeds == [10, 11, 12] && run.snapshot.sample.shape[0] == 3)
        drain(&run)
        #expect(run.snapshot.stepsDone == 5)
        // tile 1 of seeds 9, 10 is tile 0 of seeds 10, 11, 12 (each tile its own generator), up to
        // the float rounding of another batch size
        #expect(run.snapshot.sample.slice(0).maxAbsDifference(first.sample.slice(1)) <= 3e-4)
    }

    @Test("failures are typed: a rejected re-plan is shown and the old plan goes on; a run that cannot start stops until good settings")
    func failures() throws {
        var run = LiveRun(model: model, settings: settings(steps: 10), paused: true)
        run.apply(.stepOnce)
        run.step()
        run.apply(.setSettings(steps: 10, noise: .eta(-1), spacing: .leading))
        guard case .failed(let failure) = run.snapshot.state else { Issue.record("\(run.snapshot.state)"); return }
        guard case .etaOutOfRange(let eta, _, _) = failure.error as? SamplingError else { Issue.record("\(failure)"); return }
        #expect(eta == -1 && failure.description.contains("η = -1.0"))
        #expect(run.snapshot.stepCount == 10 && run.snapshot.settings.noise == .eta(0))
        run.apply(.setPaused(false))
        #expect(run.wantsStep)
        drain(&run)
        #expect(run.snapshot.state == .done && run.snapshot.stepsDone == 10)
        // done: new settings are a fresh run, which fails at once (S = 0), keeping the last picture
        let done = run.snapshot
        run.apply(.setSettings(steps: 0, noise: .eta(0), spacing: .leading))
        guard case .failed(let startFailure) = run.snapshot.state else { Issue.record("\(run.snapshot.state)"); return }
        #expect(startFailure.error is TimestepSpacingError)
        #expect(run.snapshot.sample == done.sample && run.snapshot.settings == done.settings)
        #expect(!run.wantsStep && !run.step())
        run.apply(.restart)
        #expect(!run.wantsStep)
        run.apply(.setSettings(steps: 3, noise: .eta(0), spacing: .leading))
        #expect(run.snapshot.state == .running && run.snapshot.generation == done.generation + 1)
        #expect(drain(&run) == 3)
    }

    @Test("a run's time counts its steps, not a pause; timing blocks add up to it; a new run starts afresh")
    func runTime() {
        let clock = SteppingClock()
        var run = LiveRun(model: model, settings: settings(steps: 20), paused: true, timingBlock: 3, clock: clock.reading)
        run.apply(.stepOnce)
        run.step()
        // one step: read at its start and at its end, one second apart
        #expect(run.snapshot.runSeconds == 1 && run.snapshot.blockSeconds == [1])
        clock.jump(100)  // paused for 100 s
        run.apply(.setPaused(false))
        drain(&run)
        // a step that follows another reads the clock once: 1 s each, the pause left out
        #expect(run.snapshot.runSeconds == 20)
        // steps 0–2, 3–5, …, 18–19
        #expect(run.snapshot.blockSeconds == [3, 3, 3, 3, 3, 3, 2])
        run.apply(.restart)
        #expect(run.snapshot.runSeconds == 0 && run.snapshot.blockSeconds.isEmpty)
        #expect(run.snapshot.meanMilliseconds == 0 && run.snapshot.secondsLeft == 0)
    }

    // MARK: - Pace (a SteppingClock: each reading 1 s after the last, so a step takes 1 s)

    @Test("paced: a step is due at the last one's start + the pace, not before; the wait is not the run's time")
    func paceDue() {
        let clock = SteppingClock()
        var run = LiveRun(model: model, settings: settings(steps: 10, pace: 10_000), clock: clock.reading)
        #expect(run.nextStepDue == nil && run.snapshot.settings.paceMilliseconds == 10_000)
        // the first step is due at once: read at 1 (its start) and 2 (its end)
        #expect(run.step() && run.snapshot.stepsDone == 1 && run.snapshot.runSeconds == 1)
        #expect(run.nextStepDue == 11 && run.wantsStep)
        // at 3, 8 s early: no step, and the worker would wait the rest (read at 4)
        #expect(!run.step() && run.snapshot.stepsDone == 1)
        #expect(run.secondsUntilStep() == 7)
        clock.jump(6)  // the next reading is 11: due
        #expect(run.step() && run.snapshot.stepsDone == 2)
        // 1 s a step: the 9 s between them were waiting, left out
        #expect(run.snapshot.runSeconds == 2 && run.nextStepDue == 21)
        // a restart's first step is due at once again
        run.apply(.restart)
        #expect(run.nextStepDue == nil && run.snapshot.settings.paceMilliseconds == 10_000)
        #expect(run.step() && run.snapshot.runSeconds == 1)
    }

    @Test("a new pace applies from the next step, at once if it is waiting; pace 0 never waits")
    func setPace() {
        let clock = SteppingClock()
        var run = LiveRun(model: model, settings: settings(steps: 10, pace: 10_000), clock: clock.reading)
        run.step()  // started at 1
        run.apply(.setPace(milliseconds: 2_000))
        #expect(run.nextStepDue == 3 && run.snapshot.settings.paceMilliseconds == 2_000)
        // read at 3: due
        #expect(run.step() && run.snapshot.stepsDone == 2)
        run.apply(.setPace(milliseconds: 0))
        #expect(run.nextStepDue == nil && run.secondsUntilStep() == 0 && run.snapshot.settings.paceMilliseconds == 0)
        // unpaced, a step follows the last one's end without reading the clock at its start
        let before = run.snapshot.runSeconds
        #expect(drain(&run) == 8)
        #expect(run.snapshot.runSeconds == before + 8 && run.snapshot.state == .done)
        // a negative pace is none; the pace survives new runs and settings
        run.apply(.setPace(milliseconds: -5))
        run.apply(.newRun(seed: 1, batch: 1))
        run.apply(.setSettings(steps: 4, noise: .eta(0), spacing: .leading))
        #expect(run.snapshot.settings.paceMilliseconds == 0)
        run.apply(.setPace(milliseconds: 500))
        #expect(run.snapshot.settings.paceMilliseconds == 500)
    }

    @Test("a pause during the wait keeps the due time: resuming late steps at once, resuming early waits the rest only")
    func pauseDuringWait() {
        let clock = SteppingClock()
        var run = LiveRun(model: model, settings: settings(steps: 10, pace: 10_000), clock: clock.reading)
        run.step()  // started at 1: the next is due at 11
        run.apply(.setPaused(true))
        #expect(!run.wantsStep && run.secondsUntilStep() == .infinity)
        run.apply(.setPaused(false))
        // resumed early (the clock reads 3): the same due time, not 3 + 10
        #expect(run.nextStepDue == 11 && run.secondsUntilStep() == 8)
        run.apply(.setPaused(true))
        clock.jump(100)
        run.apply(.setPaused(false))
        // resumed 90 s late: due at once; the pause is not the run's time
        #expect(run.secondsUntilStep() < 0)
        #expect(run.step() && run.snapshot.stepsDone == 2 && run.snapshot.runSeconds == 2)
        // single steps while paused are paced too: the second waits for the first's start + pace
        run.apply(.setPaused(true))
        run.apply(.stepOnce)
        run.apply(.stepOnce)
        #expect(!run.step() && run.snapshot.stepsDone == 2)
        clock.jump(10)
        #expect(run.step() && !run.step() && run.snapshot.stepsDone == 3 && run.wantsStep)
        clock.jump(10)
        #expect(run.step() && run.snapshot.stepsDone == 4 && !run.wantsStep)
    }

    // MARK: - Pace on the worker's thread (LiveSampler): lower bounds on time only

    @Test("a worker: 5 steps at 20 ms a step take at least 80 ms; the run's time is the model's")
    func pacedRun() throws {
        let live = LiveSampler(model: model, settings: LiveSettings(steps: 5, noise: .eta(0), spacing: .leading, seed: 0, batch: 1,
                                                                   paceMilliseconds: 20))
        let start = ContinuousClock.now
        live.start()
        defer { live.stop() }
        let done = try #require(waitFor(live) { $0.state == .done })
        let wall = (ContinuousClock.now - start).milliseconds
        // steps start at 0, 20, 40, 60, 80 ms at the earliest
        #expect(wall >= 80, "\(wall) ms")
        #expect(done.runSeconds > 0 && done.settings.paceMilliseconds == 20)
    }

    @Test("a worker: a command mid-wait is applied at once: pace 0 ends a 10 s wait")
    func commandDuringWait() throws {
        let live = LiveSampler(model: model, settings: LiveSettings(steps: 3, noise: .eta(0), spacing: .leading, seed: 0, batch: 1,
                                                                   paceMilliseconds: 10_000))
        live.start()
        defer { live.stop() }
        _ = try #require(waitFor(live) { $0.stepsDone == 1 })
        live.send(.setPace(milliseconds: 0))
        // paced, the run would need 20 s more
        let done = try #require(waitFor(live, timeout: 8) { $0.state == .done })
        #expect(done.stepsDone == 3 && done.settings.paceMilliseconds == 0)
    }
}
