/// One terminal cell: a glyph drawn in `fg` over `bg`.
///
/// `fg` and `bg` are the colours the cell shows after quantisation to the image's
/// ``ColorMode``; `fgIndex` and `bgIndex` are the terminal colour numbers for them:
///
/// | mode | index |
/// | --- | --- |
/// | ``ColorMode/truecolor`` | `0xRRGGBB` (ncurses' direct-colour numbering) |
/// | ``ColorMode/palette256`` | 0…255 (16…255 in practice: the cube and the grey ramp) |
/// | ``ColorMode/palette16`` | 0…15 (the ANSI colours) |
/// | ``ColorMode/mono`` | −1, the terminal's default colour |
public struct Cell: Hashable, Sendable {
    /// The character to draw: a block, sextant, braille or ASCII glyph (always one scalar, one column wide).
    public var glyph: Unicode.Scalar
    /// The colour of the glyph's ink.
    public var fg: RGB
    /// The colour behind the glyph.
    public var bg: RGB
    /// The terminal colour number of `fg` (see the type's table).
    public var fgIndex: Int
    /// The terminal colour number of `bg` (see the type's table).
    public var bgIndex: Int

    /// A cell with explicit colour numbers.
    public init(glyph: Unicode.Scalar, fg: RGB, bg: RGB, fgIndex: Int, bgIndex: Int) {
        self.glyph = glyph
        self.fg = fg
        self.bg = bg
        self.fgIndex = fgIndex
        self.bgIndex = bgIndex
    }

    /// A truecolor cell: the colour numbers are `fg.hex` and `bg.hex`.
    public init(glyph: Unicode.Scalar, fg: RGB, bg: RGB) {
        self.init(glyph: glyph, fg: fg, bg: bg, fgIndex: Int(fg.hex), bgIndex: Int(bg.hex))
    }

    /// An empty cell in the terminal's default colours.
    public static let blank = Cell(glyph: " ", fg: .white, bg: .black, fgIndex: -1, bgIndex: -1)

    /// The glyph as a `Character`.
    public var character: Character { Character(glyph) }
}
