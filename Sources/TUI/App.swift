import CNCurses
import Engine
import Foundation
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

    /// Options for a live run.
    public init(settings: LiveSettings, theme: String? = nil, colorMode: ColorMode? = nil, blitter: Blitter? = nil, paused: Bool = false) {
        (self.settings, self.theme, self.colorMode, self.blitter, self.paused) = (settings, theme, colorMode, blitter, paused)
    }
}

/// What the tiles show.
enum View: String, CaseIterable {
    case predicted = "x̂₀", noisy = "x_t", both = "x̂₀ | x_t"
}

/// The ncurses live sampler: draws the latest snapshot of a `LiveSampler` and turns keys into
/// commands. The UI thread never waits for a step: settings show at once, the worker applies them
/// before its next step.
public final class App {
    let model: LoadedModel
    let live: LiveSampler
    var settings: LiveSettings
    var theme: Theme
    var themeName: String
    var colormap: Colormap
    var colorMode: ColorMode
    var blitter: Blitter
    var view: View = .predicted
    var showHelp = false
    var paused: Bool
    var status: (text: String, warning: Bool, until: Date)?
    var quit = false
    /// The fine grey ramp, when the terminal took it (one-channel models in 256 colours).
    var greyRamp: GreyRamp?
    /// Which view is on screen.
    var mode: Mode = .sample
    /// The worker of the studio views (compare, interpolate, invert).
    let studio: LiveStudio
    /// The interpolation's α.
    var alpha: Float = 0.5
    /// The picture the inversion view works on.
    var inversionImage: (image: Tensor, name: String)?
    /// Whether the sampler was paused before a studio view took over.
    var samplerWasPaused = false
    /// The path being typed after `o` (nil: no prompt open).
    var prompt: String?
    let capabilities: TerminalCapabilities
    private var terminal: Terminal?
    /// The layout of the last whole frame (``drawPictures(_:on:)`` draws over it alone).
    var fullFrameLayout: Layout?
    /// The frames of the current run and the UI thread's time on them.
    private var frameCost = FrameCost(generation: -1)
    private var signals: [DispatchSourceSignal] = []
    private let stopRequest = StopFlag()
    /// Steps a block of `--measure-ui`; nil without it.
    let measureBlock: Int?

    /// Prepares the app (nothing is drawn until `run`).
    public init(model: LoadedModel, options: AppOptions, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.model = model
        settings = options.settings
        paused = options.paused
        capabilities = TerminalCapabilities.detect(environment: environment)
        colorMode = options.colorMode ?? capabilities.colorMode
        blitter = options.blitter ?? capabilities.blitter
        var loaded = Theme.plain
        var warning: String?
        do { loaded = try Theme.load(options.theme ?? ThemeFiles.names[0]) } catch {
            warning = "\(error)"
            if let fallback = try? Theme.load(ThemeFiles.names[0]) { loaded = fallback }
        }
        theme = loaded
        themeName = loaded.name
        colormap = loaded.colormap
        measureBlock = options.measureBlock.map { max(1, $0) }
        live = LiveSampler(model: model, settings: options.settings, paused: options.paused || options.invert != nil,
                           timingBlock: measureBlock)
        studio = LiveStudio(model: model)
        if let invert = options.invert {
            inversionImage = invert
            mode = .invert
            samplerWasPaused = options.paused
        }
        if let warning { status = (warning + " — using \(loaded.name)", true, Date().addingTimeInterval(8)) }
    }

    /// The signal that ended ``run()``, if one did: the caller ends the process by it
    /// (``Interrupts/end(by:)``), so the shell sees 128 + n.
    public var stoppingSignal: Int32? { stopRequest.signal }

