import CNCurses
import Foundation
import Preview

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
    /// A `partial` frame redrew only some rows and queued no direct cells: those on screen stay.
    func refresh(partial: Bool = false) {
        if partial {
            wrefresh(ddim_stdscr())
            return
        }
        // Rows where a direct cell of the last frame is not one of this frame (the layout
        // changed, a tile went away, the help covers it): ncurses repaints those rows whole, so
        // no stale picture stays behind, and their direct cells are written again after it.
        let stale = Set(directShown.keys.filter { directQueue[$0] == nil }.map { $0 >> 16 })
        for row in stale where row < rows { wredrawln(ddim_stdscr(), Int32(row), 1) }
        if !stale.isEmpty { directShown = directShown.filter { !stale.contains($0.key >> 16) } }
        wrefresh(ddim_stdscr())
        writeDirectCells()
    }

    // MARK: - Direct cells

    /// A preview cell in 24-bit colour that ``refresh()`` writes to the terminal itself after
    /// ncurses' output, while ncurses holds a blank there. ncurses' colour pairs cannot carry a
    /// picture in truecolour: every new (fg, bg) is a pair to define, the table (≤ 32,767) fills
    /// within a few frames, and redefining a pair makes ncurses scan the whole screen for it —
    /// measured ~30 ms of the UI thread a frame for an RGB model at 160×48. Written here, a cell
    /// costs a few bytes and no pair.
    private struct DirectCell: Equatable { let glyph: UInt32, fg: Int32, bg: Int32 }
    private var directQueue: [Int: DirectCell] = [:]
    private var directShown: [Int: DirectCell] = [:]
    private var directRepaint = false
    /// How far (per 8-bit channel) a queued direct cell's colours may be from those on screen
    /// for the next ``refresh()`` to leave the cell as it is (same glyph). 0: every change is
    /// written. The live sampler's paced frames use a few levels: late in a run most cells move
    /// by a level or two a frame, and each written cell is ~40 bytes the terminal must parse on
    /// the cores the model runs on; a forced or final frame is exact again.
    var directTolerance: Int32 = 0

    /// Whether two 0xRRGGBB colours (−1: the default) are within `tolerance` in every channel.
    private static func near(_ a: Int32, _ b: Int32, _ tolerance: Int32) -> Bool {
        if a == b { return true }
        guard tolerance > 0, a >= 0, b >= 0 else { return false }
        for shift: Int32 in [16, 8, 0] where abs(((a >> shift) & 0xFF) - ((b >> shift) & 0xFF)) > tolerance { return false }
        return true
    }

    /// Queues one preview cell for ``refresh()`` (colours as 0xRRGGBB, −1 = the default).
    func put(directCell glyph: Unicode.Scalar, row: Int, column: Int, fg: Int32, bg: Int32) {
        guard row >= 0, row < rows, column >= 0, column < columns, column < 1 << 16 else { return }
        put(cell: " ", row: row, column: column, fg: -1, bg: -1)
        directQueue[row << 16 | column] = DirectCell(glyph: glyph.value, fg: fg, bg: bg)
    }

    /// The next ``refresh()`` writes every direct cell, changed or not (after a key or a resize:
    /// anything that may have made ncurses repaint the screen).
    func repaintDirectCells() { directRepaint = true }

    /// Writes the queued direct cells that differ from those on screen (by more than
    /// ``directTolerance``), between DECSC and DECRC (save and restore the cursor and
    /// attributes), so ncurses' idea of both stays true.
    private func writeDirectCells() {
        defer { directQueue.removeAll(keepingCapacity: true); directRepaint = false }
        var out: [UInt8] = []
        out.reserveCapacity(directQueue.count * 40)
        var last: (key: Int, fg: Int32, bg: Int32)?
        var shown: [Int: DirectCell] = [:]
        shown.reserveCapacity(directQueue.count)
        for key in directQueue.keys.sorted() {
            guard let cell = directQueue[key] else { continue }
            if !directRepaint, let old = directShown[key], old.glyph == cell.glyph,
               Self.near(old.fg, cell.fg, directTolerance), Self.near(old.bg, cell.bg, directTolerance) {
                shown[key] = old
                continue
            }
            shown[key] = cell
            if out.isEmpty { out += [0x1B, 0x37] }  // ESC 7
            if last?.key != key - 1 {
                // ESC [ row ; column H
                out += [0x1B, 0x5B]
                Self.appendDecimal((key >> 16) + 1, to: &out)
                out.append(0x3B)
                Self.appendDecimal((key & 0xFFFF) + 1, to: &out)
                out.append(0x48)
            }
            let (newFG, newBG) = (last?.fg != cell.fg, last?.bg != cell.bg)
            if newFG || newBG {
                out += [0x1B, 0x5B]
                if newFG { Self.appendSGR(cell.fg, foreground: true, to: &out) }
                if newFG && newBG { out.append(0x3B) }
                if newBG { Self.appendSGR(cell.bg, foreground: false, to: &out) }
                out.append(0x6D)  // m
            }
            if let scalar = Unicode.Scalar(cell.glyph) { out += Array(String(Character(scalar)).utf8) }
            last = (key, cell.fg, cell.bg)
        }
        directShown = shown
        guard !out.isEmpty else { return }
        out += Array("\u{1B}[0m\u{1B}8".utf8)
        Self.writeAll(out)
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

/// Errors of the terminal UI.
public enum TUIError: Error, CustomStringConvertible {
    case terminal(String)
    public var description: String {
        switch self { case .terminal(let s): s }
    }
}
