import CNCurses
import Foundation
import Graphics
import Imaging
import Preview
import Output

/// The ncurses screen: set up once, restored on every way out (quit, Ctrl-C, SIGTERM, SIGHUP,
/// errors). Only the main thread touches it.
final class Terminal {
    /// What the screen shows: the environment's guess capped by its terminfo entry's colours
    /// (``TerminalCapabilities/detect(environment:terminfoColors:)``).
    let capabilities: TerminalCapabilities
    /// Colour depth the screen can really show (truecolor needs a `*-direct` terminfo entry):
    /// ``capabilities``' ``TerminalCapabilities/maxColorMode``.
    var maxColorMode: ColorMode { capabilities.maxColorMode }
    /// Whether `init_extended_pair` colours are available at all.
    let hasColor: Bool
    /// Whether the locale the process runs in (set from the environment here) encodes UTF-8:
    /// ncurses shows nothing for a non-ASCII character otherwise. Asked of the C library
    /// (`nl_langinfo(CODESET)`), so a UTF-8 locale that is named but not installed counts as C.
    let utf8Locale: Bool
    /// Whether the terminal reports mouse clicks and the wheel.
    private(set) var mouse = false
    /// The direct cells: queued, on screen, held (``put(directCell:row:column:fg:bg:)``). This and
    /// the picture state below are internal, not private, for Terminal+Pictures.swift.
    var direct = DirectCellLayer()
    /// The bytes of the last frame's direct cells (kept to reuse its capacity).
    private var directBytes: [UInt8] = []
    /// The pictures of a pixel protocol over the text layer (``place(picture:id:rect:colormap:)``).
    var pixels = PixelLayer()
    /// How pictures are encoded (nil: blocks only).
    var encoder: PixelEncoder?
    /// Wrap pictures in tmux's passthrough, placed at this pane's offset in the outer terminal.
    var passthrough: (row: Int, column: Int)?
    /// The last picture that could not be encoded, once (the app says it and falls back to blocks).
    var pixelFailure: String?
    private var screen: OpaquePointer?
    private var pairs: [PairKey: Int32] = [:]
    private var nextPair: Int32 = 1
    private var active = false

    private struct PairKey: Hashable { let fg: Int32, bg: Int32 }

