import Engine
import Foundation
import Graphics
import Preview
import Sampling
import Tensors

/// Everything the live sampler shows and the keys change, in one place and pure: keys come in as
/// ``Input``, go through the key table (``KeyBindings``) to an ``Action``, change the state, and
/// come out as a ``Reaction`` for the app to carry out. Tested without a terminal or a model.
public struct AppState {
    /// What the state needs to know of the model and the terminal.
    public struct Limits {
        /// T: the largest step count.
        public var trainTimesteps: Int
        /// The largest η of a plan (``DDIMScheduler/largestEta(plan:)``) for (steps, spacing).
        public var largestEta: (Int, TimestepSpacing) -> Float
        /// Why a live run of this batch would not fit in memory (nil: it fits).
        public var batchProblem: (Int) -> String?
        /// Whether the locale is UTF-8 (block glyphs show).
        public var unicode: Bool
        /// The themes `t` cycles through.
        public var themes: [String]
        /// Why `<` and `>` may not change the pace (nil: they may): `--measure-ui` times unpaced steps.
        public var paceFixed: String?
        /// The classes `l` cycles through (nil: the model is unconditional).
        public var classCount: Int?
        /// A guided model's null class: `l` then cycles through "any" (unconditional) too, and
        /// `{` / `}` change the guidance weight (nil: no guidance).
        public var nullClass: Int?
        /// The ways of drawing pictures `g` cycles through (``GraphicsDecision/choices``).
        public var graphicsChoices: [GraphicsProtocol] = [.blocks]
        /// Why pictures are blocks only (said when `g` has nothing to switch to).
        public var graphicsNote: String?

        /// What the state is told.
        public init(trainTimesteps: Int, largestEta: @escaping (Int, TimestepSpacing) -> Float, batchProblem: @escaping (Int) -> String?,
                    unicode: Bool, themes: [String]) {
            (self.trainTimesteps, self.largestEta, self.batchProblem, self.unicode, self.themes) = (trainTimesteps, largestEta, batchProblem, unicode, themes)
            paceFixed = nil
        }
    }

    public var limits: Limits
    /// The sampler's settings (a studio view samples with them too).
    public var settings: LiveSettings
    /// Which view is on screen: the sampler or a studio view.
    public var mode: Mode = .sample
    /// What the sampler's tiles show.
    public var view: View = .predicted
    /// The tile shown alone, full-screen (nil: all of them).
    public var zoom: Int?
    /// The step the sampler's tiles show from the run's history (nil: the newest).
    public var scrub: Int?

    /// The steps a paused or finished run recorded (``LiveHistory``), as scrubbing sees them.
    public struct Timeline: Sendable {
        /// The recorded steps, ascending (0: x_T).
        public var steps: [Int]
        /// Steps done now.
        public var latest: Int
        /// Whether the run is paused or done (it may be stepped through only then).
        public var stopped: Bool

        /// A timeline.
        public init(steps: [Int], latest: Int, stopped: Bool) { (self.steps, self.latest, self.stopped) = (steps, latest, stopped) }
    }
    /// Whether the worker on screen is paused (the sampler's, or the studio's in a studio view).
    public var paused: Bool
    /// The sampler's pause while a studio view is up (it is paused then, and resumes as it was).
    public var samplerPaused = false
    /// The interpolation's α.
    public var alpha: Float = 0.5
    /// The picture the inversion view works on.
    public var inversion: Picture?
    public var showHelp = false
    /// The path being typed after `o` (nil: no prompt open).
    public var prompt: String?
    /// The path the prompt asked to open (``Reaction/open``).
    public var openRequest: String?
    public var status: Status?
    public var blitter: Blitter
    /// How tiles are drawn: a pixel protocol or blocks (``blitter``, ``colorMode``).
    public var graphics: GraphicsProtocol = .blocks
    public var colorMode: ColorMode
    /// The deepest colour mode the terminal shows (`c` stops there).
    public var maxColorMode: ColorMode = .truecolor
    public var colormap: Colormap
    public var themeName: String
    /// The η that `h` (σ̂) replaced, given back when σ̂ goes off.
    public var etaBeforeHat: Float = 0
    /// The most tiles the sampler shows (`+` stops there; `ddim live --batch` too).
    public static let maxBatch = 64

    /// The state at start-up.
    public init(limits: Limits, settings: LiveSettings, paused: Bool, blitter: Blitter, colorMode: ColorMode, colormap: Colormap, themeName: String) {
        (self.limits, self.settings, self.paused) = (limits, settings, paused)
        (self.blitter, self.colorMode, self.colormap, self.themeName) = (blitter, colorMode, colormap, themeName)
    }

