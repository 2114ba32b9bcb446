/// Size in pixels.
public struct PixelSize: Hashable, Sendable, CustomStringConvertible {
    /// Pixels across.
    public var width: Int
    /// Pixels down.
    public var height: Int

    /// A size of `width` × `height` pixels.
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    /// `W×H`.
    public var description: String { "\(width)×\(height)" }
}

/// What the terminal said it can show: the answers to ``TerminalQueries/all(passthrough:)``, read
/// by ``TerminalReplies``, with the environment and the window's size in pixels.
public struct GraphicsSupport: Hashable, Sendable {
    /// The terminal answered the kitty graphics query (`i=31`) with `OK`.
    public var kitty: Bool
    /// The primary device attributes (DA1) list attribute 4, sixel graphics.
    public var sixel: Bool
    /// iTerm2 inline images: the environment names a terminal that shows them (`TERM_PROGRAM`
    /// `iTerm.app` or `WezTerm`, `LC_TERMINAL` `iTerm2`), or the terminal answered
    /// `OSC 1337 ; ReportCellSize`.
    public var iterm: Bool
    /// A DA1 reply came back: the terminal talks at all. (Under tmux passthrough, tmux may keep
    /// the outer terminal's DA1 reply to itself; the other replies still count.)
    public var answered: Bool
    /// One cell in pixels: from `CSI 16 t`, else `CSI 14 t` ÷ the cells, else the window's
    /// pixels (TIOCGWINSZ) ÷ the cells, else iTerm2's `ReportCellSize`; nil when none is known.
    public var cellSize: PixelSize?
    /// The largest sixel image (XTSMGRAPHICS geometry), when the terminal said.
    public var sixelMaxSize: PixelSize?
    /// How many colour registers a sixel image may use (XTSMGRAPHICS), when the terminal said.
    public var colorRegisters: Int?
    /// The protocol to draw with: kitty, then iTerm2 where the environment names iTerm2, then
    /// sixel, then iTerm2 on any other evidence (WezTerm, a ReportCellSize answer), then blocks.
    public var best: GraphicsProtocol
    /// One line saying why ``best`` is blocks (nil otherwise), e.g. "the terminal did not answer"
    /// or "no graphics protocol in the terminal's answer (DA1 62;22)".
    public var reason: String?

    /// Every field as given.
    public init(
        kitty: Bool = false, sixel: Bool = false, iterm: Bool = false, answered: Bool = false,
        cellSize: PixelSize? = nil, sixelMaxSize: PixelSize? = nil, colorRegisters: Int? = nil,
        best: GraphicsProtocol = .blocks, reason: String? = nil
    ) {
        self.kitty = kitty
        self.sixel = sixel
        self.iterm = iterm
        self.answered = answered
        self.cellSize = cellSize
        self.sixelMaxSize = sixelMaxSize
        self.colorRegisters = colorRegisters
        self.best = best
        self.reason = reason
    }

    /// What an environment says before any query: whether it names iTerm2 itself
    /// (`TERM_PROGRAM=iTerm.app`, `LC_TERMINAL=iTerm2`), and whether it names any terminal
    /// that shows iTerm2 inline images (those, or `TERM_PROGRAM=WezTerm`).
    static func itermEnvironment(_ environment: [String: String]) -> (namesITerm2: Bool, shows: Bool) {
        let program = environment["TERM_PROGRAM"]
        let namesITerm2 = program == "iTerm.app" || environment["LC_TERMINAL"] == "iTerm2"
        return (namesITerm2, namesITerm2 || program == "WezTerm")
    }
}