    /// Starts curses. With COLORTERM=truecolor on a terminal whose terminfo lacks direct colour,
    /// the `-direct` variant of TERM (e.g. xterm-direct) is used when it exists.
    init(environment: [String: String]) throws {
        let locale = setlocale(LC_ALL, "")
        utf8Locale = locale != nil && String(cString: nl_langinfo(nl_item(CODESET))).uppercased().filter { $0 != "-" } == "UTF8"
        TerminalRescue.saveModes()
        let term = environment["TERM"] ?? "xterm"
        var chosen = TerminalCapabilities.directTerminfoName(environment: environment).flatMap { ddim_newterm($0) }
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
        hasColor = has_colors() && TerminalCapabilities.allowsColor(environment: environment)
        if hasColor {
            start_color()
            use_default_colors()
        }
        capabilities = .detect(environment: environment, terminfoColors: hasColor ? Int(ddim_colors()) : 0)
        // a fault (SIGSEGV, SIGBUS, …) never reaches endwin: its handler writes these instead
        let restoring = ["sgr0", "cnorm", "rmkx", "rmcup", "oc"]
        mouse = ddim_mouse_on() != 0
        // and mouse reports off (xterm's modes 1000, 1002, 1006), which endwin also turns off
        let mouseOff = mouse ? Array("\u{1B}[?1000l\u{1B}[?1002l\u{1B}[?1006l".utf8) : []
        TerminalRescue.arm(restore: restoring.flatMap { name in ddim_tigetstr(name).map { Array(String(cString: $0).utf8) } ?? [] } + mouseOff)
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

    /// Gives the slots of `ramp` back their xterm colours (``GreyRamp/cubeColor(slot:)``), so that
    /// pictures in the 6×6×6 cube (a colour map, an RGB model) show true colours again.
    func unprogram(_ ramp: GreyRamp) {
        guard hasColor, ddim_colors() >= 256, can_change_color() else { return }
        for slot in ramp.slots {
            let c = GreyRamp.cubeColor(slot: slot)
            init_color(Int16(slot), c.r, c.g, c.b)
        }
    }

    /// Gives the terminal back as it was found (idempotent).
    func restore() {
        guard active else { return }
        active = false
        TerminalRescue.disarm()
        // no picture outlives the screen: kitty's are deleted, sixel's cleared with the screen
        if pixels.hasPictures {
            pixels.removeAll()
            writePixels(pixels.plan(partial: false), clearing: true)
        }
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
        if r == KEY_CODE_YES && Int32(ch) == KEY_MOUSE {
            var (row, column): (Int32, Int32) = (0, 0)
            let button = ddim_mouse_event(&row, &column)
            return button == 0 ? nil : .mouse(button: Int(button), row: Int(row), column: Int(column))
        }
        if r == KEY_CODE_YES { return Int32(ch) == KEY_RESIZE ? .resize : .special(Int32(ch)) }
        guard let scalar = Unicode.Scalar(UInt32(ch)) else { return nil }
        if scalar == "\u{1B}", let sequence = escapeSequence() { return sequence }
        return .character(Character(scalar))
    }

    /// After an ESC: the rest of a key's escape sequence that the terminfo entry did not name
    /// (tmux sends `ESC [ 1 ~` for Home whatever TERM the program has), read at once and decoded
    /// where it is a key the UI knows (arrows, Home, End) — else swallowed whole, so that its
    /// bytes never arrive as typed keys (`1` would set 10 steps). nil: ESC alone, the Escape key
    /// (a key that came right after it is given back, to be read next).
    private func escapeSequence() -> Key? {
        wtimeout(ddim_stdscr(), 0)
        var ch: wint_t = 0
        guard wget_wch(ddim_stdscr(), &ch) != ERR else { return nil }
        let introducer = UInt32(ch)
        // a terminal's late answer to the graphics probe (APC `ESC _`, DCS `ESC P`, OSC `ESC ]`,
        // ended by ST `ESC \` or BEL): swallowed whole, never typed
        if introducer == 0x5F || introducer == 0x50 || introducer == 0x5D {
            var previous: UInt32 = 0
            for _ in 0..<65_536 {
                guard wget_wch(ddim_stdscr(), &ch) != ERR else { break }
                let c = UInt32(ch)
                if c == 0x07 || (previous == 0x1B && c == 0x5C) { break }
                previous = c
            }
            return .special(0)
        }
        // ESC [ … final or ESC O final; any other key after ESC is a key of its own (Escape, then q)
        guard introducer == 0x5B || introducer == 0x4F else {
            unget_wch(wchar_t(bitPattern: introducer))
            return nil
        }
        var body = ""
        for _ in 0..<64 {  // long enough for a late DA1 answer (ESC [ ? 63;1;2;…c)
            guard wget_wch(ddim_stdscr(), &ch) != ERR, let s = Unicode.Scalar(UInt32(ch)) else { break }
            body.unicodeScalars.append(s)
            if (0x40...0x7E).contains(s.value) { break }
        }
        switch body {
        case "1~", "7~", "H": return .special(KEY_HOME)
        case "4~", "8~", "F": return .special(KEY_END)
        case "D": return .special(KEY_LEFT)
        case "C": return .special(KEY_RIGHT)
        default: return .special(0)
        }
    }

    enum Key: Equatable { case character(Character), resize, special(Int32), mouse(button: Int, row: Int, column: Int) }

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

    /// Clears ncurses' screen for a new frame (it holds no blanks for direct cells any more).
    func erase() {
        werase(ddim_stdscr())
        direct.forgetHolds()
    }

    /// Sends the frame: ncurses' cells, then the direct cells (``put(directCell:row:column:fg:bg:)``).
    /// A `partial` frame redrew only some rows: direct cells on the rows it queued none for stay.
    /// Then the pictures (``place(picture:id:rect:colormap:)``): a plan that clears the screen has
    /// ncurses clear and repaint it first.
    func refresh(partial: Bool = false) {
        syncDirectSize()
        let plan = pixels.plan(partial: partial)
        if plan.clearScreen {
            clearok(ddim_stdscr(), true)
            direct.repaintAll()
        }
        // rows where a direct cell on screen is not one of this frame: ncurses repaints them whole
        for row in direct.rowsToRepaint(partial: partial) { wredrawln(ddim_stdscr(), Int32(row), 1) }
        holdForDirectCells()
        wrefresh(ddim_stdscr())
        direct.encode(into: &directBytes)
        if !directBytes.isEmpty { Self.writeAll(directBytes) }
        writePixels(plan, clearing: false)
    }

    // MARK: - Direct cells

    /// Queues one direct cell (``DirectCellLayer``) for ``refresh(partial:)``: `glyph` in 24-bit
    /// colour (0xRRGGBB, −1: the default), written by the terminal itself after ncurses' frame.
    /// ncurses is made to hold a blank beneath it at the refresh: the caller has nothing more to do.
    func put(directCell glyph: Unicode.Scalar, row: Int, column: Int, fg: Int32, bg: Int32) {
        syncDirectSize()
        direct.put(glyph, row: row, column: column, fg: fg, bg: bg)
    }

    /// ``DirectCellLayer/tolerance`` of the next refresh.
    var directTolerance: Int32 {
        get { direct.tolerance }
        set { direct.tolerance = newValue }
    }

    /// ``DirectCellLayer/budget`` of the next refresh.
    var directBudget: Int? {
        get { direct.budget }
        set { direct.budget = newValue }
    }

    /// The next ``refresh(partial:)`` writes every direct cell, changed or not (after a key or a
    /// resize: anything that may have made ncurses repaint the screen).
    func repaintDirectCells() { direct.repaintAll() }

    /// Sizes the direct cells' grid to the screen; a new size forgets the direct cells on screen
    /// and has ncurses clear and repaint it all.
    func syncDirectSize() {
        if direct.resize(rows: rows, columns: columns) {
            clearok(ddim_stdscr(), true)
            pixels.forgetScreen()
        }
    }

    /// Has ncurses hold blanks (default colours) where direct cells go and it holds none yet:
    /// one write for a run of cells, the window's cursor left where it was.
    private func holdForDirectCells() {
        let runs = direct.takeHolds()
        guard !runs.isEmpty else { return }
        let (y, x) = (getcury(ddim_stdscr()), getcurx(ddim_stdscr()))
        for run in runs { addText(String(repeating: " ", count: run.columns), row: run.row, column: run.column, pair: 0) }
        wmove(ddim_stdscr(), y, x)
    }

    /// Writes all of `bytes` to standard output (retrying after signals); gives up on an error.
    static func writeAll(_ bytes: [UInt8]) {
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
        direct.forgetHolds(row: row)
        addText(text, row: row, column: column, pair: pair, attributes: attributes, maxWidth: maxWidth)
    }

    /// ``put(_:row:column:pair:attributes:maxWidth:)`` without telling the direct cells.
    private func addText(_ text: String, row: Int, column: Int, pair: Int32, attributes: attr_t = 0, maxWidth: Int? = nil) {
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
        direct.forgetHolds(row: row)
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
