import CNCurses
import Engine
import Foundation
import Graphics
import Imaging
import Preview
import Sampling
import Tensors
import Themes
import Output

/// How the live sampler starts.
public struct AppOptions: Sendable {
    /// Initial sampling settings.
    public var settings: LiveSettings
    /// Theme name or path; nil: dusk.
    public var theme: String?
    /// Forced colour mode / blitter; nil: detected.
    public var colorMode: ColorMode?
    public var blitter: Blitter?
    /// Start paused (the first frame shows x_T).
    public var paused = false
    /// Open in the inversion view with this picture (1, C, H, W) and name.
    public var invert: (image: Tensor, name: String)?
    /// `--measure-ui N`: every run alternates blocks of N steps drawn live with blocks not drawn at
    /// all, and reports both kinds' mean step time when done.
    public var measureBlock: Int?
    /// `--graphics`: how tiles are drawn (a pixel protocol, blocks, or ask the terminal).
    public var graphics: GraphicsChoice = .auto
    /// The folder of the user's themes (``UserConfig/themesFolder``): `--theme NAME` and `t`
    /// find `NAME.theme` there too.
    public var userThemes: String?
    /// Where `w` writes PNGs (the config's `save-dir`); nil: the current folder.
    public var saveFolder: String?
    /// A line for the status line at the start (the config file's problems).
    public var startWarning: String?

    /// Options for a live run.
    public init(settings: LiveSettings, theme: String? = nil, colorMode: ColorMode? = nil, blitter: Blitter? = nil, paused: Bool = false) {
        (self.settings, self.theme, self.colorMode, self.blitter, self.paused) = (settings, theme, colorMode, blitter, paused)
    }
}

/// The ncurses live sampler: draws the latest snapshot of a `LiveSampler` (or of the studio's
/// `LiveStudio`) and turns keys into commands. The UI thread never waits for a step: settings
/// show at once, the worker applies them before its next step.
///
/// The loop: a key → ``AppState/handle(_:now:current:)`` → a ``Reaction`` this class carries out
/// (``carryOut(_:snapshot:studio:)``); a new snapshot → ``FrameSchedule/plan(_:now:)`` → a
/// ``FramePlan`` drawn by App+Draw.
public final class App {
    let model: LoadedModel
    let live: LiveSampler
    /// The worker of the studio views (compare, interpolate, invert).
    let studio: LiveStudio
    /// What the screen shows and the keys change.
    var state: AppState
    /// The loaded theme (``AppState/themeName``).
    var theme: Theme
    /// The fine grey ramp, when the terminal took it (one-channel models in 256 colours).
    var greyRamp: GreyRamp?
    /// Whether the ramp's slots hold its greys now (they are given back while a colour map or
    /// another colour mode is shown).
    private var rampProgrammed = false
    let capabilities: TerminalCapabilities
    private var terminal: Terminal?
    /// The layout of the last whole frame (``drawPictures(_:on:)`` draws over it alone).
    var fullFrameLayout: Layout?
    /// Where the sampler's progress bar was last drawn (a click on it steps to that point).
    var progressBar: (row: Int, column: Int, width: Int)?
    /// When frames are drawn: paced, or measured (`--measure-ui`).
    private var frames: any FrameSchedule
    private var signals: [DispatchSourceSignal] = []
    private let stopRequest = StopFlag()
    /// The blitter `--blitter` asked for (nil: the one the terminal suits).
    private let blitterChosen: Blitter?
    /// `--graphics`.
    let graphicsChoice: GraphicsChoice
    /// ``AppOptions/userThemes``.
    let userThemes: String?
    /// ``AppOptions/saveFolder``.
    let saveFolder: String?
    /// How pictures go to this terminal (decided at the start of ``run()``).
    var graphicsDecision: GraphicsDecision?
    /// Inside tmux: the pane's top-left cell in the outer terminal (pictures passed through are
    /// placed there).
    var paneOffset = (row: 0, column: 0)

