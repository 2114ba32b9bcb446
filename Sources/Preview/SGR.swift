/// The one encoder of SGR colour sequences (`ESC [ … m`), shared by the TUI's direct cells and
/// ``CellImage/ansiLines()``.
///
/// A colour is a terminal colour number of a ``ColorMode``, as ``Cell/fgIndex`` holds it, and
/// −1 (any negative number) is the terminal's default colour:
///
/// | mode | foreground | background |
/// | --- | --- | --- |
/// | default (−1), and ``ColorMode/mono`` | `39` | `49` |
/// | ``ColorMode/truecolor``, `0xRRGGBB` | `38;2;r;g;b` | `48;2;r;g;b` |
/// | ``ColorMode/palette256``, 0…255 | `38;5;n` | `48;5;n` |
/// | ``ColorMode/palette16``, 0…7 | `30+n` | `40+n` |
/// | ``ColorMode/palette16``, 8…15 | `90+n−8` | `100+n−8` |
public enum SGR {
    /// Appends the SGR parameters that select colour `number` of `mode` as the foreground or the
    /// background (no `ESC [`, no `m`).
    @inlinable
    public static func appendParameters(_ number: Int, mode: ColorMode, foreground: Bool, to out: inout [UInt8]) {
        guard number >= 0 else {
            out += foreground ? [0x33, 0x39] : [0x34, 0x39]  // 39, 49
            return
        }
        switch mode {
        case .truecolor:
            out += foreground ? [0x33, 0x38, 0x3B, 0x32] : [0x34, 0x38, 0x3B, 0x32]  // 38;2 or 48;2
            out.append(Escape.parameterSeparator)
            Escape.appendDecimal((number >> 16) & 0xFF, to: &out)
            out.append(Escape.parameterSeparator)
            Escape.appendDecimal((number >> 8) & 0xFF, to: &out)
            out.append(Escape.parameterSeparator)
            Escape.appendDecimal(number & 0xFF, to: &out)
        case .palette256:
            out += foreground ? [0x33, 0x38, 0x3B, 0x35, 0x3B] : [0x34, 0x38, 0x3B, 0x35, 0x3B]  // 38;5; or 48;5;
            Escape.appendDecimal(number, to: &out)
        case .palette16:
            let base = number < 8 ? (foreground ? 30 : 40) : (foreground ? 90 - 8 : 100 - 8)
            Escape.appendDecimal(base + number, to: &out)
        case .mono:
            out += foreground ? [0x33, 0x39] : [0x34, 0x39]
        }
    }

    /// Appends one SGR sequence (`ESC [ fg ; bg m`) setting the colours given (nil: left as they
    /// are); nothing when both are nil.
    @inlinable
    public static func append(foreground: Int?, background: Int?, mode: ColorMode, to out: inout [UInt8]) {
        guard foreground != nil || background != nil else { return }
        out += Escape.controlSequence
        if let foreground { appendParameters(foreground, mode: mode, foreground: true, to: &out) }
        if foreground != nil && background != nil { out.append(Escape.parameterSeparator) }
        if let background { appendParameters(background, mode: mode, foreground: false, to: &out) }
        out.append(Escape.sgrEnd)
    }

    /// The SGR sequence of ``append(foreground:background:mode:to:)`` as a string.
    public static func sequence(foreground: Int?, background: Int?, mode: ColorMode) -> String {
        var bytes: [UInt8] = []
        append(foreground: foreground, background: background, mode: mode, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}