    /// Runs until quit; the terminal is restored on every way out.
    public func run() throws {
        let term = try Terminal(environment: ProcessInfo.processInfo.environment)
        terminal = term
        defer {
            term.restore()
            live.stop()
            studio.stop()
            signals.forEach { $0.cancel() }
        }
        if colorMode.rank > term.maxColorMode.rank { colorMode = term.maxColorMode }
        if model.sampleShape()[0] == 1, term.maxColorMode == .palette256 {
            // the slots of every bundled theme stay as they are
            let reserved = Set(ThemeFiles.names.compactMap { try? Theme.load($0) }.flatMap { t in
                Theme.Element.allCases.compactMap { t[$0].index256 }
            } + Theme.Element.allCases.compactMap { theme[$0].index256 })
            if let ramp = GreyRamp(levels: 64, reserved: reserved), term.program(ramp) { greyRamp = ramp }
        }
        installSignalHandlers()
        live.start()
        showStudio()
        var lastVersion = -1
        var dirty = true
        var pacer = FramePacer()
        var measured: Int?  // the generation whose --measure-ui result is shown
        while !quit {
            if stopRequest.isSet { break }
            let (snapshot, liveVersion) = live.latest()
            let (studioSnapshot, studioVersion) = studio.latest()
            // versions of the two workers, told apart by the mode
            let version = mode == .sample ? liveVersion * 2 : studioVersion * 2 + 1
            // --measure-ui: the odd blocks of a running run get no frame at all
            let quietSteps = measureBlock.flatMap { n in
                mode == .sample && snapshot.state == .running && !dirty && (snapshot.stepsDone / n) % 2 == 1
                    ? (snapshot.stepsDone / n + 1) * n - snapshot.stepsDone : nil
            }
            if let n = measureBlock, snapshot.state == .done, measured != snapshot.generation {
                measured = snapshot.generation
                status = (Self.measurement(snapshot, block: n) + frameCost.summary, false, .distantFuture)
                dirty = true
            }
            if quietSteps == nil && (version != lastVersion || dirty) {
                // at most ~15 frames a second and 10 % of a core; new pictures at most 10 a
                // second and 5 % of a core (FramePacer); a key press is drawn at once
                let start = Date()
                if pacer.frameDue(at: start, forced: dirty) {
                    if mode == .sample {
                        let fresh = pacer.newPictures(
                            at: start, generation: snapshot.generation, running: snapshot.state == .running, forced: dirty)
                        // Paced frames of a running run leave cells within 3 levels alone and
                        // write at most the pacer's cells a second; a paced picture frame redraws
                        // only the tiles and the progress line, a frame that keeps the pictures
                        // only the progress line. Forced frames (keys, pause, done) are whole and exact.
                        let paced = snapshot.state == .running && !dirty
                        term.directTolerance = paced ? 3 : 0
                        term.directBudget = paced && fresh ? pacer.cellBudget(at: start) : nil
                        if !fresh {
                            drawProgressOnly(snapshot, on: term)
                        } else if paced && pacer.shownGeneration == snapshot.generation {
                            drawPictures(snapshot, on: term)
                        } else {
                            draw(snapshot, on: term)
                        }
                        let took = Date().timeIntervalSince(start)
                        pacer.drew(at: start, seconds: took, picturesOf: fresh ? snapshot.generation : nil)
                        if frameCost.generation != snapshot.generation { frameCost = FrameCost(generation: snapshot.generation) }
                        frameCost.add(took, pictures: fresh)
                    } else {
                        term.directTolerance = 0
                        term.directBudget = nil
                        drawStudio(studioSnapshot, on: term)
                        pacer.drew(at: start, seconds: Date().timeIntervalSince(start), picturesOf: nil)
                    }
                    lastVersion = version
                    dirty = false
                }
            }
            if let s = status, s.until < Date() { status = nil; dirty = true }
            let busy = mode == .sample ? snapshot.state == .running && !paused : !studioSnapshot.isDone && !paused
            // While a run goes, sleep until the next frame is due (one wake-up a frame; each one
            // takes a core from the model for a moment), then poll every 33 ms for a new step.
            let untilDue = pacer.nextFrame.timeIntervalSinceNow
            var timeout: Int32 = busy || version != lastVersion ? (untilDue > 0 ? Int32(min(250, (untilDue * 1e3).rounded(.up))) : 33) : 250
            // a quiet block: wake once, at its end by the mean step time
            if let quietSteps { timeout = Int32(min(250, (Double(quietSteps) * max(1, snapshot.meanMilliseconds)).rounded(.up))) }
            guard let key = term.key(timeout: timeout) else { continue }
            dirty = true
            term.repaintDirectCells()
            switch key {
            case .resize: break
            case .special(let code):
                if prompt != nil {
                    if code == KEY_BACKSPACE { _ = prompt?.popLast() } else if code == KEY_ENTER { finishPrompt(snapshot: snapshot) }
                    continue
                }
                if showHelp { showHelp = false; continue }
                if code == KEY_LEFT || code == KEY_RIGHT { handle(code == KEY_LEFT ? "[" : "]", snapshot: snapshot, studio: studioSnapshot) }
            case .character(let c):
                if prompt != nil { editPrompt(c, snapshot: snapshot); continue }
                if showHelp && c != "?" { showHelp = false; if c != "q" && c != "\u{3}" { continue } }
                handle(c, snapshot: snapshot, studio: studioSnapshot)
            }
        }
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

    // MARK: - Keys

    func handle(_ c: Character, snapshot: LiveSnapshot, studio studioSnapshot: StudioSnapshot) {
        guard let action = KeyBindings.action(for: c) else {
            flash("no key '\(c)' — ? for help")
            return
        }
        if mode != .sample {
            if action == .save { saveStudio(studioSnapshot); return }
            if handleStudio(action) { return }
        }
        switch action {
        case .etaDown, .etaUp:
            let current: Float = if case .eta(let e) = settings.noise { e } else { 1 }
            let next = max(0, ((current + (action == .etaUp ? 0.1 : -0.1)) * 10).rounded() / 10)
            settings.noise = .eta(next)
            sendSettings()
        case .sigmaHat:
            settings.noise = settings.noise == .ddpmLarge ? .eta(0) : .ddpmLarge
            sendSettings()
        case .compareSteps: switchMode(to: .compareSteps, snapshot: snapshot)
        case .compareEta: switchMode(to: .compareEta, snapshot: snapshot)
        case .interpolate: switchMode(to: .interpolate, snapshot: snapshot)
        case .invert: switchMode(to: .invert, snapshot: snapshot)
        case .alphaDown, .alphaUp: flash("[ and ] move α in the interpolation view (i)")
        case .open: prompt = ""
        case .stepsDown, .stepsUp:
            settings.steps = min(model.schedule.trainTimesteps, max(1, settings.steps + (action == .stepsUp ? 1 : -1)))
            sendSettings()
        case .stepsPreset:
            if let d = c.wholeNumberValue, (1...KeyBindings.stepPresets.count).contains(d) {
                settings.steps = min(model.schedule.trainTimesteps, KeyBindings.stepPresets[d - 1])
                sendSettings()
            }
        case .spacing:
            settings.spacing = settings.spacing.next
            sendSettings()
        case .nextSeed, .previousSeed:
            let delta = UInt64(settings.batch)
            settings.seed = action == .nextSeed ? settings.seed &+ delta : settings.seed &- delta
            live.send(.newRun(seed: settings.seed, batch: settings.batch))
        case .batchUp, .batchDown:
            let batch = min(64, max(1, settings.batch + (action == .batchUp ? 1 : -1)))
            guard batch <= settings.batch || fits(batch: batch) else { break }
            settings.batch = batch
            live.send(.newRun(seed: settings.seed, batch: settings.batch))
        case .pause:
            paused.toggle()
            live.send(.setPaused(paused))
        case .stepOnce:
            if !paused { paused = true; live.send(.setPaused(true)) }
            live.send(.stepOnce)
        case .restart:
            live.send(.restart)
        case .view: view = view.next
        case .blitter:
            blitter = blitter.next
            if !capabilities.unicode && blitter != .ascii { flash("this terminal's locale is not UTF-8: block glyphs may not show") }
        case .colorMode:
            let max = terminal?.maxColorMode ?? .truecolor
            repeat { colorMode = colorMode.next } while colorMode.rank > max.rank
        case .theme:
            guard let next = ThemeFiles.names.cycling(after: themeName) else { break }
            do {
                theme = try Theme.load(next)
                themeName = theme.name
                colormap = theme.colormap
            } catch { flash("\(error)", warning: true) }
        case .colormap: colormap = colormap.next
        case .save: save(snapshot)
        case .help: showHelp.toggle()
        case .quit:
            quit = true
            // Ctrl-C is a key in raw mode; it ends the run as the SIGINT it stands for (exit 130)
            if c == "\u{3}" { stopRequest.set(SIGINT) }
        }
    }

    private func sendSettings() {
        // past η_max, σ_t > √(1 − ᾱ_{t−1}) at some step: eq. 12 has no real direction term
        if case .eta(let eta) = settings.noise, eta > 1 {
            let plan = (try? model.ddim.timesteps(steps: settings.steps, spacing: settings.spacing)) ?? []
            let largest = model.ddim.largestEta(plan: plan)
            if eta > largest {
                let lowered = max(1, (largest * 10).rounded(.down) / 10)
                settings.noise = .eta(lowered)
                flash("η \(NoiseLevel.eta(lowered).label): the largest for \(settings.steps) steps (σ_t ≤ √(1 − ᾱ_{t−1}))", warning: true)
            }
        }
        live.send(.setSettings(steps: settings.steps, noise: settings.noise, spacing: settings.spacing))
        if mode != .sample { showStudio() }
    }

    /// Whether a run of `batch` fits what the process may use (``MemoryBudget``); if not, says so
    /// in the status line, and the batch stays.
    private func fits(batch: Int) -> Bool {
        do {
            try model.checkMemory(RunMemory(model.describe(batch: batch), batch: batch, live: true))
            return true
        } catch {
            flash("\(error)", warning: true)
            return false
        }
    }

    func flash(_ text: String, warning: Bool = false) {
        status = (text, warning, Date().addingTimeInterval(warning ? 6 : 3))
    }

    private func save(_ snapshot: LiveSnapshot) {
        let tensor = view == .noisy ? snapshot.sample : snapshot.predictedX0 ?? snapshot.sample
        guard tensor.rank == 4, tensor.count > 0 else { flash("nothing to save yet", warning: true); return }
        let eta = settings.noise.label
        var name = "ddim-\(snapshot.settings.seed)-s\(snapshot.settings.steps)-e\(eta)-\(snapshot.stepsDone).png"
        var n = 1
        while FileManager.default.fileExists(atPath: name) {
            n += 1
            name = "ddim-\(snapshot.settings.seed)-s\(snapshot.settings.steps)-e\(eta)-\(snapshot.stepsDone)-\(n).png"
        }
        do {
            let request = SampleRequest(steps: snapshot.settings.steps, noise: snapshot.settings.noise, seed: snapshot.settings.seed,
                                        batch: snapshot.settings.batch, spacing: snapshot.settings.spacing)
            var text = request.parameterText(model: model)
            text.append(("Seeds", snapshot.settings.seeds.map(String.init).joined(separator: ",")))
            text.append(("View", view == .noisy ? "x_t" : "x0"))
            try ImageExport.writeGrid(tensor, to: name, text: text)
            flash("saved \(name)")
        } catch {
            flash("\(error)", warning: true)
        }
    }
}

extension ColorMode {
    /// Depth order: mono < 16 < 256 < truecolor.
    var rank: Int {
        switch self {
        case .mono: 0
        case .palette16: 1
        case .palette256: 2
        case .truecolor: 3
        }
    }
}