    /// Prepares the app (nothing is drawn until `run`).
    public init(model: LoadedModel, options: AppOptions, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.model = model
        blitterChosen = options.blitter
        graphicsChoice = options.graphics
        (userThemes, saveFolder) = (options.userThemes, options.saveFolder)
        capabilities = TerminalCapabilities.detect(environment: environment)
        var loaded = Theme.plain
        var warning: String?
        do { loaded = try Theme.load(options.theme ?? ThemeFiles.names[0], userThemes: options.userThemes) } catch {
            warning = "\(error)"
            if let fallback = try? Theme.load(ThemeFiles.names[0]) { loaded = fallback }
        }
        theme = loaded
        var limits = AppState.Limits(
            trainTimesteps: model.schedule.trainTimesteps,
            largestEta: { steps, spacing in model.ddim.largestEta(plan: (try? model.ddim.timesteps(steps: steps, spacing: spacing)) ?? []) },
            batchProblem: { batch in
                do {
                    try model.checkMemory(RunMemory(model.describe(batch: batch), batch: batch, live: true))
                    return nil
                } catch { return "\(error)" }
            },
            unicode: capabilities.unicode, themes: Theme.names(userThemes: options.userThemes))
        limits.classCount = model.classCount
        limits.nullClass = model.nullClass
        if options.measureBlock != nil { limits.paceFixed = "--measure-ui times unpaced steps: the pace stays 0" }
        state = AppState(limits: limits, settings: options.settings, paused: options.paused,
                         blitter: options.blitter ?? capabilities.blitter, colorMode: options.colorMode ?? capabilities.colorMode,
                         colormap: loaded.colormap, themeName: loaded.name)
        let paced = PacedFrames()
        frames = options.measureBlock.map { MeasuredFrames(wrapping: paced, block: $0) } ?? paced
        live = LiveSampler(model: model, settings: options.settings, paused: options.paused || options.invert != nil,
                           timingBlock: options.measureBlock.map { max(1, $0) })
        studio = LiveStudio(model: model)
        if let invert = options.invert {
            // the studio runs; the sampler waits, as it was asked to start
            state.inversion = invert
            state.mode = .invert
            state.samplerPaused = options.paused
            state.paused = false
        }
        let warnings = [options.startWarning, warning.map { $0 + " — using \(loaded.name)" }].compactMap { $0 }
        if !warnings.isEmpty { state.flash(warnings.joined(separator: " · "), warning: true, now: Date().addingTimeInterval(2)) }
    }

    /// Why the live sampler cannot run on the terminal `environment` names (nil: it can), decided
    /// from terminfo before the screen is touched: a terminal that cannot move the cursor
    /// (`TERM=dumb`), or one the terminfo database does not know.
    public static func terminalRefusal(environment: [String: String]) -> String? {
        let term = environment["TERM"] ?? ""
        let advice = "run it in a terminal such as xterm-256color, or use `ddim sample` for files"
        guard !term.isEmpty else { return "TERM is not set, so the live sampler cannot drive this terminal; \(advice)" }
        switch ddim_term_addressable(term) {
        case 1: return nil
        case 0: return "TERM=\(term) cannot move the cursor, which the live sampler needs; \(advice)"
        default: return "TERM=\(term) is not in this system's terminfo database; \(advice)"
        }
    }

    /// The signal that ended ``run()``, if one did: the caller ends the process by it
    /// (``Interrupts/end(by:)``), so the shell sees 128 + n.
    public var stoppingSignal: Int32? { stopRequest.signal }

    /// Runs until quit; the terminal is restored on every way out.
    public func run() throws {
        let environment = ProcessInfo.processInfo.environment
        // asked before ncurses takes the terminal: the probe reads the answers itself
        let decision = Self.decideGraphics(graphicsChoice, environment: environment)
        if decision.passthrough, let offset = TmuxGraphics.paneOffset(environment: environment) { paneOffset = offset }
        let term = try Terminal(environment: environment)
        terminal = term
        defer {
            term.restore()
            live.stop()
            studio.stop()
            signals.forEach { $0.cancel() }
        }
        // the locale as the C library has it: a UTF-8 name that is not installed is C
        if !term.utf8Locale && state.limits.unicode {
            state.limits.unicode = false
            if blitterChosen == nil { state.blitter = .ascii }
        }
        state.maxColorMode = term.capabilities.maxColorMode
        state.colorMode = state.colorMode.capped(at: state.maxColorMode)
        programGreyRamp(on: term)
        useGraphics(decision)
        installSignalHandlers()
        live.start()
        showStudio()
        // which worker's which publication is on screen
        var shown: (mode: Mode, version: Int)?
        var dirty = true
        while !stopRequest.isSet {
            let (snapshot, liveVersion) = live.latest()
            let (studioSnapshot, studioVersion) = studio.latest()
            let version = (mode: state.mode, version: state.mode == .sample ? liveVersion : studioVersion)
            if let line = frames.report(snapshot) {
                state.status = Status(text: line, warning: false, until: .distantFuture)
                dirty = true
            }
            var input = FrameInput(mode: state.mode, generation: snapshot.generation, running: snapshot.state == .running,
                                   stepsDone: snapshot.stepsDone,
                                   meanMilliseconds: snapshot.meanMilliseconds, changed: shown.map { $0 != version } ?? true, dirty: dirty)
            let start = Date()
            let plan = frames.plan(input, now: start)
            if plan.content != .nothing {
                draw(plan, snapshot, studioSnapshot, on: term)
                if let failure = term.takePixelFailure() { pixelsFailed(failure) }
                frames.drew(plan, generation: snapshot.generation, at: start, seconds: Date().timeIntervalSince(start))
                (shown, dirty, input.changed) = (version, false, false)
            }
            if let s = state.status, s.until < Date() { state.status = nil; dirty = true }
            let busy = !state.paused && (state.mode == .sample ? snapshot.state == .running : !studioSnapshot.isDone)
            guard let key = term.key(timeout: frames.wait(input, busy: busy, now: Date())) else { continue }
            dirty = true
            term.repaintDirectCells()
            if key == .resize { term.screenResized() }
            let timeline = { AppState.Timeline(steps: snapshot.history.frames.map(\.step), latest: snapshot.stepsDone,
                                               stopped: snapshot.state == .done || snapshot.state == .paused) }
            let reaction = state.handle(stateInput(key, snapshot), current: { Self.currentPicture(snapshot) }, timeline: timeline)
            carryOut(reaction, snapshot: snapshot, studio: studioSnapshot)
            syncGreyRamp(on: term)
            if reaction.contains(.quit) { break }
        }
    }

