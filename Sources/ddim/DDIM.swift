import ArgumentParser
import BuildInfo
import Engine
import Tensors
import Files
import Foundation
import Graphics
import Imaging
import Preview
import TUI
import Output

/// `ddim`: watch a diffusion model draw, live, in a terminal (DDIM, Song et al. 2021).
@main
struct DDIM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ddim",
        abstract: "Watch a diffusion model draw, live, in the terminal — and steer it while it draws.",
        discussion: """
            Without a subcommand, opens the live sampler on the embedded digits model (or --model DIR).
            Models are diffusers UNet2DModel folders (config.json + safetensors or a PyTorch .bin), e.g. google/ddpm-cifar10-32.
            The live sampler's keys: `ddim live --help`, or ? while it runs (docs/keys.md).
            """,
        version: versionText,
        subcommands: [Live.self, Sample.self, Compare.self, Interpolate.self, Invert.self, Sweep.self, Info.self, Bench.self, Convert.self],
        defaultSubcommand: Live.self)

    /// What `ddim --version` prints: `ddim 0.11.0 (commit 249a050c1f2e)`. The commit is the one
    /// `make` found when it built this binary ("unknown" for a plain `swift build`).
    static var versionText: String {
        "ddim \(String(cString: ddim_version())) (commit \(String(cString: ddim_build_commit())))"
    }

    /// Parses and runs the command (after re-executing once if OpenBLAS chose pre-AVX2 kernels
    /// on an AVX2 CPU it did not recognise). Headless runs first get ``Interrupts``: SIGINT, SIGTERM and
    /// SIGHUP remove a half-written output file before the process ends, and a closed standard
    /// output is an error message rather than a silent SIGPIPE (the live sampler replaces these
    /// handlers with its own, which restore the terminal).
    static func main() {
        // before any thread starts: OpenBLAS's kernels for a CPU it did not recognise
        upgradeBLASForUnrecognisedCPU()
        Interrupts.installForHeadless()
        if let bad = firstNonUTF8Argument() {
            FileHandle.standardError.write(Data("Error: argument \(bad.index) (\(bad.shown)) is not valid UTF-8; ddim takes UTF-8 arguments and paths\n".utf8))
            Foundation.exit(64)
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// `ddim` / `ddim live`: the ncurses live sampler.
struct Live: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The live sampler (the default): watch x̂₀ emerge and steer η and steps while it runs.",
        discussion: KeyBindings.commandLineHelp)

    @OptionGroup var model: ModelOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(name: .long, help: ArgumentHelp("Theme: dusk, paper, contrast, one of yours in ~/.config/ddim/themes/, or a path to a .theme file.", valueName: "name|path"))
    var theme: String?

    @Option(name: .long, help: "Colours: truecolor, palette256, palette16 or mono (default: detected from TERM, COLORTERM, NO_COLOR).")
    var color: ColorMode?

    @Option(name: .long, help: "Preview glyphs: half, quadrant, sextant, braille or ascii (default: half, ascii without a UTF-8 locale).")
    var blitter: Blitter?

    @Option(name: .long, help: ArgumentHelp(
        "Tiles as real pixels: auto (ask the terminal: kitty graphics, then iTerm2, then sixel), kitty, sixel, iterm, or blocks (character cells). g switches live. (default: auto)",
        valueName: "auto|kitty|sixel|iterm|blocks"))
    var graphics: GraphicsChoice?

    @Flag(name: .long, help: "Start paused, showing x_T (space runs, . steps).")
    var paused = false

    @Option(name: .long, help: ArgumentHelp("Open the inversion view on this picture (PNG of the model's size): x₀ → x_T → x₀.", valueName: "png"))
    var image: String?

    @OptionGroup var clip: ClipOption

    @Option(name: .long, help: ArgumentHelp(
        "Milliseconds a step at least, so the run can be watched: \(Live.defaultPaceMilliseconds.compactText) by default (the embedded model's 50 steps in about \(Live.defaultPaceSeconds) s), 0: as fast as possible (< and > halve and double it live). Only the live sampler paces.",
        valueName: "ms"))
    var pace: Double?

    /// The pace of the live sampler without `--pace`: 70 ms a step. The embedded digits model's
    /// default run (50 steps, batch 1) takes 0.26–0.31 s unpaced on a shared 2-core Xeon, 5–6 ms
    /// a step (15 ms at batch 4), a blink; paced it lasts about 50 × 70 ms = 3.5 s: long enough
    /// to watch x̂₀ emerge, short enough not to bore. A model slower than the pace runs at its
    /// own speed.
    static let defaultPaceMilliseconds = 70.0
    /// The default run's length at the default pace, in seconds (for the help).
    static var defaultPaceSeconds: String { (50 * defaultPaceMilliseconds / 1e3).compactText }
    /// The largest `--pace`: 10 s a step.
    static let largestPaceMilliseconds = UserConfig.largestPaceMilliseconds

    @Option(name: .long, help: ArgumentHelp(
        "Measure what drawing costs sampling: runs alternate blocks of N steps drawn live with N steps not drawn at all, and show both mean step times when done.",
        valueName: "N"))
    var measureUi: Int?

    func validate() throws {
        if let n = measureUi, n < 1 { throw ValidationError("--measure-ui \(n): give a block of at least 1 step") }
        if let ms = pace, !(0...Self.largestPaceMilliseconds).contains(ms) {
            throw ValidationError("--pace \(ms.compactText): give 0…\(Self.largestPaceMilliseconds.compactText) milliseconds a step (0: as fast as possible)")
        }
        if measureUi != nil, let ms = pace, ms > 0 {
            throw ValidationError("--pace \(ms.compactText) with --measure-ui: the measurement compares unpaced steps; leave out --pace or give --pace 0")
        }
        if sampling.batch > AppState.maxBatch {
            throw ValidationError("--batch \(sampling.batch): the live sampler shows at most \(AppState.maxBatch) tiles (`ddim sample` has no such limit)")
        }
    }

    /// The pace in force: `--pace`, else 0 with `--measure-ui` (it measures unpaced steps), else
    /// the config's `pace`, else the default.
    func paceMilliseconds(config: UserConfig) -> Double {
        pace ?? (measureUi == nil ? config.paceMilliseconds ?? Self.defaultPaceMilliseconds : 0)
    }

    func run() throws {
        // the config first: its problems reach standard error even when the terminal is refused
        var warnings: [String] = []
        func warn(_ line: String) {
            warnings.append(line)
            FileHandle.standardError.write(Data("Warning: \(line)\n".utf8))
        }
        var config = UserConfig.load(environment: ProcessInfo.processInfo.environment)
        config.warnings.forEach(warn)
        guard isatty(0) == 1, isatty(1) == 1 else {
            throw ValidationError("the live sampler needs a terminal on standard input and output; for scripts use `ddim sample`")
        }
        if let refusal = App.terminalRefusal(environment: ProcessInfo.processInfo.environment) { throw TUIError.terminal(refusal) }
        var m = try model.load(defaultClass: true)
        clip.apply(to: &m)
        try ImageExport.checkPicture(channels: m.unet.config.inChannels)
        let spacing = sampling.spacing ?? m.scheduler.timestepSpacing
        let configFile = UserConfig.file(environment: ProcessInfo.processInfo.environment).map(PathText.display) ?? "the config"
        // the config's values are checked against the model as the flags are, but only warned about
        if sampling.givenSteps == nil, let steps = config.steps, steps > m.schedule.trainTimesteps {
            warn("\(configFile): steps \(steps) is more than the model's \(m.schedule.trainTimesteps) training timesteps; using \(min(50, m.schedule.trainTimesteps))")
            config.steps = min(50, m.schedule.trainTimesteps)
        }
        let steps = sampling.givenSteps ?? config.steps ?? sampling.steps
        guard steps <= m.schedule.trainTimesteps else {
            throw ValidationError("--steps \(steps) is more than the model's \(m.schedule.trainTimesteps) training timesteps")
        }
        if sampling.givenEta == nil, let noise = config.noise {
            do { try m.check(noise: noise, steps: steps, spacing: spacing) } catch {
                warn("\(configFile): eta: \(error); using 0")
                config.noise = nil
            }
        }
        let noise = sampling.givenEta?.level ?? config.noise ?? sampling.eta.level
        if sampling.givenBatch == nil, let batch = config.batch {
            do { try checkMemory(m, batch: batch) } catch {
                warn("\(configFile): batch \(batch): \(error); using 1")
                config.batch = nil
            }
        }
        let batch = sampling.givenBatch ?? config.batch ?? sampling.batch
        try checkMemory(m, batch: batch)
        if let folder = config.saveFolder {
            var isFolder: ObjCBool = false
            if !FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) || !isFolder.boolValue {
                warn("\(configFile): save-dir \(PathText.display(folder)) is not a folder; w saves in the current folder")
                config.saveFolder = nil
            }
        }
        var settings = LiveSettings(steps: steps, noise: noise, spacing: spacing,
                                    seed: sampling.seed, batch: batch, paceMilliseconds: paceMilliseconds(config: config))
        settings.classLabel = m.classLabel
        settings.guidance = m.guidance
        var options = AppOptions(settings: settings, theme: theme ?? config.theme, colorMode: color ?? config.colorMode,
                                 blitter: blitter ?? config.blitter, paused: paused)
        options.measureBlock = measureUi
        options.graphics = graphics ?? config.graphics ?? .auto
        options.userThemes = config.themesFolder
        options.saveFolder = config.saveFolder
        if let first = warnings.first {
            options.startWarning = first + (warnings.count > 1 ? " (and \(warnings.count - 1) more on standard error, seen after you quit)" : "")
        }
        if let image { options.invert = (try m.image(at: image), OutputPath.split(image).name) }
        let app = App(model: m, options: options)
        try app.run()
        // a signal ended it: the terminal is restored, so end the way the signal would have
        if let sig = app.stoppingSignal { Interrupts.end(by: sig) }
    }
}

