// MARK: - ANSI escape output (for plain terminals and logs, without ncurses)

extension CellImage {
    /// Each row as text with SGR colour escapes for its ``colorMode`` (``SGR``), ending in a
    /// reset (`ESC[0m`); a colour escape, setting both colours, is emitted only where the colours
    /// change. Mono rows are the glyphs alone.
    ///
    /// truecolor: `38;2;r;g;b` / `48;2;r;g;b`; 256: `38;5;n` / `48;5;n`;
    /// 16: `30+n` / `40+n` for 0–7 and `90+n−8` / `100+n−8` for 8–15; a colour number of −1
    /// (the default colour): `39` / `49`.
    public func ansiLines() -> [String] {
        (0..<rows).map { row in
            var line: [UInt8] = []
            var current: (fg: Int, bg: Int)?
            for column in 0..<columns {
                let cell = self[column, row]
                if colorMode != .mono, current.map({ $0 != (cell.fgIndex, cell.bgIndex) }) ?? true {
                    SGR.append(foreground: cell.fgIndex, background: cell.bgIndex, mode: colorMode, to: &line)
                    current = (cell.fgIndex, cell.bgIndex)
                }
                Escape.appendUTF8(cell.glyph.value, to: &line)
            }
            if colorMode != .mono { line += Escape.resetAttributes }
            return String(decoding: line, as: UTF8.self)
        }
    }
}
