import Graphics
import Preview

/// The terminal's direct cells, without ncurses: cells in 24-bit colour that the terminal layer
/// writes itself after ncurses' frame, while ncurses holds a blank beneath each (`Terminal`
/// wraps this type; all of it is pure and unit-tested).
///
/// Why: ncurses' colour pairs cannot carry a picture in truecolour. Every new (fg, bg) is a pair
/// to define, the table (≤ 32,767) fills within a few frames, and redefining a pair makes ncurses
/// scan the whole screen for it — measured ~30 ms of the UI thread a frame for an RGB model at
/// 160×48. Written here, a cell costs a few bytes and no pair. The live sampler's progress line
/// is direct too: ncurses flushes its output at every cursor jump (one write(2), and one wake-up
/// of the terminal, for each), ~10 for a progress line, where direct cells go out in one.
///
/// A frame: ``put(_:row:column:fg:bg:)`` queues cells; the text layer repaints the
/// ``rowsToRepaint(partial:)`` and holds blanks in the ``takeHolds()`` runs, sends its own frame,
/// then writes ``encode(into:)``'s bytes.
public struct DirectCellLayer: Sendable {
    /// One direct cell: a Unicode scalar value (0: no cell) in two 0xRRGGBB colours (−1: the
    /// terminal's default colour).
    public struct Cell: Equatable, Sendable {
        /// The glyph's scalar value; 0 where there is no direct cell.
        public var glyph: UInt32
        /// The glyph's colour, 0xRRGGBB or −1.
        public var fg: Int32
        /// The colour behind the glyph, 0xRRGGBB or −1.
        public var bg: Int32
        /// For a kitty placeholder cell (``KittyPlaceholder``): bit 31 set, the picture's id
        /// (low 13 bits) in bits 18…30, its row in 9…17 and column in 0…8, written as the two
        /// combining marks after the glyph. 0: a plain cell.
        public var marks: UInt32 = 0

        /// A cell; the default is no cell.
        public init(glyph: UInt32 = 0, fg: Int32 = -1, bg: Int32 = -1) {
            self.glyph = glyph
            self.fg = fg
            self.bg = bg
        }
    }

    /// The grid's size: the screen's.
    public private(set) var rows = 0, columns = 0
    /// How far (per 8-bit channel) a queued cell's colours may be from those on screen for the
    /// next ``encode(into:)`` to leave the cell as it is (same glyph). 0: every change is written.
    /// The live sampler's paced frames use a few levels: late in a run most cells move by a
    /// level or two a frame, and each written cell is ~40 bytes the terminal must parse on the
    /// cores the model runs on; a forced or final frame is exact again.
    public var tolerance: Int32 = 0
    /// At most how many cells the next ``encode(into:)`` writes (nil: no limit). When more differ
    /// from the screen by more than ``tolerance``, the tolerance of that frame rises until no
    /// more than this many are left (``CellBudget``): the cells that moved most go first, the
    /// others follow in later frames. Cells whose glyph changed are always written. How the live
    /// sampler holds the terminal to a rate of cells a second (``FramePacer/cellsPerSecond``)
    /// early in a run, when nearly every cell of x̂₀ moves between two pictures.
    public var budget: Int?

    /// Row-major grids of ``rows`` × ``columns``: the cells queued for the next frame, and those
    /// on screen; which rows have any of either.
    private var queue: [Cell] = [], shown: [Cell] = []
    private var queuedRows: [Bool] = [], shownRows: [Bool] = []
    /// The cells where the text layer holds a blank already, the rows that have any, and the
    /// rows with a queued cell that has none.
    private var held: [Bool] = [], heldRows: [Bool] = [], unheldRows: [Bool] = []
    /// Whether the next frame writes every queued cell, changed or not.
    private var repaintingAll = false

    /// An empty layer of `rows` × `columns` cells.
    public init(rows: Int = 0, columns: Int = 0) {
        resize(rows: rows, columns: columns)
    }

    /// Sizes the grids to the screen. A new size forgets every cell (queued, on screen, held);
    /// true when cells were on screen, which the text layer must then clear and repaint (a resize
    /// repaints everything anyway).
    @discardableResult
    public mutating func resize(rows: Int, columns: Int) -> Bool {
        let (rows, columns) = (max(0, rows), max(0, columns))
        guard rows != self.rows || columns != self.columns || queue.count != rows * columns else { return false }
        let hadCells = shownRows.contains(true)
        (self.rows, self.columns) = (rows, columns)
        queue = Array(repeating: Cell(), count: rows * columns)
        shown = queue
        held = Array(repeating: false, count: rows * columns)
        queuedRows = Array(repeating: false, count: rows)
        (shownRows, heldRows, unheldRows) = (queuedRows, queuedRows, queuedRows)
        return hadCells
    }

