/// How many colours the terminal can show, and so how cell colours are quantised.
public enum ColorMode: String, CaseIterable, Sendable {
    /// 24-bit colour (`ESC[38;2;r;g;bm`, or ncurses with a `*-direct` TERM).
    case truecolor
    /// xterm's 256 colours; cells use the 6×6×6 cube (16…231) and the grey ramp (232…255).
    case palette256
    /// The 16 ANSI colours.
    case palette16
    /// No colour: the glyphs alone carry the picture (luma threshold or ASCII ramp).
    case mono
}
