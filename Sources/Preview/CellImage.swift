/// A picture as terminal cells: `rows` rows of `columns` cells, row-major.
public struct CellImage: Hashable, Sendable {
    /// Cells per row.
    public let columns: Int
    /// Rows of cells.
    public let rows: Int
    /// `columns * rows` cells, top row first.
    public var cells: [Cell]
    /// The colour mode the cells' colours were quantised to.
    public let colorMode: ColorMode

    /// A cell image over existing cells; `cells.count` must be `columns * rows`.
    public init(columns: Int, rows: Int, cells: [Cell], colorMode: ColorMode) {
        precondition(cells.count == columns * rows, "CellImage: \(cells.count) cells for \(columns)×\(rows)")
        self.columns = columns
        self.rows = rows
        self.cells = cells
        self.colorMode = colorMode
    }

    /// The cell at `column`, `row` (both from 0, top-left first).
    public subscript(column: Int, row: Int) -> Cell {
        get { cells[row * columns + column] }
        set { cells[row * columns + column] = newValue }
    }

    /// The glyphs alone, one line per row (no colour): handy in tests and logs.
    public var text: String {
        var out = String.UnicodeScalarView()
        for row in 0..<rows {
            if row > 0 { out.append("\n") }
            for column in 0..<columns { out.append(self[column, row].glyph) }
        }
        return String(out)
    }
}