    /// Draws what `plan` says.
    private func draw(_ plan: FramePlan, _ snapshot: LiveSnapshot, _ studioSnapshot: StudioSnapshot, on term: Terminal) {
        term.directTolerance = plan.tolerance
        term.directBudget = plan.budget
        syncPixels(on: term)
        switch plan.content {
        case .nothing: break
        case .progress: drawProgressOnly(snapshot, on: term)
        case .pictures: drawPictures(snapshot, on: term)
        case .whole: draw(snapshot, on: term)
        case .studio: drawStudio(studioSnapshot, on: term)
        }
    }

    /// One-channel models in 256 colours: the fine grey ramp, where the terminal lets its
    /// palette be reprogrammed. The slots of every bundled theme stay as they are.
    private func programGreyRamp(on term: Terminal) {
        guard model.sampleShape()[0] == 1, term.capabilities.maxColorMode == .palette256 else { return }
        let reserved = Set(ThemeFiles.names.compactMap { try? Theme.load($0) }.flatMap { t in
            Theme.Element.allCases.compactMap { t[$0].index256 }
        } + Theme.Element.allCases.compactMap { theme[$0].index256 })
        if let ramp = GreyRamp(levels: 64, reserved: reserved), term.program(ramp) { (greyRamp, rampProgrammed) = (ramp, true) }
    }

    /// The ramp's slots hold greys only while grey previews in 256 colours use them: a colour map
    /// (`m`) or the cube's own colours need the slots' xterm colours back.
    private func syncGreyRamp(on term: Terminal) {
        guard let ramp = greyRamp else { return }
        let wanted = state.colorMode == .palette256 && state.colormap == .grey
        guard wanted != rampProgrammed else { return }
        if wanted { rampProgrammed = term.program(ramp) } else { term.unprogram(ramp); rampProgrammed = false }
    }

    private func installSignalHandlers() {
        // A parent may have left these blocked; ncurses needs SIGWINCH to see resizes.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for sig in [SIGWINCH] + Interrupts.terminatingSignals { sigaddset(&unblock, sig) }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        // Every signal that would end the process ends the loop instead: the terminal is
        // restored, then the command ends by the same signal (``stoppingSignal``).
        for sig in Interrupts.terminatingSignals {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            let flag = stopRequest
            source.setEventHandler { flag.set(sig) }
            source.resume()
            signals.append(source)
        }
    }

    // MARK: - Reactions

    /// A terminal key as the state sees it; a click, as the sample whose tile it hit.
    func stateInput(_ key: Terminal.Key, _ snapshot: LiveSnapshot) -> Input {
        switch key {
        case .mouse(let button, let row, let column):
            if button == 4 || button == 5 { return .wheel(up: button == 4) }
            guard button == 1 else { return .other }
            if let bar = progressBar, row == bar.row, (bar.column..<(bar.column + bar.width)).contains(column) {
                return .clickBar(fraction: (Double(column - bar.column) + 0.5) / Double(bar.width))
            }
            let tiles = fullFrameLayout?.tiles ?? []
            let hit = tiles.firstIndex { t in
                (t.row...(t.row + t.geometry.rows + 1)).contains(row) && (t.column...(t.column + t.geometry.columns + 1)).contains(column)
            }
            let first = state.zoom ?? 0
            return .click(sample: hit.map { first + (state.view == .both ? $0 / 2 : $0) })
        case .resize: return .resize
        case .character(let c): return .character(c)
        case .special(let code):
            switch code {
            case KEY_LEFT: return .left
            case KEY_RIGHT: return .right
            case KEY_HOME: return .home
            case KEY_END: return .end
            case KEY_BACKSPACE: return .backspace
            case KEY_ENTER: return .enter
            default: return .other
            }
        }
    }

