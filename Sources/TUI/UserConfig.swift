import Files
import Foundation
import Graphics
import Preview
import Sampling

/// The live sampler's defaults from the user's config file, `$XDG_CONFIG_HOME/ddim/config`
/// (else `~/.config/ddim/config`), and the folder of the user's own themes beside it.
///
/// The file is `key = value` lines; `#` starts a comment (a whole line, or after a space);
/// blank lines are skipped; a key given twice keeps its last value:
///
///     # ~/.config/ddim/config
///     theme    = paper        # dusk, paper, contrast, a theme in themes/, or a path
///     color    = palette256   # truecolor, palette256, palette16, mono
///     blitter  = quadrant     # half, quadrant, sextant, braille, ascii
///     graphics = blocks       # auto, kitty, sixel, iterm, blocks
///     pace     = 40           # milliseconds a step at least; 0: as fast as possible
///     steps    = 20
///     eta      = 0.5          # or hat
///     batch    = 4
///     save-dir = ~/Pictures/ddim
///
/// Command-line flags override the file. Nothing in it stops the live sampler: a bad line is
/// one ``warnings`` entry naming the file and the line (`FILE:LINE: reason`) and is skipped; a
/// file that cannot be read (a FIFO, a folder, over ``fileLimit``, not UTF-8) is one warning and
/// no settings. A missing file is no settings and no warning.
public struct UserConfig: Sendable, Equatable {
    /// `theme`: a theme name or a path to a `.theme` file.
    public var theme: String?
    /// `color`.
    public var colorMode: ColorMode?
    /// `blitter`.
    public var blitter: Blitter?
    /// `graphics`.
    public var graphics: GraphicsChoice?
    /// `pace`: milliseconds a step at least (0…``largestPaceMilliseconds``).
    public var paceMilliseconds: Double?
    /// `steps`: DDIM steps (1 or more; the model's own limit is checked when it is loaded).
    public var steps: Int?
    /// `eta`: η ≥ 0, or `hat` (σ̂).
    public var noise: NoiseLevel?
    /// `batch`: samples per run (1…``AppState/maxBatch``).
    public var batch: Int?
    /// `save-dir`: the folder `w` writes PNGs to (`~/` expanded); nil: the current folder.
    public var saveFolder: String?
    /// The folder of the user's themes, `NAME.theme` each (``Theme/load(_:userThemes:)``), whether
    /// or not it exists; nil when neither `XDG_CONFIG_HOME` nor `HOME` is set.
    public var themesFolder: String?
    /// One line per problem, `FILE:LINE: reason` (or `FILE: reason` for the whole file).
    public var warnings: [String] = []

    /// No settings.
    public init() {}

    /// The keys a config file may set, in the order the docs list them.
    public static let keys = ["theme", "color", "blitter", "graphics", "pace", "steps", "eta", "batch", "save-dir"]
    /// The largest config file read: 64 KiB (a full one is a few hundred bytes).
    public static let fileLimit = ReadLimit(bytes: 64 << 10, what: "a config file")
    /// The largest `pace`: 10 s a step, as `--pace`.
    public static let largestPaceMilliseconds = 10_000.0

    // MARK: - Where

    /// ddim's config folder: `$XDG_CONFIG_HOME/ddim` when that is an absolute path (the XDG base
    /// directory spec ignores relative ones), else `$HOME/.config/ddim`; nil when neither is set.
    public static func folder(environment: [String: String]) -> String? {
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") { return joined(xdg, "ddim") }
        if let home = environment["HOME"], !home.isEmpty { return joined(joined(home, ".config"), "ddim") }
        return nil
    }

    /// The config file: ``folder(environment:)``/config.
    public static func file(environment: [String: String]) -> String? {
        folder(environment: environment).map { joined($0, "config") }
    }

    // MARK: - Reading

    /// Reads the config file the environment names (and sets ``themesFolder``); see the type.
    public static func load(environment: [String: String]) -> UserConfig {
        guard let folder = folder(environment: environment) else { return UserConfig() }
        var config = load(file: joined(folder, "config"), home: environment["HOME"])
        config.themesFolder = joined(folder, "themes")
        return config
    }

