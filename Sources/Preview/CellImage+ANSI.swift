// MARK: - ANSI escape output (for plain terminals and logs, without ncurses)

extension CellImage {
    /// Each row as text with SGR colour escapes for its ``colorMode``, ending in a reset
    /// (`ESC[0m`); a colour escape is emitted only where the colour changes. Mono rows are the
    /// glyphs alone.
    ///
    /// truecolor: `38;2;r;g;b` / `48;2;r;g;b`; 256: `38;5;n` / `48;5;n`;
    /// 16: `30+n` / `40+n` for 0–7 and `90+n−8` / `100+n−8` for 8–15.
    public func ansiLines() -> [String] {
        (0..<rows).map { row in
            var line = ""
            var current: (fg: Int, bg: Int)?
            for column in 0..<columns {
                let cell = self[column, row]
                if colorMode != .mono, current.map({ $0 != (cell.fgIndex, cell.bgIndex) }) ?? true {
                    line += "\u{1B}[" + sgr(cell) + "m"
                    current = (cell.fgIndex, cell.bgIndex)
                }
                line.unicodeScalars.append(cell.glyph)
            }
            return colorMode == .mono ? line : line + "\u{1B}[0m"
        }
    }

    /// The SGR parameters selecting a cell's two colours.
    private func sgr(_ cell: Cell) -> String {
        switch colorMode {
        case .truecolor:
            return "38;2;\(cell.fg.r);\(cell.fg.g);\(cell.fg.b);48;2;\(cell.bg.r);\(cell.bg.g);\(cell.bg.b)"
        case .palette256:
            return "38;5;\(cell.fgIndex);48;5;\(cell.bgIndex)"
        case .palette16:
            let fg = cell.fgIndex < 8 ? 30 + cell.fgIndex : 90 + cell.fgIndex - 8
            let bg = cell.bgIndex < 8 ? 40 + cell.bgIndex : 100 + cell.bgIndex - 8
            return "\(fg);\(bg)"
        case .mono:
            return "0"
        }
    }
}
