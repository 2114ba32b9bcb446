/// What a terminal can show: guessed from the environment, and capped by the colour count of its
/// terminfo entry where that is known (no queries), so that it is a pure function that tests can
/// drive with a dictionary and a number. The one colour-depth detection of ddim: the TUI's
/// `Terminal` passes its terminfo colour count to ``detect(environment:terminfoColors:)``.
public struct TerminalCapabilities: Hashable, Sendable {
    /// The richest colour mode the terminal is believed to support (at most ``maxColorMode``).
    public var colorMode: ColorMode
    /// The richest colour mode the screen can show at all (its terminfo entry's colours; a
    /// ``ColorMode/truecolor`` entry is a `*-direct` one): where the user may take ``colorMode``.
    /// ``ColorMode/truecolor`` when the terminfo entry is not known.
    public var maxColorMode: ColorMode
    /// Whether the locale's character encoding is UTF-8 (and the terminal not a known ASCII one).
    public var unicode: Bool
    /// The blitter to start with: ``Blitter/half`` (every Unicode font has `▀`) or ``Blitter/ascii``.
    public var blitter: Blitter

    /// Capabilities given explicitly.
    public init(colorMode: ColorMode, unicode: Bool, blitter: Blitter, maxColorMode: ColorMode = .truecolor) {
        self.colorMode = colorMode
        self.maxColorMode = maxColorMode
        self.unicode = unicode
        self.blitter = blitter
    }

    /// Both guesses from `environment` (e.g. `ProcessInfo.processInfo.environment`) and, where
    /// known, the colour count of the terminal's terminfo entry (`COLORS` once colour is started;
    /// 0 when `has_colors` says none): ``colorMode`` is ``detectColorMode(environment:)`` capped
    /// at ``maxColorMode``, which is ``colorMode(terminfoColors:)`` (mono where `NO_COLOR` rules
    /// colour out), or truecolor when `terminfoColors` is nil.
    public static func detect(environment: [String: String], terminfoColors: Int? = nil) -> TerminalCapabilities {
        let unicode = detectUnicode(environment: environment)
        let maxColorMode = !allowsColor(environment: environment) ? .mono
            : terminfoColors.map { colorMode(terminfoColors: $0) } ?? .truecolor
        return TerminalCapabilities(
            colorMode: detectColorMode(environment: environment).capped(at: maxColorMode), unicode: unicode,
            blitter: unicode ? .half : .ascii, maxColorMode: maxColorMode)
    }

    /// The colour mode of a terminfo entry with `colors` colours: 2²⁴ or more (a `*-direct`
    /// entry) truecolor, 256 or more palette256, 8 or more palette16, fewer mono.
    public static func colorMode(terminfoColors colors: Int) -> ColorMode {
        colors >= 1 << 24 ? .truecolor : colors >= 256 ? .palette256 : colors >= 8 ? .palette16 : .mono
    }

    /// Whether colour may be used at all: `NO_COLOR` (no-color.org) unset or empty.
    public static func allowsColor(environment: [String: String]) -> Bool {
        environment["NO_COLOR"].map(\.isEmpty) ?? true
    }

    /// The terminfo entry to try before `TERM` itself: its `-direct` variant (`xterm-256color` →
    /// `xterm-direct`) when `COLORTERM` says truecolor (`truecolor`, `24bit`) and `TERM` is not a
    /// `-direct` entry already, as many terminals show 24-bit colour under a 256-colour `TERM`;
    /// nil otherwise, and under `NO_COLOR`.
    public static func directTerminfoName(environment: [String: String]) -> String? {
        let term = environment["TERM"] ?? "xterm"
        let colorTerm = environment["COLORTERM"]?.lowercased() ?? ""
        guard colorTerm == "truecolor" || colorTerm == "24bit", !term.hasSuffix("-direct"),
              allowsColor(environment: environment) else { return nil }
        let base = term.split(separator: "-").first.map(String.init) ?? term
        return "\(base)-direct"
    }

    /// The colour mode, first rule that matches:
    /// 1. `NO_COLOR` set and non-empty (no-color.org) → mono;
    /// 2. `TERM` unset, empty, `dumb` or `vt100`/`vt102`/`vt220` → mono;
    /// 3. `COLORTERM` is `truecolor` or `24bit`, or `TERM` ends in `-direct` → truecolor;
    /// 4. `TERM` contains `256color` → palette256;
    /// 5. any other `TERM` (`linux`, `xterm`, `screen`, …) → palette16.
    public static func detectColorMode(environment: [String: String]) -> ColorMode {
        if !allowsColor(environment: environment) { return .mono }
        let term = (environment["TERM"] ?? "").lowercased()
        if term.isEmpty || term == "dumb" || monoTerminals.contains(term) { return .mono }
        let colorTerm = (environment["COLORTERM"] ?? "").lowercased()
        if colorTerm == "truecolor" || colorTerm == "24bit" || term.hasSuffix("-direct") { return .truecolor }
        if term.contains("256color") { return .palette256 }
        return .palette16
    }

    /// Whether to draw Unicode glyphs: the locale (the first non-empty of `LC_ALL`, `LC_CTYPE`,
    /// `LANG`, as POSIX orders them) names UTF-8, and `TERM` is not `linux`, `dumb` or a VT
    /// (whose fonts lack most block elements).
    public static func detectUnicode(environment: [String: String]) -> Bool {
        let term = (environment["TERM"] ?? "").lowercased()
        if term == "linux" || term == "dumb" || monoTerminals.contains(term) { return false }
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"].lazy.compactMap { environment[$0] }.first { !$0.isEmpty } ?? ""
        let normalised = locale.lowercased().filter { $0 != "-" }
        return normalised.contains("utf8")
    }

    /// Hardware terminals without colour.
    private static let monoTerminals: Set<String> = ["vt100", "vt102", "vt220"]
}

extension ColorMode {
    /// How many colours the mode shows, as an order: mono 0 < palette16 1 < palette256 2 < truecolor 3.
    public var depth: Int {
        switch self {
        case .mono: 0
        case .palette16: 1
        case .palette256: 2
        case .truecolor: 3
        }
    }

    /// This mode, or `limit` where this one is deeper (``depth``).
    public func capped(at limit: ColorMode) -> ColorMode {
        depth > limit.depth ? limit : self
    }
}