extension ColorMode: ExpressibleByArgument {}

extension GraphicsChoice: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
    public static var allValueStrings: [String] { ["auto"] + GraphicsProtocol.allCases.map(\.rawValue) }
    public var defaultValueDescription: String {
        switch self {
        case .auto: "auto"
        case .forced(let p): p.rawValue
        }
    }
}
extension Blitter: ExpressibleByArgument {}
extension ConvPolicy.Precision: ExpressibleByArgument {}

/// The first command-line argument that is not valid UTF-8, with its bytes shown as `\xFF`.
/// Swift would decode such an argument with U+FFFD in place of the bad bytes, so a path given
/// that way would silently name another file; it is refused instead.
func firstNonUTF8Argument() -> (index: Int, shown: String)? {
    for i in 1..<Int(CommandLine.argc) {
        guard let raw = CommandLine.unsafeArgv[i] else { continue }
        if String(validatingCString: raw) != nil { continue }
        let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(raw).assumingMemoryBound(to: UInt8.self), count: strlen(raw))
        return (i, escapedBytes(bytes))
    }
    return nil
}

extension Double {
    /// The number as a message shows it: 70, not 70.0; 62.5 as it is.
    var compactText: String { rounded() == self && abs(self) < 1e15 ? String(Int(self)) : String(self) }
}

/// Bytes that are not valid UTF-8, as a message shows them: printable ASCII as itself, the rest
/// as `\xFF`.
func escapedBytes<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
    bytes.map { (0x20..<0x7F).contains($0) ? String(UnicodeScalar($0)) : String(format: "\\x%02X", $0) }.joined()
}
