/// How one terminal cell shows a small block of pixels (names follow notcurses' blitters).
///
/// A cell is about twice as tall as it is wide, so the pixels of a blitter are square only
/// for ``half`` and ``braille``; the resampler sizes each axis separately, so every blitter
/// keeps the picture's aspect.
///
/// | blitter | pixels per cell | glyphs |
/// | --- | --- | --- |
/// | ``half`` | 1×2 | `▀` (fg = top, bg = bottom) |
/// | ``quadrant`` | 2×2 | the 16 quadrant blocks `▘▝▀▖▌▞▛▗▚▐▜▄▙▟█` and space |
/// | ``sextant`` | 2×3 | U+1FB00…U+1FB3B (Unicode 13) plus space, `▌`, `▐`, `█` |
/// | ``braille`` | 2×4 | U+2800…U+28FF |
/// | ``ascii`` | 1×1 | the ramp `" .:-=+*#%@"` |
public enum Blitter: String, CaseIterable, Sendable {
    /// Upper half block, one pixel above another.
    case half
    /// Quadrant blocks, 2×2 pixels.
    case quadrant
    /// Sextant blocks, 2×3 pixels (needs a font with Unicode 13's "Symbols for Legacy Computing").
    case sextant
    /// Braille patterns, 2×4 dots.
    case braille
    /// A brightness ramp of ASCII characters, for terminals without Unicode.
    case ascii

    /// Pixels across one cell.
    public var cellWidth: Int {
        switch self {
        case .half, .ascii: return 1
        case .quadrant, .sextant, .braille: return 2
        }
    }

    /// Pixels down one cell.
    public var cellHeight: Int {
        switch self {
        case .ascii: return 1
        case .half, .quadrant: return 2
        case .sextant: return 3
        case .braille: return 4
        }
    }

    /// Whether the glyphs are outside ASCII.
    var needsUnicode: Bool { self != .ascii }
}