    /// Queues one cell for the next frame: `glyph` in `fg` on `bg` (0xRRGGBB, −1: the default).
    /// Cells off the grid, and glyph 0, are ignored. The text layer is to hold a blank beneath it
    /// (``takeHolds()``): the caller has nothing more to do.
    public mutating func put(_ glyph: Unicode.Scalar, row: Int, column: Int, fg: Int32, bg: Int32) {
        guard row >= 0, row < rows, column >= 0, column < columns, glyph.value != 0 else { return }
        let index = row * columns + column
        queue[index] = Cell(glyph: glyph.value, fg: fg, bg: bg)
        queuedRows[row] = true
        if !held[index] { unheldRows[row] = true }
    }

    /// Queues the cell at (`pictureRow`, `pictureColumn`) of kitty picture `imageID` shown through
    /// Unicode placeholders: U+10EEEE and its two marks in the foreground colour 0xRRGGBB = the
    /// id's low 24 bits, on the default background. Ignored past ``KittyPlaceholder/maxSide``.
    public mutating func putPlaceholder(row: Int, column: Int, imageID: UInt32, pictureRow: Int, pictureColumn: Int) {
        guard (0..<KittyPlaceholder.maxSide).contains(pictureRow), (0..<KittyPlaceholder.maxSide).contains(pictureColumn)
        else { return }
        put(KittyPlaceholder.character, row: row, column: column, fg: Int32(imageID & 0xFF_FFFF), bg: -1)
        guard row >= 0, row < rows, column >= 0, column < columns else { return }
        queue[row * columns + column].marks = 1 << 31 | (imageID & 0x1FFF) << 18 | UInt32(pictureRow) << 9 | UInt32(pictureColumn)
    }

    /// The next frame writes every queued cell, changed or not (after a key or a resize: anything
    /// that may have made the text layer repaint the screen).
    public mutating func repaintAll() { repaintingAll = true }

    /// The text layer no longer holds blanks anywhere (it erased its screen).
    public mutating func forgetHolds() {
        for row in 0..<rows where heldRows[row] { forgetHolds(row: row) }
    }

    /// The text layer wrote over `row`: it may no longer hold blanks there (cells queued there
    /// already are held again by the next ``takeHolds()``).
    public mutating func forgetHolds(row: Int) {
        guard row >= 0, row < rows, heldRows[row] else { return }
        for i in row * columns..<(row + 1) * columns { held[i] = false }
        heldRows[row] = false
        if queuedRows[row] { unheldRows[row] = true }
    }

    /// The runs of queued cells where the text layer holds no blank yet (one row each), recorded
    /// as held from now on: it is to write blanks (default colours) there before it sends its
    /// frame, so that it never paints over a direct cell.
    public mutating func takeHolds() -> [CellRect] {
        var runs: [CellRect] = []
        for row in 0..<rows where unheldRows[row] {
            unheldRows[row] = false
            let base = row * columns
            var column = 0
            while column < columns {
                guard queue[base + column].glyph != 0, !held[base + column] else { column += 1; continue }
                let start = column
                while column < columns, queue[base + column].glyph != 0, !held[base + column] {
                    held[base + column] = true
                    column += 1
                }
                runs.append(CellRect(row: row, column: start, columns: column - start, rows: 1))
                heldRows[row] = true
            }
        }
        return runs
    }

    /// The rows where a cell on screen is not one of this frame (the layout changed, a tile went
    /// away, the help covers it): the text layer repaints those rows whole, so no stale picture
    /// stays behind, and their cells count as gone from the screen (written again after it). A
    /// `partial` frame (one that redrew only some rows) only looks at the rows it queued cells for.
    public mutating func rowsToRepaint(partial: Bool) -> [Int] {
        var stale: [Int] = []
        for row in 0..<rows where shownRows[row] && (!partial || queuedRows[row]) {
            let base = row * columns
            var gone = false
            for i in base..<base + columns where shown[i].glyph != 0 && queue[i].glyph == 0 {
                gone = true
                break
            }
            guard gone else { continue }
            for i in base..<base + columns { shown[i] = Cell() }
            shownRows[row] = false
            stale.append(row)
        }
        return stale
    }

