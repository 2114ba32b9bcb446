/// How a terminal is asked to show a picture: one of the pixel protocols, or character cells.
/// Which one a terminal speaks is found by ``TerminalProbe`` (inside tmux, after
/// ``TmuxGraphics/passthrough(environment:)``): ``GraphicsSupport/best``.
public enum GraphicsProtocol: String, CaseIterable, Sendable {
    /// kitty's graphics protocol (kitty, Ghostty, WezTerm, Konsole): APC `G` commands with an
    /// image id, zlib-compressed RGB payloads, scaled by the terminal to a cell rectangle.
    case kitty
    /// DEC sixel (xterm `-ti vt340`, foot, mlterm, WezTerm, Konsole, iTerm2, mintty, Windows
    /// Terminal): a palette image encoded by libsixel at the tile's size in pixels.
    case sixel
    /// iTerm2's inline images (OSC 1337 `File=`, also WezTerm): a PNG sized in cells.
    case iterm
    /// Character cells (half blocks, sextants, …): every terminal.
    case blocks
}

/// What `--graphics` asks for: a protocol, or `auto` (ask the terminal).
public enum GraphicsChoice: Hashable, Sendable {
    /// Ask the terminal which protocol it speaks (``GraphicsProtocol/blocks`` if none answers).
    case auto
    /// This protocol, without asking (so it can be tested under a plain pseudo-terminal).
    case forced(GraphicsProtocol)

    /// `auto`, `kitty`, `sixel`, `iterm` or `blocks`; nil for anything else.
    public init?(_ text: String) {
        if text == "auto" { self = .auto; return }
        guard let p = GraphicsProtocol(rawValue: text) else { return nil }
        self = .forced(p)
    }
}