    /// Shows `text` in the status row for a few seconds (longer for a warning).
    mutating func flash(_ text: String, warning: Bool = false, now: Date = Date()) {
        status = Status(text: text, warning: warning, until: now.addingTimeInterval(warning ? 6 : 3))
    }

    // MARK: - Keys

    /// One key: the open prompt takes it first, then the help overlay (any key closes it; `q`
    /// still quits), then the key table. `current` is the picture `u` inverts (read only then).
    public mutating func handle(_ input: Input, now: Date = Date(), current: () -> Picture? = { nil },
                                timeline: () -> Timeline? = { nil }) -> Reaction {
        if prompt != nil { return .redraw.union(edit(input)) }
        let key: Character
        switch input {
        case .resize: return .redraw
        case .wheel(let up):
            guard mode == .sample, !showHelp else { return [] }
            return .redraw.union(scrub(up ? .left : .right, timeline: timeline(), now: now))
        case .clickBar:
            guard mode == .sample, !showHelp else { return [] }
            return .redraw.union(scrub(input, timeline: timeline(), now: now))
        case .left, .right, .home, .end:
            if showHelp { showHelp = false; return .redraw }
            if mode == .sample { return .redraw.union(scrub(input, timeline: timeline(), now: now)) }
            guard input == .left || input == .right else { return .redraw }
            key = input == .left ? "[" : "]"
        case .backspace, .enter, .other:
            showHelp = false
            return .redraw
        case .click(let sample):
            // a tile zooms; anywhere while zoomed shows all again
            guard !showHelp, mode == .sample else { showHelp = false; return .redraw }
            zoom = zoom == nil ? sample : nil
            return .redraw
        case .character("\u{1B}"):
            // Escape outside the prompt: closes the help, else nothing
            showHelp = false
            return .redraw
        case .character(let c):
            if showHelp && c != "?" {
                showHelp = false
                if c != "q" && c != "\u{3}" { return .redraw }
            }
            key = c
        }
        guard let action = KeyBindings.action(for: key) else {
            flash("no key '\(key)' — ? for help", now: now)
            return .redraw
        }
        return .redraw.union(apply(action, key: key, now: now, current: current))
    }

    /// Steps through the run's recorded steps: ← and → one back or forward, Home to x_T, End (or
    /// → past the last) to the newest. Only while the run is paused or done.
    private mutating func scrub(_ input: Input, timeline: Timeline?, now: Date) -> Reaction {
        guard let t = timeline, !t.steps.isEmpty else { return [] }
        guard t.stopped else {
            flash("pause (space) to step through the run with ← →", now: now)
            return []
        }
        let shown = scrub ?? t.latest
        switch input {
        case .left:
            guard let previous = t.steps.last(where: { $0 < shown }) else { flash("x_T: the first step", now: now); return [] }
            scrub = previous
        case .right:
            let next = t.steps.first { $0 > shown }
            scrub = next.flatMap { $0 < t.latest ? $0 : nil }
        case .home: scrub = t.steps.first
        case .clickBar(let fraction):
            // the recorded step at or before that point of the run
            let target = Int((min(1, max(0, fraction)) * Double(t.latest)).rounded())
            scrub = target >= t.latest ? nil : t.steps.last { $0 <= target } ?? t.steps.first
        default: scrub = nil
        }
        return []
    }

