import CNCurses
import Foundation
import Imaging
import Preview
import Output

/// The ncurses screen: set up once, restored on every way out (quit, Ctrl-C, SIGTERM, SIGHUP,
/// errors). Only the main thread touches it.
final class Terminal {
    /// Colour depth the screen can really show (truecolor needs a `*-direct` terminfo entry).
    let maxColorMode: ColorMode
    /// Whether `init_extended_pair` colours are available at all.
    let hasColor: Bool
    private var screen: OpaquePointer?
    private var pairs: [PairKey: Int32] = [:]
    private var nextPair: Int32 = 1
    private var active = false

    private struct PairKey: Hashable { let fg: Int32, bg: Int32 }

    /// Starts curses. With COLORTERM=truecolor on a terminal whose terminfo lacks direct colour,
    /// the `-direct` variant of TERM (e.g. xterm-direct) is used when it exists.
    init(environment: [String: String]) throws {
        setlocale(LC_ALL, "")
        TerminalRescue.saveModes()
        let term = environment["TERM"] ?? "xterm"
        var chosen: OpaquePointer?
        let wantsDirect = ["truecolor", "24bit"].contains(environment["COLORTERM"]?.lowercased() ?? "") && !term.hasSuffix("-direct")
            && environment["NO_COLOR"].map(\.isEmpty) ?? true
        if wantsDirect {
            let base = term.split(separator: "-").first.map(String.init) ?? term
            chosen = ddim_newterm("\(base)-direct")
        }
        if chosen == nil { chosen = ddim_newterm(term) }
        guard let chosen else {
            throw TUIError.terminal("cannot start the terminal UI on TERM=\(term) (unknown terminal type?)")
        }
        screen = chosen
        active = true
        raw()
        noecho()
        keypad(ddim_stdscr(), true)
        curs_set(0)
        set_escdelay(25)
        hasColor = has_colors() && environment["NO_COLOR"].map(\.isEmpty) ?? true
        if hasColor {
            start_color()
            use_default_colors()
        }
        let colors = hasColor ? ddim_colors() : 0
        maxColorMode = colors >= 1 << 24 ? .truecolor : colors >= 256 ? .palette256 : colors >= 8 ? .palette16 : .mono
        // a fault (SIGSEGV, SIGBUS, …) never reaches endwin: its handler writes these instead
        let capabilities = ["sgr0", "cnorm", "rmkx", "rmcup", "oc"]
        TerminalRescue.arm(restore: capabilities.flatMap { name in ddim_tigetstr(name).map { Array(String(cString: $0).utf8) } ?? [] })
    }

    deinit { restore() }

    /// Reprograms the slots of `ramp` as greys, where the terminal allows (256 colours and
    /// `can_change_color`); false where it does not. ncurses restores the palette at `endwin`.
    func program(_ ramp: GreyRamp) -> Bool {
        guard hasColor, ddim_colors() >= 256, can_change_color() else { return false }
        for (i, slot) in ramp.slots.enumerated() {
            let v = ramp.intensity(i)
            guard init_color(Int16(slot), v, v, v) != ERR else { return false }
        }
        return true
    }

    /// Gives the terminal back as it was found (idempotent).
    func restore() {
        guard active else { return }
        active = false
        TerminalRescue.disarm()
        endwin()
        if let screen { delscreen(screen) }
        screen = nil
    }

    var columns: Int { Int(ddim_cols()) }
    var rows: Int { Int(ddim_lines()) }

    /// Waits at most `milliseconds` (−1: forever) for a key; nil on time-out.
    func key(timeout milliseconds: Int32) -> Key? {
        wtimeout(ddim_stdscr(), milliseconds)
        var ch: wint_t = 0
        let r = wget_wch(ddim_stdscr(), &ch)
        if r == ERR { return nil }
        if r == KEY_CODE_YES { return Int32(ch) == KEY_RESIZE ? .resize : .special(Int32(ch)) }
        guard let scalar = Unicode.Scalar(UInt32(ch)) else { return nil }
        return .character(Character(scalar))
    }

    enum Key: Equatable { case character(Character), resize, special(Int32) }

    // MARK: - Colours

    /// How many colour pairs one frame can use (pair 0 is the terminal's default).
    var pairCapacity: Int { Int(min(ddim_color_pairs(), 1 << 15)) - 1 }

    /// Forgets every colour pair (call at the start of a frame when many are in use, so no pair in
    /// use on screen is ever recycled within a frame).
    func resetPairsIfCrowded() {
        if nextPair > pairCapacity / 2 { pairs.removeAll(keepingCapacity: true); nextPair = 1 }
    }

