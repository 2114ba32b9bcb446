import Preview

/// Where everything goes on a screen of a given size (pure arithmetic, tested without a terminal).
///
/// ```
/// row 0            ┌ title ───────────────────────────── status ┐
/// rows 1…H−5       │ tiles (boxes with a label in the bottom edge) │
/// row H−4          │ progress line                                  │
/// row H−3          │ (marks line: where the plan changed)           │
/// row H−2          │ parameters                                     │
/// row H−1          └ key help ──────────────────────────────────────┘
/// ```
public struct Layout: Equatable, Sendable {
    /// A tile: the box's top-left corner and the image's size in cells (the box adds one cell around).
    public struct Tile: Equatable, Sendable {
        public var row: Int, column: Int
        public var geometry: CellGeometry
    }

    /// The smallest screen the UI draws on.
    static let minimumColumns = 40, minimumRows = 12

    /// Screen size.
    public let columns: Int, rows: Int
    /// The tiles, in sample order.
    public let tiles: [Tile]

    /// Whether the screen is too small to draw the UI.
    public var tooSmall: Bool { columns < Self.minimumColumns || rows < Self.minimumRows }

    /// Rows of the status lines at the bottom.
    public var progressRow: Int { rows - 4 }
    var markRow: Int { rows - 3 }
    var parameterRow: Int { rows - 2 }

    /// Lays out `count` tiles of a `sourceWidth`×`sourceHeight` image drawn with `blitter`,
    /// choosing the column count that gives the largest aspect-correct tiles (cells ~1:2).
    public init(columns: Int, rows: Int, count: Int, sourceWidth: Int, sourceHeight: Int, blitter: Blitter) {
        self.columns = columns
        self.rows = rows
        guard columns >= Self.minimumColumns, rows >= Self.minimumRows, count > 0 else {
            tiles = []
            return
        }
        let areaTop = 1, areaLeft = 2
        let areaWidth = columns - 4, areaHeight = rows - 5 - areaTop
        var best: (pixels: Int, perRow: Int, geometry: CellGeometry)?
        for perRow in 1...count {
            let lines = (count + perRow - 1) / perRow
            // each box: image + 2 border cells; 1 column of gap between boxes
            let maxCols = (areaWidth - (perRow - 1)) / perRow - 2
            let maxRows = areaHeight / lines - 2
            guard maxCols >= 1, maxRows >= 1 else { continue }
            let g = CellGeometry.fit(sourceWidth: sourceWidth, sourceHeight: sourceHeight, maxColumns: maxCols, maxRows: maxRows,
                                     blitter: blitter)
            let pixels = g.columns * g.rows
            if best == nil || pixels > best?.pixels ?? 0 { best = (pixels, perRow, g) }
        }
        guard let best else {
            tiles = []
            return
        }
        let g = best.geometry
        let boxWidth = g.columns + 2, boxHeight = g.rows + 2
        let lines = (count + best.perRow - 1) / best.perRow
        // centre the block of tiles in the area
        let usedWidth = best.perRow * boxWidth + (best.perRow - 1)
        let left = areaLeft + max(0, (areaWidth - usedWidth) / 2)
        let top = areaTop + max(0, (areaHeight - lines * boxHeight) / 2)
        tiles = (0..<count).map { i in
            Tile(row: top + (i / best.perRow) * boxHeight, column: left + (i % best.perRow) * (boxWidth + 1), geometry: g)
        }
    }
}
