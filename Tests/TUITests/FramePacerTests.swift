import Foundation
import Testing
import TUI

@Suite("Frame pacing of the live sampler")
struct FramePacerTests {
    let t0 = Date(timeIntervalSinceReferenceDate: 1_000)

    @Test("frames: at most 15 a second, stretched to keep drawing under ~10 % of a core; keys at once")
    func frames() {
        var pacer = FramePacer()
        #expect(pacer.frameDue(at: t0, forced: false))
        pacer.drew(at: t0, seconds: 0.001, picturesOf: nil)
        #expect(!pacer.frameDue(at: t0.addingTimeInterval(0.02), forced: false))
        #expect(pacer.frameDue(at: t0.addingTimeInterval(0.02), forced: true))
        #expect(!pacer.frameDue(at: t0.addingTimeInterval(0.05), forced: false))
        #expect(pacer.frameDue(at: t0.addingTimeInterval(1.0 / 15 + 0.001), forced: false))
        // slow frames (20 ms each): the interval grows towards 9 × 20 ms
        var p = FramePacer()
        var t = t0
        for _ in 0..<60 { p.drew(at: t, seconds: 0.020, picturesOf: nil); t = t.addingTimeInterval(0.2) }
        #expect(p.frameSeconds > 0.019 && p.frameSeconds < 0.021)
        let last = t.addingTimeInterval(-0.2)
        #expect(!p.frameDue(at: last.addingTimeInterval(0.17), forced: false))
        #expect(p.frameDue(at: last.addingTimeInterval(0.19), forced: false))
    }

    @Test("pictures: at most 10 a second while a run is running; at once for a new run, a stop or a key")
    func pictures() {
        var pacer = FramePacer()
        #expect(pacer.newPictures(at: t0, generation: 3, running: true, forced: false), "nothing shown yet")
        pacer.drew(at: t0, seconds: 0.004, picturesOf: 3)
        #expect(pacer.shownGeneration == 3)
        let soon = t0.addingTimeInterval(0.05)
        #expect(!pacer.newPictures(at: soon, generation: 3, running: true, forced: false))
        #expect(pacer.newPictures(at: soon, generation: 4, running: true, forced: false), "a new run")
        #expect(pacer.newPictures(at: soon, generation: 3, running: false, forced: false), "done, paused or failed")
        #expect(pacer.newPictures(at: soon, generation: 3, running: true, forced: true), "a key")
        #expect(pacer.newPictures(at: t0.addingTimeInterval(0.101), generation: 3, running: true, forced: false))
        // a frame that keeps the pictures does not move their clock
        pacer.drew(at: soon, seconds: 0.001, picturesOf: nil)
        #expect(pacer.lastPictures == t0 && pacer.lastFrame == soon)
        // expensive pictures (30 ms a frame): the interval grows towards 19 × 30 ms
        var t = t0
        for _ in 0..<60 { pacer.drew(at: t, seconds: 0.030, picturesOf: 3); t = t.addingTimeInterval(1) }
        let last = t.addingTimeInterval(-1)
        #expect(!pacer.newPictures(at: last.addingTimeInterval(0.5), generation: 3, running: true, forced: false))
        #expect(pacer.newPictures(at: last.addingTimeInterval(0.6), generation: 3, running: true, forced: false))
    }

    @Test("paced pictures may write cellsPerSecond cells a second of the time since the last ones, at most a second's worth")
    func cellBudget() {
        var pacer = FramePacer()
        #expect(pacer.cellBudget(at: t0) == FramePacer.cellsPerSecond, "nothing shown yet: a second's worth")
        pacer.drew(at: t0, seconds: 0.004, picturesOf: 1)
        #expect(pacer.cellBudget(at: t0.addingTimeInterval(0.1)) == FramePacer.cellsPerSecond / 10)
        #expect(pacer.cellBudget(at: t0.addingTimeInterval(5)) == FramePacer.cellsPerSecond)
        // a frame without new pictures leaves the budget growing
        pacer.drew(at: t0.addingTimeInterval(0.05), seconds: 0.001, picturesOf: nil)
        #expect(pacer.cellBudget(at: t0.addingTimeInterval(0.2)) == FramePacer.cellsPerSecond / 5)
        #expect(abs(pacer.nextFrame.timeIntervalSince(t0) - (0.05 + 1.0 / 15)) < 1e-9)
    }

    @Test("over budget, the tolerance rises until at most the budget's cells changed by more; new glyphs always go")
    func budgetTolerance() {
        // 10 cells changed by each of 0…99 levels (1,000 cells)
        var histogram = [Int](repeating: 0, count: 257)
        for d in 0..<100 { histogram[d] = 10 }
        let changed = { (base: Int) in histogram[(base + 1)...].reduce(0, +) }
        #expect(CellBudget.tolerance(histogram: histogram, count: changed(3), base: 3, budget: 2000) == 3, "within budget")
        // 300 may go: the 300 that changed by 70…99
        #expect(CellBudget.tolerance(histogram: histogram, count: changed(3), base: 3, budget: 300) == 69)
        #expect(CellBudget.tolerance(histogram: histogram, count: changed(3), base: 3, budget: 305) == 69)
        #expect(CellBudget.tolerance(histogram: histogram, count: changed(3), base: 3, budget: 299) == 70)
        #expect(CellBudget.tolerance(histogram: histogram, count: changed(3), base: 3, budget: 0) == 99)
        // 50 new glyphs and a budget of 20: only they are left, and they all go
        histogram[256] = 50
        #expect(CellBudget.tolerance(histogram: histogram, count: changed(3), base: 3, budget: 20) == 255)
    }
}
