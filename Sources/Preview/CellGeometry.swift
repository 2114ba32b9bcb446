/// The size of a preview in cells, and of the pixel grid its blitter draws.
public struct CellGeometry: Hashable, Sendable {
    /// Cells across.
    public var columns: Int
    /// Cells down.
    public var rows: Int
    /// The blitter the pixel grid is for.
    public var blitter: Blitter

    /// A geometry of `columns` × `rows` cells for `blitter`.
    public init(columns: Int, rows: Int, blitter: Blitter) {
        self.columns = columns
        self.rows = rows
        self.blitter = blitter
    }

    /// Pixels across: `columns × blitter.cellWidth`.
    public var pixelWidth: Int { columns * blitter.cellWidth }
    /// Pixels down: `rows × blitter.cellHeight`.
    public var pixelHeight: Int { rows * blitter.cellHeight }

    /// The usual width : height of a terminal cell.
    public static let defaultCellAspect = 0.5

    /// The largest geometry within `maxColumns` × `maxRows` cells whose shape on screen matches
    /// a `sourceWidth` × `sourceHeight` picture, given cells `cellAspect` (width / height) wide.
    ///
    /// On screen the preview is `columns` wide and `rows / cellAspect` tall (in cell widths), so
    /// `rows = columns · (sourceHeight / sourceWidth) · cellAspect`, rounded to the nearest cell;
    /// whichever of width or height runs out first sets the size. A 32×32 image in 80×24 cells
    /// gets 48×24 (▀ half blocks: 48×48 pixels); in 40×40 cells, 40×20. Never less than 1×1.
    public static func fit(
        sourceWidth: Int, sourceHeight: Int, maxColumns: Int, maxRows: Int, blitter: Blitter,
        cellAspect: Double = defaultCellAspect
    ) -> CellGeometry {
        let maxColumns = max(maxColumns, 1), maxRows = max(maxRows, 1)
        guard sourceWidth > 0, sourceHeight > 0, cellAspect > 0 else {
            return CellGeometry(columns: maxColumns, rows: maxRows, blitter: blitter)
        }
        // Rows per column that keep the picture's shape.
        let rowsPerColumn = Double(sourceHeight) / Double(sourceWidth) * cellAspect
        var columns = maxColumns
        var rows = Int((Double(columns) * rowsPerColumn).rounded())
        if rows > maxRows {
            rows = maxRows
            columns = min(Int((Double(rows) / rowsPerColumn).rounded()), maxColumns)
        }
        return CellGeometry(columns: max(columns, 1), rows: max(rows, 1), blitter: blitter)
    }
}