    /// A colour pair for (fg, bg) colour numbers (−1 = the terminal's default).
    func pair(fg: Int32, bg: Int32) -> Int32 {
        guard hasColor else { return 0 }
        if fg == -1 && bg == -1 { return 0 }
        let key = PairKey(fg: fg, bg: bg)
        if let p = pairs[key] { return p }
        if nextPair > pairCapacity { pairs.removeAll(keepingCapacity: true); nextPair = 1 }
        let p = nextPair
        nextPair += 1
        init_extended_pair(p, fg, bg)
        pairs[key] = p
        return p
    }

    // MARK: - Drawing

    func erase() { werase(ddim_stdscr()) }
    /// Sends the frame: ncurses' cells, then the direct cells (``put(directCell:row:column:fg:bg:)``).
    /// A `partial` frame redrew only some rows: direct cells on the rows it queued none for stay.
    func refresh(partial: Bool = false) {
        ensureDirectGrid()
        // Rows where a direct cell on screen is not one of this frame (the layout changed, a tile
        // went away, the help covers it): ncurses repaints those rows whole, so no stale picture
        // stays behind, and their direct cells are written again after it. A partial frame only
        // looks at the rows it queued cells for.
        let w = directWidth
        for row in 0..<rows where shownRows[row] && (!partial || queuedRows[row]) {
            let base = row * w
            guard (0..<w).contains(where: { directShown[base + $0].glyph != 0 && directQueue[base + $0].glyph == 0 }) else { continue }
            wredrawln(ddim_stdscr(), Int32(row), 1)
            for c in 0..<w { directShown[base + c] = DirectCell() }
            shownRows[row] = false
        }
        wrefresh(ddim_stdscr())
        writeDirectCells()
    }

    // MARK: - Direct cells

    /// A cell in 24-bit colour that ``refresh()`` writes to the terminal itself after ncurses'
    /// output, while ncurses holds a blank there (``holdForDirectCells(row:column:count:)``).
    /// ncurses' colour pairs cannot carry a picture in truecolour: every new (fg, bg) is a pair to
    /// define, the table (≤ 32,767) fills within a few frames, and redefining a pair makes ncurses
    /// scan the whole screen for it — measured ~30 ms of the UI thread a frame for an RGB model at
    /// 160×48. Written here, a cell costs a few bytes and no pair. The live sampler's progress line
    /// is direct too: ncurses flushes its output at every cursor jump (one write(2), and one wake-up
    /// of the terminal, for each), ~10 for a progress line, where direct cells go out in one.
    /// Glyph 0: no direct cell.
    private struct DirectCell: Equatable { var glyph: UInt32 = 0, fg: Int32 = -1, bg: Int32 = -1 }
    /// Row-major grids of the screen's size: the cells queued for the next refresh, and those on
    /// screen; and which rows have any of either.
    private var directQueue: [DirectCell] = [], directShown: [DirectCell] = []
    private var queuedRows: [Bool] = [], shownRows: [Bool] = []
    private var directWidth = 0
    private var directRepaint = false
    /// The bytes of the last frame's direct cells (kept to reuse its capacity).
    private var directBytes: [UInt8] = []
    /// How far (per 8-bit channel) a queued direct cell's colours may be from those on screen
    /// for the next ``refresh()`` to leave the cell as it is (same glyph). 0: every change is
    /// written. The live sampler's paced frames use a few levels: late in a run most cells move
    /// by a level or two a frame, and each written cell is ~40 bytes the terminal must parse on
    /// the cores the model runs on; a forced or final frame is exact again.
    var directTolerance: Int32 = 0

    /// Sizes the grids to the screen; a new size forgets the direct cells on screen and has
    /// ncurses clear and repaint it all (a resize repaints everything anyway).
    private func ensureDirectGrid() {
        let (r, c) = (rows, columns)
        guard directWidth != c || queuedRows.count != r else { return }
        let hadCells = shownRows.contains(true)
        directQueue = Array(repeating: DirectCell(), count: r * c)
        directShown = directQueue
        queuedRows = Array(repeating: false, count: r)
        shownRows = queuedRows
        directWidth = c
        if hadCells { clearok(ddim_stdscr(), true) }
    }

    /// At most how many direct cells the next ``refresh()`` writes (nil: no limit). When more
    /// differ from the screen by more than ``directTolerance``, the tolerance of that refresh rises
    /// until no more than this many are left: the cells that moved most go first, the others
    /// follow in later frames. Cells whose glyph changed are always written. How the live sampler
    /// holds the terminal to a rate of cells a second (``FramePacer/cellsPerSecond``) early in a
    /// run, when nearly every cell of x̂₀ moves between two pictures.
    var directBudget: Int?

