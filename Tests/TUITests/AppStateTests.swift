import Engine
import Foundation
import Preview
import Sampling
import Tensors
import Testing
import TUI

/// The live sampler's state and keys, without a terminal or a model.
@Suite("AppState: keys → actions → state → reactions")
struct AppStateTests {
    let now = Date(timeIntervalSinceReferenceDate: 5_000)

    func state(steps: Int = 50, eta: Float = 0, batch: Int = 1, largestEta: Float = 1.5, memoryFor: Int = 64, paused: Bool = false) -> AppState {
        let limits = AppState.Limits(
            trainTimesteps: 1000, largestEta: { _, _ in largestEta },
            batchProblem: { $0 > memoryFor ? "a batch of \($0) needs more memory than the process may use" : nil },
            unicode: true, themes: ["dusk", "paper", "contrast"])
        let settings = LiveSettings(steps: steps, noise: .eta(eta), spacing: .leading, seed: 7, batch: batch)
        return AppState(limits: limits, settings: settings, paused: paused, blitter: .half, colorMode: .truecolor, colormap: .grey, themeName: "dusk")
    }

    func picture() -> Picture { (Tensor(shape: [1, 1, 2, 2]), "seed 7") }

    @discardableResult
    func type(_ keys: String, into s: inout AppState, current: Picture? = nil) -> Reaction {
        var all: Reaction = []
        for c in keys { all.formUnion(s.handle(.character(c), now: now, current: { current })) }
        return all
    }

    @Test("η moves in tenths, stays ≥ 0, and is sent as a setting; h toggles σ̂")
    func eta() {
        var s = state(eta: 0.1)
        #expect(type("E", into: &s) == [.redraw, .sendSettings])
        #expect(s.settings.noise == .eta(0.2))
        type("eee", into: &s)
        #expect(s.settings.noise == .eta(0))
        type("h", into: &s)
        #expect(s.settings.noise == .ddpmLarge)
        type("h", into: &s)
        #expect(s.settings.noise == .eta(0))
    }

    @Test("η past the plan's largest comes down to its largest tenth, with a warning")
    func etaLimit() {
        var s = state(eta: 1.3, largestEta: 1.35)
        type("E", into: &s)
        #expect(s.settings.noise == .eta(1.3))
        #expect(s.status?.warning == true)
        #expect(s.status?.text.contains("the largest for 50 steps") == true)
    }

    @Test("steps: s/S by one within 1…T, the digit presets, the spacing cycle")
    func steps() {
        var s = state(steps: 2)
        type("ss", into: &s)
        #expect(s.settings.steps == 1)
        type("S", into: &s)
        #expect(s.settings.steps == 2)
        #expect(type("3", into: &s).contains(.sendSettings))
        #expect(s.settings.steps == 50)
        type("6", into: &s)
        #expect(s.settings.steps == 1000)
        type("S", into: &s)
        #expect(s.settings.steps == 1000)
        type("p", into: &s)
        #expect(s.settings.spacing == .trailing)
    }

    @Test("seeds move by the batch; a batch that does not fit stays, with the reason")
    func seedsAndBatch() {
        var s = state(batch: 2, memoryFor: 3)
        #expect(type("n", into: &s) == [.redraw, .newRun])
        #expect(s.settings.seed == 9)
        type("NN", into: &s)
        #expect(s.settings.seed == 5)
        type("+", into: &s)
        #expect(s.settings.batch == 3)
        #expect(type("+", into: &s) == .redraw)
        #expect(s.settings.batch == 3)
        #expect(s.status?.text.contains("a batch of 4") == true)
        type("----", into: &s)
        #expect(s.settings.batch == 1)
    }

    @Test("limits: seeds stay within 0…2⁶⁴ − 1, the batch within 1…64, the steps within 1…T, each said when hit")
    func limits() {
        var s = state(batch: 4)
        s.settings.seed = 2
        type("N", into: &s)
        #expect(s.settings.seed == 0)
        #expect(type("N", into: &s) == .redraw)
        #expect(s.settings.seed == 0 && s.status?.text == "seed 0 is the first")
        s.settings.seed = UInt64.max - 5
        type("n", into: &s)
        #expect(s.settings.seed == UInt64.max - 3 && s.settings.seeds.last == UInt64.max)
        #expect(type("n", into: &s) == .redraw)
        #expect(s.status?.text.contains("is the last") == true)
        s.settings.batch = AppState.maxBatch
        #expect(type("+", into: &s) == .redraw)
        #expect(s.settings.batch == 64 && s.status?.text == "64 samples at most")
        s.settings.steps = 1000
        type("S", into: &s)
        #expect(s.settings.steps == 1000 && s.status?.text.contains("1000 steps at most") == true)
    }