    /// What `action` (typed as `key`) does.
    public mutating func apply(_ action: Action, key: Character, now: Date = Date(), current: () -> Picture? = { nil }) -> Reaction {
        // anything that moves the run on shows its newest step again
        if [.etaDown, .etaUp, .sigmaHat, .stepsDown, .stepsUp, .stepsPreset, .spacing, .nextSeed, .previousSeed, .batchUp, .batchDown,
            .pause, .stepOnce, .restart].contains(action) { scrub = nil }
        if mode != .sample, let reaction = applyInStudio(action, now: now) { return reaction }
        switch action {
        case .etaDown, .etaUp:
            let eta: Float = if case .eta(let e) = settings.noise { e } else { 1 }
            // η moves in tenths and stays ≥ 0
            settings.noise = .eta(max(0, ((eta + (action == .etaUp ? 0.1 : -0.1)) * 10).rounded() / 10))
            return settingsChanged(now: now)
        case .sigmaHat:
            // σ̂ off gives back the η it replaced
            if case .eta(let eta) = settings.noise { etaBeforeHat = eta }
            settings.noise = settings.noise == .ddpmLarge ? .eta(etaBeforeHat) : .ddpmLarge
            return settingsChanged(now: now)
        case .stepsDown, .stepsUp:
            let steps = settings.steps + (action == .stepsUp ? 1 : -1)
            guard (1...limits.trainTimesteps).contains(steps) else {
                flash(steps < 1 ? "1 step at least" : "\(limits.trainTimesteps) steps at most: the model's training timesteps T", now: now)
                return []
            }
            settings.steps = steps
            return settingsChanged(now: now)
        case .stepsPreset:
            guard let steps = KeyBindings.stepPreset(for: key) else { return [] }
            settings.steps = min(limits.trainTimesteps, steps)
            return settingsChanged(now: now)
        case .spacing:
            settings.spacing = settings.spacing.next
            return settingsChanged(now: now)
        case .nextSeed, .previousSeed:
            return moveSeed(by: settings.batch, forward: action == .nextSeed, now: now) ? .newRun : []
        case .batchUp, .batchDown:
            let batch = settings.batch + (action == .batchUp ? 1 : -1)
            guard (1...Self.maxBatch).contains(batch) else {
                flash(batch < 1 ? "1 sample at least" : "\(Self.maxBatch) samples at most", now: now)
                return []
            }
            if batch > settings.batch, let problem = limits.batchProblem(batch) {
                flash(problem, warning: true, now: now)
                return []
            }
            settings.batch = batch
            if let z = zoom, z >= batch { zoom = batch - 1 }
            return .newRun
        case .pause:
            paused.toggle()
            return .pause
        case .stepOnce:
            let wasPaused = paused
            paused = true
            return wasPaused ? .stepOnce : [.pause, .stepOnce]
        case .restart: return .restart
        case .view: view = view.next
        case .zoom:
            // all → tile 0 → tile 1 → … → all
            let next = (zoom ?? -1) + 1
            zoom = next < settings.batch ? next : nil
        case .blitter:
            blitter = blitter.next
            if graphics != .blocks { flash("the blitter draws blocks; tiles are \(graphics.rawValue) pixels now (g switches)", now: now) }
            else if !limits.unicode && blitter != .ascii { flash("this terminal's locale is not UTF-8: block glyphs may not show", now: now) }
        case .classLabel:
            return nextClass(now: now)
        case .guidanceDown, .guidanceUp:
            return stepGuidance(up: action == .guidanceUp, now: now)
        case .graphics:
            let choices = limits.graphicsChoices
            guard choices.count > 1 else {
                flash(limits.graphicsNote ?? "no pixel protocol on this terminal: tiles are blocks (ddim --graphics kitty|sixel|iterm forces one)", now: now)
                return []
            }
            graphics = choices[((choices.firstIndex(of: graphics) ?? -1) + 1) % choices.count]
            flash("tiles: " + (graphics == .blocks ? "blocks (\(blitter.rawValue))" : "\(graphics.rawValue) pixels"), now: now)
        case .colorMode:
            repeat { colorMode = colorMode.next } while colorMode.depth > maxColorMode.depth
        case .theme:
            guard let next = limits.themes.cycling(after: themeName) else { return [] }
            themeName = next
            return .loadTheme
        case .colormap: colormap = colormap.next
        case .save: return .save
        case .help: showHelp.toggle()
        case .quit: return key == "\u{3}" ? [.quit, .interrupt] : .quit
        case .compareSteps: return switchMode(to: .compareSteps, now: now, current: current)
        case .compareEta: return switchMode(to: .compareEta, now: now, current: current)
        case .interpolate: return switchMode(to: .interpolate, now: now, current: current)
        case .invert: return switchMode(to: .invert, now: now, current: current)
        case .alphaDown, .alphaUp: flash("[ and ] move α in the interpolation view (i)", now: now)
        case .paceDown, .paceUp: return changePace(faster: action == .paceDown, now: now)
        case .scrub: break
        case .open: prompt = ""
        }
        return []
    }

    /// Keys that act otherwise in a studio view; nil for those the sampler's table handles
    /// (η, steps and spacing change for both, and the view is re-shown with them).
    private mutating func applyInStudio(_ action: Action, now: Date) -> Reaction? {
        switch action {
        case .nextSeed, .previousSeed:
            // the view's x_T is the first tile's seed: one at a time
            return moveSeed(by: 1, forward: action == .nextSeed, now: now) ? [.newRun, .showStudio] : []
        case .alphaDown, .alphaUp:
            guard mode == .interpolate else { return nil }
            // α moves in tenths within [0, 1]
            alpha = min(1, max(0, ((alpha + (action == .alphaUp ? 0.1 : -0.1)) * 10).rounded() / 10))
            return .showStudio
        case .batchUp, .batchDown, .view, .zoom:
            flash("batch, view and zoom apply to the sampler (press \(mode.key) to go back)", now: now)
            return []
        default: return nil
        }
    }

