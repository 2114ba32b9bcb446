import Graphics

/// How the live sampler (and `ddim sample --preview`) draws pictures on this terminal: the
/// protocol, the others `g` may switch to, the cell size in pixels, whether to go through tmux,
/// and a line saying why when it fell back to blocks. Decided from `--graphics`, tmux's answer and
/// the terminal's answers, by a pure function that tests drive with made-up answers.
public struct GraphicsDecision: Equatable, Sendable {
    /// The protocol to start with.
    public var graphics: GraphicsProtocol
    /// What `g` cycles through, in order (always ending in ``GraphicsProtocol/blocks``).
    public var choices: [GraphicsProtocol]
    /// Pixels of one cell: the terminal's answer, else the window's pixel size over its cells,
    /// else ``defaultCellSize``.
    public var cellSize: PixelSize
    /// Wrap every picture in tmux's passthrough (inside tmux, where it allows it).
    public var passthrough: Bool
    /// Why pictures are blocks, or a warning about the forced protocol (nil: nothing to say).
    public var note: String?
    /// Whether the note is said in the status line at start (a forced protocol tmux drops, or
    /// `auto` held to blocks by tmux); otherwise it waits for `g` (a terminal without pixels is
    /// the common case, not news).
    public var sayAtStart = false
    /// The terminal's sixel colour registers and largest sixel picture, where it said.
    public var sixelColors: Int?, sixelMaxSize: PixelSize?
    /// kitty pictures through Unicode placeholders (``KittyPlaceholder``): inside tmux with
    /// passthrough, when the terminal outside draws them. tmux then keeps each picture with its
    /// text cells — across its own redraws, window switches and pane moves — where a picture
    /// placed at the pane's offset would stay on the outer screen until deleted.
    public var kittyPlaceholders = false

    /// The cell size assumed when nothing says it: 10 × 20 pixels, a common monospace cell at
    /// 11–12 pt. Only a forced protocol on a terminal that reports no pixel size uses it.
    public static let defaultCellSize = PixelSize(width: 10, height: 20)

    /// A decision given explicitly.
    public init(graphics: GraphicsProtocol, choices: [GraphicsProtocol], cellSize: PixelSize, passthrough: Bool, note: String?) {
        (self.graphics, self.choices, self.cellSize, self.passthrough, self.note) = (graphics, choices, cellSize, passthrough, note)
    }

    /// The encoder for this decision's `graphics` (its cell size, sixel registers and size limit).
    public func encoder(for graphics: GraphicsProtocol) -> PixelEncoder {
        var encoder = PixelEncoder(graphics: graphics, cellWidth: cellSize.width, cellHeight: cellSize.height)
        if let colors = sixelColors { encoder.sixelColors = min(256, max(2, colors)) }
        encoder.sixelMaxSize = sixelMaxSize
        encoder.kittyPlaceholders = kittyPlaceholders && graphics == .kitty
        return encoder
    }

    /// The decision for `choice`:
    /// - a forced protocol is used without asking (so it can be tested under a plain pseudo-terminal);
    ///   inside tmux it goes through passthrough where tmux allows it, and where tmux refuses, the
    ///   note says that tmux will drop the pictures;
    /// - `auto` inside tmux with passthrough refused is blocks, saying why;
    /// - else `auto` asks the terminal (`probe`, called at most once, with whether to wrap the
    ///   queries in passthrough) and takes its best protocol; `g` cycles through every protocol
    ///   it answered to.
    ///
    /// `windowPixels` is the window's size in pixels and cells (`TIOCGWINSZ`) where known.
    /// `placeholders`: draw kitty pictures through Unicode placeholders (the caller decides: inside
    /// tmux with passthrough, when the terminal outside draws them, ``KittyPlaceholder/supported(by:)``).
    public static func decide(_ choice: GraphicsChoice, tmux: TmuxPassthrough, windowCellSize: PixelSize?,
                              placeholders: Bool = false,
                              probe: (_ passthrough: Bool) -> GraphicsSupport) -> GraphicsDecision {
        var decision = decideProtocol(choice, tmux: tmux, windowCellSize: windowCellSize, probe: probe)
        decision.kittyPlaceholders = placeholders && decision.choices.contains(.kitty)
        return decision
    }

    private static func decideProtocol(_ choice: GraphicsChoice, tmux: TmuxPassthrough, windowCellSize: PixelSize?,
                                       probe: (_ passthrough: Bool) -> GraphicsSupport) -> GraphicsDecision {
        let passthrough = tmux == .allowed
        let fallbackCell = windowCellSize ?? defaultCellSize
        switch choice {
        case .forced(let graphics):
            var note: String?
            if case .refused(let reason) = tmux, graphics != .blocks {
                note = "--graphics \(graphics.rawValue) inside tmux, which drops the pictures: \(reason)"
            }
            var decision = GraphicsDecision(graphics: graphics, choices: graphics == .blocks ? [.blocks] : [graphics, .blocks],
                                            cellSize: fallbackCell, passthrough: passthrough, note: note)
            decision.sayAtStart = note != nil
            return decision
        case .auto:
            if case .refused(let reason) = tmux {
                var decision = GraphicsDecision(graphics: .blocks, choices: [.blocks], cellSize: fallbackCell, passthrough: false,
                                                note: "blocks: inside tmux, \(reason)")
                decision.sayAtStart = true
                return decision
            }
            let support = probe(passthrough)
            let offered: [GraphicsProtocol] = [
                support.kitty ? .kitty : nil, support.iterm ? .iterm : nil, support.sixel ? .sixel : nil,
            ].compactMap { $0 }
            var choices = [support.best] + offered.filter { $0 != support.best }
            if !choices.contains(.blocks) { choices.append(.blocks) }
            let note = support.best == .blocks ? support.reason.map { "blocks: \($0)" } : nil
            var decision = GraphicsDecision(graphics: support.best, choices: choices, cellSize: support.cellSize ?? fallbackCell,
                                            passthrough: passthrough, note: note)
            (decision.sixelColors, decision.sixelMaxSize) = (support.colorRegisters, support.sixelMaxSize)
            return decision
        }
    }
}
