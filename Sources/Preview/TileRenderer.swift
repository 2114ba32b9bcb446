/// A rectangle of character cells on a screen.
public struct CellRect: Hashable, Sendable {
    /// The top row and the left column, from 0.
    public var row: Int, column: Int
    /// The size in cells.
    public var columns: Int, rows: Int

    /// A rectangle at (`row`, `column`) of `columns` × `rows` cells.
    public init(row: Int, column: Int, columns: Int, rows: Int) {
        self.row = row
        self.column = column
        self.columns = columns
        self.rows = rows
    }
}

/// Where a ``TileRenderer`` draws: a screen of character cells (the TUI's terminal, or a test's
/// grid).
public protocol TileSurface {
    /// Draws `cell` at (`row`, `column`) of the screen: its glyph in its colours, whose numbers
    /// (``Cell/fgIndex``, ``Cell/bgIndex``) are of the renderer's ``TileRenderer/colorMode``.
    mutating func put(_ cell: Cell, row: Int, column: Int)
}

/// How a preview tile turns a picture into what the terminal shows: the seam between the
/// pictures and the ways a terminal can show them.
///
/// Today's renderer is ``BlockTileRenderer``: character cells, each a block (or sextant,
/// braille, ASCII) glyph in two colours, drawn through a ``TileSurface``. Pixel protocols
/// (kitty graphics, sixel, iTerm2) are the next renderers. What they need, and what this
/// protocol is to grow when the first one comes:
/// - the tile's rectangle in cells (``CellRect``), to place the picture and to size it, with the
///   cell's size in pixels (a terminal query) to scale the bitmap;
/// - the ``Bitmap`` itself, at full resolution (no cells, no colour quantisation);
/// - a way to hand bytes (the encoded image and its placement escape) to the terminal after the
///   text layer's refresh, with the text layer holding blanks beneath — the same contract as the
///   TUI's direct cells (`DirectCellLayer`), as a surface requirement such as
///   `place(_ bytes: [UInt8], in: CellRect)`;
/// - knowing when a tile went away or moved (to delete a kitty image by its id; sixel pixels stay
///   until overwritten), which the direct-cell layer's repaint of stale rows already tracks.
public protocol TileRenderer: Sendable {
    /// The colour mode of the cells the renderer draws (its ``TileSurface`` maps their numbers).
    var colorMode: ColorMode { get }

    /// Draws `bitmap` to fill `rect` of `surface`, stretched if their shapes differ.
    func draw(_ bitmap: Bitmap, in rect: CellRect, on surface: inout some TileSurface)
}

/// Tiles as character cells: ``CellRenderer``'s glyphs and colours, one ``TileSurface/put(_:row:column:)``
/// a cell, row by row.
public struct BlockTileRenderer: TileRenderer {
    /// The blitter, colour mode and colour map of the cells.
    public var cells: CellRenderer

    /// A renderer drawing with `cells`.
    public init(_ cells: CellRenderer) {
        self.cells = cells
    }

    /// ``CellRenderer/colorMode``.
    public var colorMode: ColorMode { cells.colorMode }

    /// Renders `bitmap` in `rect`'s size (at least 1 × 1) and puts every cell.
    @inlinable
    public func draw(_ bitmap: Bitmap, in rect: CellRect, on surface: inout some TileSurface) {
        let image = cells.render(bitmap, columns: rect.columns, rows: rect.rows)
        for r in 0..<image.rows {
            for c in 0..<image.columns {
                surface.put(image[c, r], row: rect.row + r, column: rect.column + c)
            }
        }
    }
}