    /// The frame's bytes: the queued cells that differ from those on screen (by more than this
    /// frame's tolerance, see ``tolerance`` and ``budget``), between DECSC and DECRC (save and
    /// restore the cursor and attributes), so the text layer's idea of both stays true. Each cell
    /// is a CUP where it does not follow the last one, an SGR of the colours that changed, and
    /// its glyph in UTF-8; the frame ends in SGR 0. Empty when nothing changed. The queue is
    /// emptied and the cells written count as on screen.
    public mutating func encode(into bytes: inout [UInt8]) {
        defer { repaintingAll = false }
        bytes.removeAll(keepingCapacity: true)
        let w = columns
        let tolerance = prepare()
        var last = (index: -2, fg: Int32(-2), bg: Int32(-2))
        for row in 0..<rows where queuedRows[row] {
            queuedRows[row] = false
            shownRows[row] = true
            for index in row * w..<(row + 1) * w {
                let cell = queue[index]
                guard cell.glyph != 0 else { continue }
                queue[index] = Cell()
                if !repaintingAll && Self.change(from: shown[index], to: cell) <= tolerance { continue }
                shown[index] = cell
                if bytes.isEmpty { bytes += Escape.saveCursor }
                if last.index != index - 1 { Escape.appendCursorPosition(row: row + 1, column: index - row * w + 1, to: &bytes) }
                // a cell whose glyph is drawn in the background colour is a space: any foreground
                let space = cell.fg == cell.bg && cell.bg >= 0
                SGR.append(foreground: !space && last.fg != cell.fg ? Int(cell.fg) : nil,
                           background: last.bg != cell.bg ? Int(cell.bg) : nil, mode: .truecolor, to: &bytes)
                Escape.appendUTF8(space ? 0x20 : cell.glyph, to: &bytes)
                if cell.marks != 0 {
                    Escape.appendUTF8(KittyPlaceholder.diacritics[Int((cell.marks >> 9) & 0x1FF)], to: &bytes)
                    Escape.appendUTF8(KittyPlaceholder.diacritics[Int(cell.marks & 0x1FF)], to: &bytes)
                }
                last = (index, space ? last.fg : cell.fg, cell.bg)
            }
        }
        guard !bytes.isEmpty else { return }
        bytes += Escape.resetAttributes
        bytes += Escape.restoreCursor
    }

    /// ``encode(into:)`` into a new array.
    public mutating func encode() -> [UInt8] {
        var bytes: [UInt8] = []
        encode(into: &bytes)
        return bytes
    }

    /// Turns every queued cell into the cell as seen (``visible(_:tolerance:)``), once, and returns
    /// the tolerance of this frame: ``tolerance``, or with a ``budget`` the one that leaves at most
    /// that many cells to write (changes of 256 — new glyphs — always go out).
    private mutating func prepare() -> Int32 {
        let counting = budget != nil && !repaintingAll
        var histogram = counting ? [Int](repeating: 0, count: 257) : []
        var count = 0
        for row in 0..<rows where queuedRows[row] {
            for index in row * columns..<(row + 1) * columns where queue[index].glyph != 0 {
                queue[index] = Self.visible(queue[index], tolerance: tolerance)
                guard counting else { continue }
                let d = Self.change(from: shown[index], to: queue[index])
                if d > tolerance { histogram[Int(d)] += 1; count += 1 }
            }
        }
        guard let budget, counting else { return tolerance }
        return CellBudget.tolerance(histogram: histogram, count: count, base: tolerance, budget: budget)
    }

    /// How far two 0xRRGGBB colours (−1: the default) are apart: the largest difference of a
    /// channel, 0…255, or 256 when one is the default and the other is not.
    static func distance(_ a: Int32, _ b: Int32) -> Int32 {
        if a == b { return 0 }
        guard a >= 0, b >= 0 else { return 256 }
        return max(abs(((a >> 16) & 0xFF) - ((b >> 16) & 0xFF)), abs(((a >> 8) & 0xFF) - ((b >> 8) & 0xFF)), abs((a & 0xFF) - (b & 0xFF)))
    }

    /// How much the screen changes when `cell` replaces `old`: 256 for a new glyph (or another
    /// placeholder: a colour near an id is another picture, never "close"), else the
    /// larger distance of the two colours.
    static func change(from old: Cell, to cell: Cell) -> Int32 {
        old.glyph != cell.glyph || old.marks != cell.marks ? 256 : max(distance(old.fg, cell.fg), distance(old.bg, cell.bg))
    }

    /// `cell` as the screen shows it: a glyph in its own background's colour (within `tolerance`)
    /// shows nothing but that colour, and is written as a space on the background alone (no
    /// foreground to set) — ~1 cell in 3 of a running picture: fewer bytes to parse.
    static func visible(_ cell: Cell, tolerance: Int32) -> Cell {
        var cell = cell
        if cell.fg != cell.bg && distance(cell.fg, cell.bg) <= tolerance { cell.fg = cell.bg }
        return cell
    }
}

/// How a frame with more changed cells than it may write chooses which go out.
public enum CellBudget {
    /// The smallest tolerance t ≥ `base` that leaves at most `budget` of the `count` changed cells
    /// with a change above t, where `histogram[d]` counts the cells whose change is d (0…256;
    /// 256, a new glyph, is never left out, so t stops at 255).
    public static func tolerance(histogram: [Int], count: Int, base: Int32, budget: Int) -> Int32 {
        var (tolerance, above) = (base, count)
        while above > budget && tolerance < 255 {
            tolerance += 1
            above -= Int(tolerance) < histogram.count ? histogram[Int(tolerance)] : 0
        }
        return tolerance
    }
}