    /// The picture `u` inverts: x₀ when the run is done, else the latest x̂₀ (sample 0), in [−1, 1].
    static func currentPicture(_ snapshot: LiveSnapshot) -> Picture? {
        let source = snapshot.state == .done ? snapshot.sample : (snapshot.predictedX0 ?? snapshot.sample)
        guard source.rank == 4, source.shape[0] > 0 else { return nil }
        var x = source.slice(0).reshaped([1] + Array(source.shape.dropFirst()))
        for i in 0..<x.count { x.data[i] = min(1, max(-1, x.data[i])) }
        return (x, "seed \(snapshot.settings.seed)")
    }

    /// Does what a change of state asks of the workers, the files and the screen.
    func carryOut(_ reaction: Reaction, snapshot: LiveSnapshot, studio studioSnapshot: StudioSnapshot) {
        let sampling = state.mode == .sample
        if reaction.contains(.loadTheme) {
            do {
                theme = try Theme.load(state.themeName, userThemes: userThemes)
                state.colormap = theme.colormap
            } catch {
                state.themeName = theme.name
                state.flash("\(error)", warning: true)
            }
        }
        if reaction.contains(.open), let path = state.openRequest {
            state.openRequest = nil
            do {
                let picture = (try model.image(at: path), OutputPath.split(path).name)
                carryOut(state.opened(picture), snapshot: snapshot, studio: studioSnapshot)
            } catch {
                state.flash("\(error)", warning: true)
            }
        }
        let s = state.settings
        if reaction.contains(.newRun) { live.send(.newRun(seed: s.seed, batch: s.batch)) }
        if reaction.contains(.sendPace) { live.send(.setPace(milliseconds: s.paceMilliseconds)) }
        if reaction.contains(.sendClass) {
            live.send(.setClass(s.classLabel))
            studio.setClass(s.classLabel)
            if !sampling { showStudio(fresh: true) }
        }
        if reaction.contains(.sendGuidance) {
            live.send(.setGuidance(s.guidance ?? 1))
            studio.setGuidance(s.guidance ?? 1)
            if !sampling { showStudio(fresh: true) }
        }
        if reaction.contains(.sendSettings) { live.send(.setSettings(steps: s.steps, noise: s.noise, spacing: s.spacing)) }
        if reaction.contains(.switchWorker) {
            // one worker at a time: the sampler waits while a studio view computes
            studio.setPaused(sampling ? true : state.paused)
            live.send(.setPaused(sampling ? state.paused : true))
        }
        if reaction.contains(.pause) {
            if sampling { live.send(.setPaused(state.paused)) } else { studio.setPaused(state.paused) }
        }
        if reaction.contains(.stepOnce) {
            if sampling { live.send(.stepOnce) } else { studio.stepOnce() }
        }
        if reaction.contains(.restart) {
            if sampling { live.send(.restart) } else { showStudio(fresh: true) }
        }
        if !sampling && !reaction.isDisjoint(with: [.showStudio, .sendSettings, .switchWorker]) { showStudio() }
        if reaction.contains(.save) {
            if sampling { save(snapshot) } else { saveStudio(studioSnapshot) }
        }
        if reaction.contains(.interrupt) { stopRequest.set(SIGINT) }
    }

    private func save(_ snapshot: LiveSnapshot) {
        let picture: LivePicture = state.view == .noisy ? .sample : .predicted
        guard snapshot.tensor(picture) != nil else { state.flash("nothing to save yet", warning: true); return }
        let eta = state.settings.noise.label
        let name = freeName { n in
            "ddim-\(snapshot.settings.seed)-s\(snapshot.settings.steps)-e\(eta)-\(snapshot.stepsDone)\(n == 1 ? "" : "-\(n)").png"
        }
        do {
            var drawn = model
            drawn.classLabel = snapshot.settings.classLabel
            drawn.guidance = snapshot.settings.guidance ?? model.guidance
            try snapshot.writeGrid(picture, model: drawn, to: name)
            // the history holds previews, not pictures: a save is always the newest step's
            state.flash("saved \(name)" + (state.scrub == nil ? "" : " (step \(snapshot.stepsDone), the newest)"))
        } catch {
            state.flash("\(error)", warning: true)
        }
    }

    /// The first of `name(1)`, `name(2)`, … that names no file in the save folder (the config's
    /// `save-dir`, else the current folder), as a path to it.
    func freeName(_ name: (Int) -> String) -> String {
        func path(_ n: Int) -> String { saveFolder.map { ($0.hasSuffix("/") ? $0 : $0 + "/") + name(n) } ?? name(n) }
        var n = 1
        while FileManager.default.fileExists(atPath: path(n)) { n += 1 }
        return path(n)
    }
}