    /// How far two 0xRRGGBB colours (−1: the default) are apart: the largest difference of a
    /// channel, 0…255, or 256 when one is the default and the other is not.
    private static func distance(_ a: Int32, _ b: Int32) -> Int32 {
        if a == b { return 0 }
        guard a >= 0, b >= 0 else { return 256 }
        return max(abs(((a >> 16) & 0xFF) - ((b >> 16) & 0xFF)), abs(((a >> 8) & 0xFF) - ((b >> 8) & 0xFF)), abs((a & 0xFF) - (b & 0xFF)))
    }

    /// How much the screen changes when `cell` replaces `old`: 256 for a new glyph, else the
    /// larger distance of the two colours.
    private static func change(from old: DirectCell, to cell: DirectCell) -> Int32 {
        old.glyph != cell.glyph ? 256 : max(distance(old.fg, cell.fg), distance(old.bg, cell.bg))
    }

    /// `cell` as the screen shows it: a glyph in its own background's colour (within `tolerance`)
    /// shows nothing but that colour, and is written as a space on the background alone (no
    /// foreground to set) — ~1 cell in 3 of a running picture: fewer bytes to parse.
    private static func visible(_ cell: DirectCell, tolerance: Int32) -> DirectCell {
        var cell = cell
        if cell.fg != cell.bg && distance(cell.fg, cell.bg) <= tolerance { cell.fg = cell.bg }
        return cell
    }

    /// Turns every queued cell into the cell as seen (``visible(_:tolerance:)``), once, and returns
    /// the tolerance of this refresh: ``directTolerance``, or with a ``directBudget`` the one that
    /// leaves at most that many cells to write (changes of 256 — new glyphs — always go out).
    private func prepareDirectCells() -> Int32 {
        let counting = directBudget != nil && !directRepaint
        var histogram = counting ? [Int](repeating: 0, count: 257) : []
        var count = 0
        for row in 0..<min(rows, queuedRows.count) where queuedRows[row] {
            for index in row * directWidth..<(row + 1) * directWidth where directQueue[index].glyph != 0 {
                directQueue[index] = Self.visible(directQueue[index], tolerance: directTolerance)
                guard counting else { continue }
                let d = Self.change(from: directShown[index], to: directQueue[index])
                if d > directTolerance { histogram[Int(d)] += 1; count += 1 }
            }
        }
        guard let budget = directBudget, counting else { return directTolerance }
        return CellBudget.tolerance(histogram: histogram, count: count, base: directTolerance, budget: budget)
    }

    /// Has ncurses hold blanks (default colours) in `count` cells from (row, column), where
    /// direct cells go: one call for a run of cells.
    func holdForDirectCells(row: Int, column: Int, count: Int) {
        guard count > 0 else { return }
        put(String(repeating: " ", count: count), row: row, column: column, pair: 0)
    }

    /// Queues one direct cell for ``refresh()`` (colours as 0xRRGGBB, −1 = the default); the
    /// caller has ncurses hold a blank there (``holdForDirectCells(row:column:count:)``).
    func put(directCell glyph: Unicode.Scalar, row: Int, column: Int, fg: Int32, bg: Int32) {
        guard row >= 0, row < rows, column >= 0, column < columns, glyph.value != 0 else { return }
        ensureDirectGrid()
        directQueue[row * directWidth + column] = DirectCell(glyph: glyph.value, fg: fg, bg: bg)
        queuedRows[row] = true
    }

    /// The next ``refresh()`` writes every direct cell, changed or not (after a key or a resize:
    /// anything that may have made ncurses repaint the screen).
    func repaintDirectCells() { directRepaint = true }