    @Test("z zooms tile 0, then each next tile, then shows all; a smaller batch keeps the zoom on a tile that exists")
    func zoom() {
        var s = state(batch: 3)
        type("z", into: &s)
        #expect(s.zoom == 0)
        type("zz", into: &s)
        #expect(s.zoom == 2)
        type("-", into: &s)
        #expect(s.zoom == 1)
        type("z", into: &s)
        #expect(s.zoom == nil)
    }

    @Test("< halves the pace, > doubles it, within 0…10 s; --measure-ui keeps it at 0")
    func pace() {
        var s = state()
        s.settings.paceMilliseconds = 70
        #expect(type("<", into: &s) == [.redraw, .sendPace])
        #expect(s.settings.paceMilliseconds == 35 && s.status?.text == "pace: at least 35 ms a step")
        type("<<<<<<<", into: &s)
        #expect(s.settings.paceMilliseconds == 0 && s.status?.text == "pace: as fast as it goes")
        type(">", into: &s)
        #expect(s.settings.paceMilliseconds == 1)
        type(String(repeating: ">", count: 20), into: &s)
        #expect(s.settings.paceMilliseconds == 10_000 && s.status?.text == "pace: at least 10 s a step")
        s.limits.paceFixed = "--measure-ui times unpaced steps: the pace stays 0"
        #expect(type(">", into: &s) == .redraw)
        #expect(s.settings.paceMilliseconds == 10_000)
    }

    @Test("← → step through the recorded steps while paused or done; Home is x_T, End and → past the last the newest")
    func scrub() {
        var s = state()
        let stopped = AppState.Timeline(steps: [0, 2, 4, 6], latest: 6, stopped: true)
        let running = AppState.Timeline(steps: [0, 2, 4, 6], latest: 6, stopped: false)
        #expect(s.handle(.left, now: now, timeline: { running }) == .redraw)
        #expect(s.scrub == nil && s.status?.text.contains("pause") == true)
        _ = s.handle(.left, now: now, timeline: { stopped })
        #expect(s.scrub == 4)
        _ = s.handle(.left, now: now, timeline: { stopped })
        _ = s.handle(.left, now: now, timeline: { stopped })
        #expect(s.scrub == 0)
        _ = s.handle(.left, now: now, timeline: { stopped })
        #expect(s.scrub == 0 && s.status?.text == "x_T: the first step")
        _ = s.handle(.right, now: now, timeline: { stopped })
        #expect(s.scrub == 2)
        _ = s.handle(.end, now: now, timeline: { stopped })
        #expect(s.scrub == nil)
        _ = s.handle(.home, now: now, timeline: { stopped })
        #expect(s.scrub == 0)
        type("v", into: &s)
        #expect(s.scrub == 0)
        type(" ", into: &s)
        #expect(s.scrub == nil)
        // the wheel steps like the arrows; a click on the bar goes to that point of the run
        _ = s.handle(.wheel(up: true), now: now, timeline: { stopped })
        #expect(s.scrub == 4)
        _ = s.handle(.wheel(up: false), now: now, timeline: { stopped })
        #expect(s.scrub == nil)
        _ = s.handle(.clickBar(fraction: 0.5), now: now, timeline: { stopped })
        #expect(s.scrub == 2)
        _ = s.handle(.clickBar(fraction: 0.99), now: now, timeline: { stopped })
        #expect(s.scrub == nil)
        _ = s.handle(.clickBar(fraction: 0), now: now, timeline: { stopped })
        #expect(s.scrub == 0)
        type(" ", into: &s)
        // in the interpolation view the arrows still move α
        type("i", into: &s)
        _ = s.handle(.left, now: now, timeline: { stopped })
        #expect(abs(s.alpha - 0.4) < 1e-6 && s.scrub == nil)
    }

    @Test("σ̂ off gives back the η it replaced")
    func hatRestoresEta() {
        var s = state(eta: 0.3)
        type("h", into: &s)
        #expect(s.settings.noise == .ddpmLarge)
        type("h", into: &s)
        #expect(s.settings.noise == .eta(0.3))
    }