    /// Reads one config file: no settings and no warning if nothing is at `path`, one warning if
    /// it cannot be read; `home` expands a `~/` in `save-dir`.
    public static func load(file path: String, home: String?) -> UserConfig {
        var status = stat()
        guard lstat(path, &status) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return UserConfig() }
            var config = UserConfig()
            config.warnings = ["\(PathText.display(path)): \(String(cString: strerror(errno))); the config is ignored"]
            return config
        }
        do {
            let bytes = try InputFile.contents(of: path, limit: fileLimit)
            guard let text = String(validating: bytes, as: UTF8.self) else {
                var config = UserConfig()
                config.warnings = ["\(PathText.display(path)): not UTF-8 text; the config is ignored"]
                return config
            }
            return parse(text, file: path, home: home)
        } catch {
            var config = UserConfig()
            config.warnings = ["\(error); the config is ignored"]
            return config
        }
    }

    /// Parses a config file's text; `file` names it in warnings, `home` expands `~/` in `save-dir`.
    public static func parse(_ text: String, file: String, home: String? = nil) -> UserConfig {
        var config = UserConfig()
        let shown = PathText.display(file)
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = withoutComment(Substring(raw)).trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let problem: String?
            if parts.count == 2, !parts[0].isEmpty {
                problem = config.set(parts[0], to: parts[1], home: home)
            } else {
                problem = "expected 'key = value', got '\(line)'"
            }
            if let problem { config.warnings.append("\(shown):\(n + 1): \(problem); the line is ignored") }
        }
        return config
    }

    /// The line up to a `#` at its start or after a space or tab.
    private static func withoutComment(_ line: Substring) -> Substring {
        var previous: Character = " "
        for i in line.indices {
            if line[i] == "#", previous == " " || previous == "\t" { return line[..<i] }
            previous = line[i]
        }
        return line
    }

    /// Sets `key`; the reason when the key or the value is not one ddim takes.
    private mutating func set(_ key: String, to value: String, home: String?) -> String? {
        func choice<T: RawRepresentable & CaseIterable>(_: T.Type) -> (T?, String) where T.RawValue == String {
            (T(rawValue: value), "\(key) '\(value)': give \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if value.isEmpty { return "\(key) has no value" }
        switch key {
        case "theme":
            theme = value
        case "color":
            let (v, reason) = choice(ColorMode.self)
            guard let v else { return reason }
            colorMode = v
        case "blitter":
            let (v, reason) = choice(Blitter.self)
            guard let v else { return reason }
            blitter = v
        case "graphics":
            guard let v = GraphicsChoice(value) else {
                return "graphics '\(value)': give auto, \(GraphicsProtocol.allCases.map(\.rawValue).joined(separator: ", "))"
            }
            graphics = v
        case "pace":
            guard let v = Double(value), v.isFinite, (0...Self.largestPaceMilliseconds).contains(v) else {
                return "pace '\(value)': give 0…\(Int(Self.largestPaceMilliseconds)) milliseconds a step (0: as fast as possible)"
            }
            paceMilliseconds = v
        case "steps":
            guard let v = Int(value), v >= 1 else { return "steps '\(value)': give a whole number of steps, 1 or more" }
            steps = v
        case "eta":
            if value.lowercased() == "hat" || value == "σ̂" {
                noise = .ddpmLarge
            } else {
                guard let v = Float(value), v.isFinite, v >= 0 else { return "eta '\(value)': give η ≥ 0 or hat" }
                noise = .eta(v)
            }
        case "batch":
            guard let v = Int(value), (1...AppState.maxBatch).contains(v) else {
                return "batch '\(value)': give 1…\(AppState.maxBatch) samples (the live sampler's most tiles)"
            }
            batch = v
        case "save-dir":
            if value == "~" || value.hasPrefix("~/") {
                guard let home, !home.isEmpty else { return "save-dir '\(value)': HOME is not set, so ~ means nothing" }
                saveFolder = Self.joined(home, String(value.dropFirst(2)))
            } else {
                saveFolder = value
            }
        default:
            return "unknown setting '\(key)' (known: \(Self.keys.joined(separator: ", ")))"
        }
        return nil
    }

    /// `folder/name`, without a doubled slash.
    private static func joined(_ folder: String, _ name: String) -> String {
        if name.isEmpty { return folder }
        return folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }
}