    /// Writes the queued direct cells that differ from those on screen (by more than
    /// ``directTolerance``), in one write(2), between DECSC and DECRC (save and restore the cursor
    /// and attributes), so ncurses' idea of both stays true.
    private func writeDirectCells() {
        defer { directRepaint = false }
        directBytes.removeAll(keepingCapacity: true)
        let w = directWidth
        let tolerance = prepareDirectCells()
        var last = (index: -2, fg: Int32(-2), bg: Int32(-2))
        for row in 0..<min(rows, queuedRows.count) where queuedRows[row] {
            queuedRows[row] = false
            shownRows[row] = true
            for index in row * w..<(row + 1) * w {
                guard directQueue[index].glyph != 0 else { continue }
                let cell = directQueue[index]
                directQueue[index] = DirectCell()
                if !directRepaint && Self.change(from: directShown[index], to: cell) <= tolerance { continue }
                directShown[index] = cell
                if directBytes.isEmpty { directBytes += [0x1B, 0x37] }  // ESC 7
                if last.index != index - 1 {
                    // ESC [ row ; column H
                    directBytes += [0x1B, 0x5B]
                    Self.appendDecimal(row + 1, to: &directBytes)
                    directBytes.append(0x3B)
                    Self.appendDecimal(index - row * w + 1, to: &directBytes)
                    directBytes.append(0x48)
                }
                // a cell whose glyph is drawn in the background colour is a space: any foreground
                let space = cell.fg == cell.bg && cell.bg >= 0
                let (newFG, newBG) = (!space && last.fg != cell.fg, last.bg != cell.bg)
                if newFG || newBG {
                    directBytes += [0x1B, 0x5B]
                    if newFG { Self.appendSGR(cell.fg, foreground: true, to: &directBytes) }
                    if newFG && newBG { directBytes.append(0x3B) }
                    if newBG { Self.appendSGR(cell.bg, foreground: false, to: &directBytes) }
                    directBytes.append(0x6D)  // m
                }
                Self.appendUTF8(space ? 0x20 : cell.glyph, to: &directBytes)
                last = (index, space ? last.fg : cell.fg, cell.bg)
            }
        }
        guard !directBytes.isEmpty else { return }
        directBytes += [0x1B, 0x5B, 0x30, 0x6D, 0x1B, 0x38]  // ESC [ 0 m, ESC 8
        Self.writeAll(directBytes)
    }

    /// The UTF-8 bytes of a Unicode scalar value.
    private static func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case ..<0x80: out.append(UInt8(v))
        case ..<0x800: out += [UInt8(0xC0 | v >> 6), UInt8(0x80 | v & 0x3F)]
        case ..<0x10000: out += [UInt8(0xE0 | v >> 12), UInt8(0x80 | (v >> 6) & 0x3F), UInt8(0x80 | v & 0x3F)]
        default: out += [UInt8(0xF0 | v >> 18), UInt8(0x80 | (v >> 12) & 0x3F), UInt8(0x80 | (v >> 6) & 0x3F), UInt8(0x80 | v & 0x3F)]
        }
    }

    /// The decimal digits of a non-negative n.
    private static func appendDecimal(_ n: Int, to out: inout [UInt8]) {
        if n >= 10 { appendDecimal(n / 10, to: &out) }
        out.append(0x30 + UInt8(n % 10))
    }

    /// SGR parameters of a 0xRRGGBB colour (−1: the default colour), as bytes.
    private static func appendSGR(_ rgb: Int32, foreground: Bool, to out: inout [UInt8]) {
        if rgb < 0 {
            out += foreground ? [0x33, 0x39] : [0x34, 0x39]  // 39, 49
            return
        }
        out += foreground ? [0x33, 0x38, 0x3B, 0x32] : [0x34, 0x38, 0x3B, 0x32]  // 38;2 or 48;2
        for shift: Int32 in [16, 8, 0] {
            out.append(0x3B)
            appendDecimal(Int((rgb >> shift) & 0xFF), to: &out)
        }
    }

    private static func writeAll(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count, let base = raw.baseAddress {
                let n = write(STDOUT_FILENO, base + offset, raw.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }

    /// Text at (row, column), clipped to the screen, in the given pair and attributes.
    func put(_ text: String, row: Int, column: Int, pair: Int32, attributes: attr_t = 0, maxWidth: Int? = nil) {
        guard row >= 0, row < rows, column < columns else { return }
        var room = columns - max(0, column)
        if let maxWidth { room = min(room, maxWidth) }
        guard room > 0 else { return }
        var p = pair
        wattr_set(ddim_stdscr(), attributes, 0, &p)
        var cells: [wchar_t] = []
        for scalar in text.unicodeScalars {
            // combining marks ride on the previous cell
            if cells.count >= room && !(0x300...0x36F).contains(scalar.value) { break }
            cells.append(wchar_t(bitPattern: scalar.value))
        }
        cells.append(0)
        mvwaddwstr(ddim_stdscr(), Int32(row), Int32(max(0, column)), cells)
        var zero: Int32 = 0
        wattr_set(ddim_stdscr(), 0, 0, &zero)
    }

    /// One preview cell: its glyph in (fg, bg).
    func put(cell glyph: Unicode.Scalar, row: Int, column: Int, fg: Int32, bg: Int32) {
        guard row >= 0, row < rows, column >= 0, column < columns else { return }
        var cc = cchar_t()
        var text: [wchar_t] = [wchar_t(bitPattern: glyph.value), 0]
        var p = pair(fg: fg, bg: bg)
        setcchar(&cc, &text, 0, 0, &p)
        mvwadd_wch(ddim_stdscr(), Int32(row), Int32(column), &cc)
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

/// Errors of the terminal UI.
public enum TUIError: Error, CustomStringConvertible {
    case terminal(String)
    public var description: String {
        switch self { case .terminal(let s): s }
    }
}