    @Test("space pauses; . pauses first, then steps once")
    func pauseAndStep() {
        var s = state()
        #expect(type(".", into: &s) == [.redraw, .pause, .stepOnce])
        #expect(s.paused)
        #expect(type(".", into: &s) == [.redraw, .stepOnce])
        #expect(type(" ", into: &s) == [.redraw, .pause])
        #expect(!s.paused)
    }

    @Test("a studio view pauses the sampler and gives it back as it was; seeds move by one there")
    func studio() {
        var s = state(batch: 4, paused: true)
        #expect(type("k", into: &s).contains(.switchWorker))
        #expect(s.mode == .compareSteps && !s.paused && s.samplerPaused)
        #expect(type("n", into: &s) == [.redraw, .newRun, .showStudio])
        #expect(s.settings.seed == 8)
        type("v", into: &s)
        #expect(s.view == .predicted)
        #expect(s.status?.text == "batch, view and zoom apply to the sampler (press k to go back)")
        type(" K", into: &s)
        #expect(s.mode == .compareEta && s.paused)
        type("K", into: &s)
        #expect(s.mode == .sample && s.paused)
    }

    @Test("u inverts the current picture, and says so when there is none")
    func invert() {
        var s = state()
        type("u", into: &s)
        #expect(s.mode == .sample)
        #expect(s.status == Status(text: "nothing to invert yet", warning: true, until: now.addingTimeInterval(6)))
        type("u", into: &s, current: picture())
        #expect(s.mode == .invert && s.inversion?.name == "seed 7")
        type("u", into: &s)
        #expect(s.mode == .sample)
    }

    @Test("α moves in tenths within [0, 1] in the interpolation view only")
    func alpha() {
        var s = state()
        type("]", into: &s)
        #expect(s.alpha == 0.5 && s.status?.text.contains("interpolation view") == true)
        type("i", into: &s)
        #expect(s.handle(.right, now: now) == [.redraw, .showStudio])
        #expect(abs(s.alpha - 0.6) < 1e-6)
        type("[[[[[[[[", into: &s)
        #expect(s.alpha == 0)
    }

    @Test("the help overlay: ? opens it, any key closes it without acting, q still quits")
    func help() {
        var s = state()
        type("?", into: &s)
        #expect(s.showHelp)
        #expect(type("E", into: &s) == .redraw)
        #expect(!s.showHelp && s.settings.noise == .eta(0))
        type("??", into: &s)
        #expect(!s.showHelp)
        type("?", into: &s)
        #expect(type("q", into: &s) == [.redraw, .quit])
    }

    @Test("the open prompt takes every key until Enter or Escape")
    func prompt() {
        var s = state()
        type("o", into: &s)
        #expect(s.prompt == "")
        type("~/a.pngx", into: &s)
        #expect(s.handle(.backspace, now: now) == .redraw)
        #expect(s.prompt == "~/a.png" && s.settings.noise == .eta(0))
        #expect(s.handle(.enter, now: now) == [.redraw, .open])
        #expect(s.prompt == nil && s.openRequest?.hasSuffix("/a.png") == true && s.openRequest?.hasPrefix("~") == false)
        type("oq\u{1B}", into: &s)
        #expect(s.prompt == nil)
        type("o   \r", into: &s)
        #expect(s.prompt == nil)
    }

    @Test("an opened picture goes to the inversion view (replacing the one there)")
    func opened() {
        var s = state()
        #expect(s.opened(picture()) == .switchWorker)
        #expect(s.mode == .invert)
        #expect(s.opened((Tensor(shape: [1, 1, 2, 2]), "b.png")) == .showStudio)
        #expect(s.inversion?.name == "b.png")
    }

    @Test("keys without a binding say so; Ctrl-C quits as SIGINT; themes and colours cycle")
    func others() {
        var s = state()
        #expect(type("Z", into: &s) == .redraw)
        #expect(s.status?.text == "no key 'Z' — ? for help")
        #expect(type("\u{3}", into: &s) == [.redraw, .quit, .interrupt])
        #expect(type("t", into: &s).contains(.loadTheme))
        #expect(s.themeName == "paper")
        s.maxColorMode = .palette256
        type("c", into: &s)
        #expect(s.colorMode == .palette256)
        type("cc", into: &s)
        #expect(s.colorMode == .mono)
        type("c", into: &s)
        #expect(s.colorMode == .palette256)
    }
    @Test("l cycles the class of a class-conditional model and sends it; an unconditional model says it has none")
    func classKey() {
        var s = state()
        #expect(s.handle(.character("l")) == .redraw)
        #expect(s.status?.text.contains("unconditional") == true && s.settings.classLabel == nil)
        s.limits.classCount = 3
        s.settings.classLabel = 0
        var seen: [Int?] = []
        for _ in 0..<3 {
            let r = s.handle(.character("l"))
            #expect(r.contains(.sendClass))
            seen.append(s.settings.classLabel)
        }
        #expect(seen == [1, 2, 0])
        // no null class: { and } refuse, saying why
        #expect(s.handle(.character("}")) == .redraw)
        #expect(s.status?.text.contains("no null class") == true && s.settings.guidance == nil)
    }

