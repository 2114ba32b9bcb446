import Engine
import Foundation
import Sampling
import Tensors
import Testing

/// The two live workers driven by random commands at a high rate from several threads, as a user
/// mashing keys would (and faster). Run under ThreadSanitizer too:
/// `swift test -c release --sanitize thread --disable-xctest --filter Stress` (docs/reliability.md).
@Suite("Live workers under random commands")
struct StressTests {
    let model: LoadedModel
    init() throws { model = try ModelStore.load(fixtures.appendingPathComponent("pipeline/tiny")) }

    /// A small deterministic generator per thread.
    struct Dice {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33) % n
        }
    }

    @Test("the sampler worker: 3 threads × 600 random commands, snapshots stay consistent, the last settings win")
    func sampler() throws {
        let live = LiveSampler(model: model, settings: LiveSettings(steps: 20, noise: .eta(0), spacing: .leading, seed: 0, batch: 2))
        live.start()
        let spacings = TimestepSpacing.allCases
        DispatchQueue.concurrentPerform(iterations: 3) { thread in
            var dice = Dice(state: UInt64(thread + 1))
            for _ in 0..<600 {
                switch dice.next(6) {
                case 0: live.send(.setSettings(steps: 1 + dice.next(60), noise: dice.next(4) == 0 ? .ddpmLarge : .eta(Float(dice.next(11)) / 10),
                                               spacing: spacings[dice.next(spacings.count)]))
                case 1: live.send(.newRun(seed: UInt64(dice.next(1000)), batch: 1 + dice.next(4)))
                case 2: live.send(.restart)
                case 3: live.send(.setPaused(dice.next(2) == 0))
                case 4: live.send(.stepOnce)
                default:
                    let s = live.latest().snapshot
                    // a snapshot is a consistent picture of one moment
                    precondition(s.stepsDone <= s.stepCount, "steps \(s.stepsDone) of \(s.stepCount)")
                    precondition(s.sample.count == 0 || s.sample.shape[0] == s.settings.batch || s.state == .failed(""), "batch")
                }
                if dice.next(8) == 0 { Thread.sleep(forTimeInterval: 0.0005) }
            }
        }
        // the last word: a known run, which must come out as the headless sampler's
        live.send(.newRun(seed: 7, batch: 1))
        live.send(.setSettings(steps: 6, noise: .eta(0), spacing: .leading))
        live.send(.setPaused(false))
        live.send(.restart)
        let done = try #require(waitFor(live, timeout: 30) { $0.state == .done && $0.settings.seed == 7 && $0.stepCount == 6 && $0.stepsDone == 6 })
        let clock = ContinuousClock()
        let start = clock.now
        live.stop()
        #expect(clock.now - start < .seconds(5))
        let headless = try model.sample(SampleRequest(steps: 6, noise: .eta(0), seed: 7, batch: 1, spacing: .leading)).sample
        #expect(done.sample.maxAbsDifference(headless) <= 1e-5)
    }

    @Test("the studio worker: views switched at random, then the last one completes")
    func studio() throws {
        let studio = LiveStudio(model: model)
        var dice = Dice(state: 99)
        let image = model.latent(seed: 1)
        for _ in 0..<300 {
            switch dice.next(5) {
            case 0: studio.show(.compare(seed: UInt64(dice.next(5)), columns: [.init(steps: 1 + dice.next(8), noise: .eta(0)), .init(steps: 4, noise: .eta(1))],
                                         spacing: .leading), fresh: dice.next(3) == 0)
            case 1: studio.show(.interpolate(seedA: 1, seedB: 2, alpha: Float(dice.next(11)) / 10, steps: 1 + dice.next(6), spacing: .trailing))
            case 2: studio.show(.invert(image: image, name: "x", steps: 1 + dice.next(6), spacing: .leading))
            case 3: studio.setPaused(dice.next(2) == 0)
            default: studio.stepOnce()
            }
            if dice.next(4) == 0 { Thread.sleep(forTimeInterval: 0.001) }
        }
        studio.setPaused(false)
        studio.show(.interpolate(seedA: 3, seedB: 4, alpha: 0.5, steps: 5, spacing: .leading))
        let deadline = Date().addingTimeInterval(30)
        var last = studio.latest().snapshot
        while Date() < deadline {
            last = studio.latest().snapshot
            if case .interpolate(3, 4, 0.5, 5, .leading) = last.view, last.isDone { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        #expect(last.isDone && last.tiles.count == 3 && last.failure == nil)
        // the middle tile is slerp(x_T(3), x_T(4), ½) sampled at η = 0
        let z = slerp(model.latent(seed: 3), model.latent(seed: 4), alpha: 0.5)
        let want = try model.decode(z, steps: 5, spacing: .leading).sample
        #expect(try #require(last.tiles[1].image).maxAbsDifference(want) <= 1e-5)
        studio.stop()
    }
}
