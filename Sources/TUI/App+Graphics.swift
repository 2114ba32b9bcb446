import Foundation
import Graphics

/// How the app draws pictures on its terminal: the protocol decided at start (`--graphics`,
/// tmux, the terminal's answers), and what happens when a picture cannot be encoded.
extension App {
    /// How `choice` comes out on the terminal of `environment`, read from `input` and written to
    /// `output` (standard input and output by default): tmux's passthrough asked of tmux, the
    /// terminal asked with the probe when `auto`.
    public static func decideGraphics(_ choice: GraphicsChoice, environment: [String: String],
                                      input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO) -> GraphicsDecision {
        let window = TerminalProbe.windowSize(output)
        let windowCell = window.flatMap { w in
            w.pixels.map { PixelSize(width: $0.width / max(1, w.cells.columns), height: $0.height / max(1, w.cells.rows)) }
        }.flatMap { $0.width > 0 && $0.height > 0 ? $0 : nil }
        let tmux: TmuxPassthrough = choice == .forced(.blocks) ? .notTmux : TmuxGraphics.passthrough(environment: environment)
        // kitty's Unicode placeholders inside tmux: when the terminal tmux runs in draws them
        // (DDIM_KITTY_PLACEHOLDERS=1 or 0 says so instead of asking tmux)
        let placeholders: Bool = switch environment["DDIM_KITTY_PLACEHOLDERS"] {
        case "1": true
        case "0": false
        default: tmux == .allowed && (TmuxGraphics.outerTerminal(environment: environment).map(KittyPlaceholder.supported(by:)) ?? false)
        }
        return GraphicsDecision.decide(choice, tmux: tmux, windowCellSize: windowCell, placeholders: placeholders) { passthrough in
            TerminalProbe.probe(input: input, output: output, environment: environment, passthrough: passthrough)
        }
    }

    /// Takes `decision`: the state's protocol and what `g` cycles through, the terminal's
    /// encoder, and its note in the status line.
    func useGraphics(_ decision: GraphicsDecision) {
        graphicsDecision = decision
        state.graphics = decision.graphics
        state.limits.graphicsChoices = decision.choices
        state.limits.graphicsNote = decision.note
        // a forced protocol that cannot work is a warning at once; tmux holding auto to blocks is
        // said at once too; a terminal without pixels only when `g` asks
        // (after the start's own warnings — a bad config line — when there are some)
        if let note = decision.note, decision.sayAtStart {
            if let earlier = state.status, earlier.warning {
                state.flash(earlier.text + " · " + note, warning: true, now: Date().addingTimeInterval(2))
            } else {
                state.flash(note, warning: graphicsChoice != .auto)
            }
        }
    }

    /// A picture could not be encoded: blocks from now on, and why.
    func pixelsFailed(_ failure: String) {
        state.graphics = .blocks
        state.limits.graphicsChoices = [.blocks]
        state.limits.graphicsNote = "blocks: \(failure)"
        state.flash("blocks: \(failure)", warning: true)
    }
}