    @Test("a guided model (null class 3): l cycles 0 → 1 → 2 → any; { and } move w by 0.5 within 0…10 and send it")
    func guidanceKeys() {
        var s = state()
        s.limits.classCount = 4
        s.limits.nullClass = 3
        var seen: [Int?] = []
        for _ in 0..<5 {
            #expect(s.handle(.character("l")).contains(.sendClass))
            seen.append(s.settings.classLabel)
        }
        #expect(seen == [0, 1, 2, nil, 0])
        s.settings.guidance = 1
        #expect(s.handle(.character("}")).contains(.sendGuidance))
        #expect(s.settings.guidance == 1.5 && s.status?.text == "guidance w 1.5, from the next step")
        for _ in 0..<30 { _ = s.handle(.character("}")) }
        #expect(s.settings.guidance == 10)
        for _ in 0..<30 { _ = s.handle(.character("{")) }
        #expect(s.settings.guidance == 0)
        // a --guidance off the 0.5 grid moves onto it
        s.settings.guidance = 2.3
        _ = s.handle(.character("{"))
        #expect(s.settings.guidance == 2)
        s.settings.classLabel = nil
        _ = s.handle(.character("}"))
        #expect(s.status?.text.contains("no effect until l picks a class") == true)
    }
}


@Suite("FramePlan: what a pass of the UI loop draws")
struct FramePlanTests {
    let t0 = Date(timeIntervalSinceReferenceDate: 1_000)

    func pacer(showing generation: Int) -> FramePacer {
        var p = FramePacer()
        p.drew(at: t0, seconds: 0.002, picturesOf: generation)
        return p
    }

    @Test("a forced frame is whole and exact at once; nothing new and nothing forced draws nothing")
    func forced() {
        let p = pacer(showing: 1)
        #expect(FramePlan.decide(FrameInput(generation: 1, running: true, dirty: true), pacer: p, now: t0) == FramePlan(content: .whole))
        #expect(FramePlan.decide(FrameInput(generation: 1, running: true), pacer: p, now: t0.addingTimeInterval(1)).content == .nothing)
        #expect(FramePlan.decide(FrameInput(mode: .invert, dirty: true), pacer: p, now: t0).content == .studio)
    }

    @Test("paced frames of a running run: progress only until new pictures are due, then the tiles within a cell budget")
    func paced() {
        let p = pacer(showing: 1)
        let input = FrameInput(generation: 1, running: true, changed: true)
        #expect(FramePlan.decide(input, pacer: p, now: t0.addingTimeInterval(0.01)).content == .nothing)
        #expect(FramePlan.decide(input, pacer: p, now: t0.addingTimeInterval(0.07)) == FramePlan(content: .progress, tolerance: 3))
        let pictures = FramePlan.decide(input, pacer: p, now: t0.addingTimeInterval(0.25))
        #expect(pictures == FramePlan(content: .pictures, tolerance: 3, budget: FramePacer.cellsPerSecond / 4))
        // a new run, or a run that ended, is drawn whole and exact
        #expect(FramePlan.decide(FrameInput(generation: 2, running: true, changed: true), pacer: p, now: t0.addingTimeInterval(0.07)).content == .whole)
        #expect(FramePlan.decide(FrameInput(generation: 1, changed: true), pacer: p, now: t0.addingTimeInterval(0.07)) == FramePlan(content: .whole))
    }

    @Test("the wait for a key: until the next frame while busy, 33 ms once due, 250 ms when idle")
    func wait() {
        let p = pacer(showing: 1)
        #expect(FramePlan.wait(busy: false, pending: false, pacer: p, now: t0) == 250)
        #expect(FramePlan.wait(busy: true, pending: false, pacer: p, now: t0.addingTimeInterval(0.04)) == 27)
        #expect(FramePlan.wait(busy: false, pending: true, pacer: p, now: t0.addingTimeInterval(1)) == 33)
    }
}
