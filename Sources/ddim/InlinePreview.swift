import Foundation
import Graphics
import Imaging
import Output
import Preview
import TUI

/// `ddim sample --preview`: the run's grid drawn on the terminal after the files are written,
/// in the pixel protocol the terminal speaks (or `--graphics` forces), else in half blocks.
enum InlinePreview {
    /// The most cells a preview takes: 80 columns, 40 rows (fewer on a smaller terminal).
    static let maxColumns = 80, maxRows = 40

    /// Draws `grid` on standard output. `auto` asks the controlling terminal (`/dev/tty`), so a
    /// script whose standard input is a pipe still gets pixels; with standard output not a
    /// terminal `auto` draws nothing and says so (unless `quiet`): a forced protocol writes its
    /// bytes anyway, for a terminal further down a pipe.
    static func show(_ grid: RGBImage, choice: GraphicsChoice, quiet: Bool) throws {
        let environment = ProcessInfo.processInfo.environment
        let toTerminal = isatty(STDOUT_FILENO) == 1
        if choice == .auto && !toTerminal {
            if !quiet { FileHandle.standardError.write(Data("--preview: standard output is not a terminal, so nothing is drawn (--graphics kitty|sixel|iterm|blocks draws anyway)\n".utf8)) }
            return
        }
        let tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        defer { if tty >= 0 { close(tty) } }
        var decision: GraphicsDecision
        if choice == .auto && tty < 0 {
            decision = GraphicsDecision(graphics: .blocks, choices: [.blocks], cellSize: GraphicsDecision.defaultCellSize, passthrough: false,
                                        note: "blocks: no controlling terminal to ask")
        } else {
            decision = App.decideGraphics(choice, environment: environment, input: tty >= 0 ? tty : STDIN_FILENO, output: tty >= 0 ? tty : STDOUT_FILENO)
        }
        if let note = decision.note, !quiet { FileHandle.standardError.write(Data("--preview: \(note)\n".utf8)) }
        let window = TerminalProbe.windowSize(STDOUT_FILENO)?.cells
        let geometry = CellGeometry.fit(sourceWidth: grid.width, sourceHeight: grid.height,
                                        maxColumns: max(1, min(maxColumns, (window?.columns ?? maxColumns) - 1)),
                                        maxRows: max(1, min(maxRows, (window?.rows ?? maxRows + 2) - 2)), blitter: .half)
        let bitmap = Bitmap(width: grid.width, height: grid.height, channels: grid.channels, pixels: grid.pixels)
        let bytes = try encode(bitmap, columns: geometry.columns, rows: geometry.rows, decision: decision, environment: environment)
        try StandardOutput.write(bytes)
    }

    /// The preview's bytes: blocks as lines of cells in the detected colours; a picture with
    /// `rows` lines made room for first (so the terminal scrolls before it, not under it), drawn
    /// at their top, the cursor left on the line below.
    static func encode(_ bitmap: Bitmap, columns: Int, rows: Int, decision: GraphicsDecision, environment: [String: String]) throws -> [UInt8] {
        guard decision.graphics != .blocks else {
            let caps = TerminalCapabilities.detect(environment: environment)
            let cells = CellRenderer(blitter: caps.blitter, colorMode: caps.colorMode == .mono ? .palette256 : caps.colorMode, colormap: .grey)
            return Array(cells.render(bitmap, columns: columns, rows: rows).ansiLines().map { $0 + "\n" }.joined().utf8)
        }
        let encoder = decision.encoder(for: decision.graphics)
        var picture = Escape.saveCursor
        picture += try encoder.encode(bitmap, colormap: .grey, columns: columns, rows: rows, id: 1)
        picture += Escape.restoreCursor
        var bytes = Array(String(repeating: "\n", count: rows).utf8) + Array("\u{1B}[\(rows)A\r".utf8)
        bytes += decision.passthrough ? Passthrough.tmux(picture) : picture
        bytes += Array("\u{1B}[\(rows)B\r".utf8)
        return bytes
    }
}