    /// Moves the first seed by `count`, keeping every tile's seed (seed … seed + batch − 1, and
    /// the interpolation's seed + 1) within 0…2⁶⁴ − 1; at either end it stays, and says so.
    private mutating func moveSeed(by count: Int, forward: Bool, now: Date) -> Bool {
        let delta = UInt64(count), last = UInt64.max - UInt64(max(settings.batch, 2) - 1)
        if forward {
            guard settings.seed < last else { flash("seed \(settings.seed) is the last: its tiles' seeds reach 2⁶⁴ − 1", now: now); return false }
            settings.seed = settings.seed > last - delta ? last : settings.seed + delta
        } else {
            guard settings.seed > 0 else { flash("seed 0 is the first", now: now); return false }
            settings.seed = settings.seed < delta ? 0 : settings.seed - delta
        }
        return true
    }

    /// `<` halves the time a step, `>` doubles it, within 0…10 s: below 1 ms is 0 (as fast as it
    /// goes), and 0 doubles to 1 ms.
    private mutating func changePace(faster: Bool, now: Date) -> Reaction {
        if let reason = limits.paceFixed { flash(reason, warning: true, now: now); return [] }
        let pace = settings.paceMilliseconds
        let next = faster ? (pace / 2 < 1 ? 0 : pace / 2) : min(10_000, pace == 0 ? 1 : pace * 2)
        settings.paceMilliseconds = next
        flash(next == 0 ? "pace: as fast as it goes" : "pace: at least \(Self.milliseconds(next)) a step", now: now)
        return .sendPace
    }

    /// "70 ms", "1.5 s".
    static func milliseconds(_ ms: Double) -> String {
        ms >= 1000 ? String(format: "%g s", (ms / 100).rounded() / 10) : String(format: "%g ms", (ms * 10).rounded() / 10)
    }

    /// Steps, η or spacing changed. Past η_max, σ_t > √(1 − ᾱ_{t−1}) at some step and eq. 12 has
    /// no real direction term: η comes down to the largest tenth the plan allows.
    private mutating func settingsChanged(now: Date) -> Reaction {
        if case .eta(let eta) = settings.noise, eta > 1 {
            let largest = limits.largestEta(settings.steps, settings.spacing)
            if eta > largest {
                let lowered = max(1, (largest * 10).rounded(.down) / 10)
                settings.noise = .eta(lowered)
                flash("η \(NoiseLevel.eta(lowered).label): the largest for \(settings.steps) steps (σ_t ≤ √(1 − ᾱ_{t−1}))", warning: true, now: now)
            }
        }
        return .sendSettings
    }

    /// Goes to `target`, or back to the sampler when already there (unless a `picture` is
    /// given). Only one worker runs at a time: the sampler waits while a studio view computes,
    /// and resumes as it was. The inversion view takes `picture`, or else the `current` one.
    mutating func switchMode(to target: Mode, picture: Picture? = nil, now: Date = Date(), current: () -> Picture?) -> Reaction {
        let next: Mode = mode == target && picture == nil ? .sample : target
        if next == .invert {
            if let picture {
                inversion = picture
            } else if mode == .sample || inversion == nil, let taken = current() {
                inversion = taken
            }
            guard inversion != nil else {
                flash("nothing to invert yet", warning: true, now: now)
                return []
            }
        }
        if mode == .sample && next != .sample {
            samplerPaused = paused
            paused = false
        } else if next == .sample {
            paused = samplerPaused
        }
        mode = next
        return .switchWorker
    }

    /// A picture opened from the prompt: shown in the inversion view.
    public mutating func opened(_ picture: Picture, now: Date = Date()) -> Reaction {
        guard mode != .invert else {
            inversion = picture
            return .showStudio
        }
        return switchMode(to: .invert, picture: picture, now: now, current: { nil })
    }

    // MARK: - The prompt

    /// A key typed into the open-image prompt: Enter opens, Escape or Ctrl-C cancels, Backspace
    /// deletes, other control keys are ignored.
    private mutating func edit(_ input: Input) -> Reaction {
        switch input {
        case .enter, .character("\n"), .character("\r"): return finishPrompt()
        case .character("\u{1B}"), .character("\u{3}"): prompt = nil
        case .backspace, .character("\u{7F}"), .character("\u{8}"): _ = prompt?.popLast()
        case .character(let c): if !(c.asciiValue.map { $0 < 32 } ?? false) { prompt?.append(c) }
        case .left, .right, .home, .end, .resize, .other, .click, .wheel, .clickBar: break
        }
        return []
    }

    /// Closes the prompt; a typed path becomes an ``openRequest``.
    private mutating func finishPrompt() -> Reaction {
        let path = prompt?.trimmingCharacters(in: .whitespaces) ?? ""
        prompt = nil
        guard !path.isEmpty else { return [] }
        openRequest = (path as NSString).expandingTildeInPath
        return .open
    }
}
