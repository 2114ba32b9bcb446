/// What a terminal can show, guessed from the environment alone (no terminfo, no queries), so
/// that it is a pure function that tests can drive with a dictionary.
public struct TerminalCapabilities: Hashable, Sendable {
    /// The richest colour mode the terminal is believed to support.
    public var colorMode: ColorMode
    /// Whether the locale's character encoding is UTF-8 (and the terminal not a known ASCII one).
    public var unicode: Bool
    /// The blitter to start with: ``Blitter/half`` (every Unicode font has `▀`) or ``Blitter/ascii``.
    public var blitter: Blitter

    /// Capabilities given explicitly.
    public init(colorMode: ColorMode, unicode: Bool, blitter: Blitter) {
        self.colorMode = colorMode
        self.unicode = unicode
        self.blitter = blitter
    }

    /// Both guesses from `environment` (e.g. `ProcessInfo.processInfo.environment`).
    public static func detect(environment: [String: String]) -> TerminalCapabilities {
        let unicode = detectUnicode(environment: environment)
        return TerminalCapabilities(
            colorMode: detectColorMode(environment: environment), unicode: unicode,
            blitter: unicode ? .half : .ascii)
    }

    /// The colour mode, first rule that matches:
    /// 1. `NO_COLOR` set and non-empty (no-color.org) → mono;
    /// 2. `TERM` unset, empty, `dumb` or `vt100`/`vt102`/`vt220` → mono;
    /// 3. `COLORTERM` is `truecolor` or `24bit`, or `TERM` ends in `-direct` → truecolor;
    /// 4. `TERM` contains `256color` → palette256;
    /// 5. any other `TERM` (`linux`, `xterm`, `screen`, …) → palette16.
    public static func detectColorMode(environment: [String: String]) -> ColorMode {
        if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return .mono }
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
