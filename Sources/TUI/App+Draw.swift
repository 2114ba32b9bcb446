import CNCurses
import Engine
import Foundation
import Graphics
import Imaging
import Preview
import Sampling
import Tensors

extension App {
    /// The colour pair and attributes of a theme element in the current colour mode.
    func style(_ element: Theme.Element, on term: Terminal) -> (pair: Int32, attributes: attr_t) {
        let bg = theme[.background].number(for: state.colorMode)
        let fg = theme[element].number(for: state.colorMode)
        var attributes: attr_t = 0
        if state.colorMode == .mono {
            switch element {
            case .title, .accent, .warning, .status: attributes = ddim_a_bold()
            case .dim, .border, .barEmpty: attributes = ddim_a_dim()
            case .mark: attributes = ddim_a_reverse()
            default: break
            }
        } else if element == .title {
            attributes = ddim_a_bold()
        }
        return (term.pair(fg: fg, bg: bg), attributes)
    }

    func put(_ text: String, _ element: Theme.Element, row: Int, column: Int, on term: Terminal, maxWidth: Int? = nil) {
        let s = style(element, on: term)
        term.put(self.text(text), row: row, column: column, pair: s.pair, attributes: s.attributes, maxWidth: maxWidth)
    }

    /// `text` as direct truecolour cells in a theme element's colours (no attributes), one cell a
    /// scalar, clipped to the screen (``Terminal/put(directCell:row:column:fg:bg:)``).
    func putDirect(_ text: String, _ element: Theme.Element, row: Int, column: Int, on term: Terminal) {
        let fg = theme[element].number(for: .truecolor), bg = theme[.background].number(for: .truecolor)
        var c = column
        for scalar in self.text(text).unicodeScalars where c < term.columns {
            term.put(directCell: scalar, row: row, column: c, fg: fg, bg: bg)
            c += 1
        }
    }

    /// Draws one whole frame (ncurses sends only the cells that changed).
    func draw(_ newest: LiveSnapshot, on term: Terminal) {
        let snap = shown(newest)
        term.resetPairsIfCrowded()
        term.erase()
        let layout = layout(snap, on: term)
        fullFrameLayout = layout
        if layout.tooSmall {
            drawTooSmall(on: term)
            return
        }
        fillBackground(on: term)
        drawFrame(snap, on: term)
        drawTiles(snap, layout: layout, on: term)
        drawProgress(snap, layout: layout, on: term)
        drawParameters(layout: layout, on: term)
        let failure: String? = if case .failed(let f) = snap.state { "\(f)" } else { nil }
        drawMarkLine(row: layout.markRow, failure: failure, on: term) {}
        if state.showHelp { drawHelp(on: term) }
        term.refresh()
    }

    /// The snapshot as the screen shows it: while stepping through the run (``AppState/scrub``),
    /// the pictures, step and timestep of the recorded step.
    func shown(_ snap: LiveSnapshot) -> LiveSnapshot {
        guard let step = state.scrub, let frame = snap.history.frame(atOrBefore: step) else { return snap }
        var s = snap
        (s.sample, s.predictedX0, s.stepsDone, s.timestep) = (frame.sample, frame.predictedX0, frame.step, frame.timestep)
        return s
    }

    /// New pictures of a running run over the last whole frame, when nothing else on screen can
    /// have changed: the same layout, truecolour tiles (direct cells, so ncurses is not asked to
    /// compare its whole screen), no overlay. Only the tiles' cells and the progress line are
    /// queued; else a whole frame is drawn.
    func drawPictures(_ snap: LiveSnapshot, on term: Terminal) {
        let layout = layout(snap, on: term)
        guard layout == fullFrameLayout, !layout.tooSmall, drawsDirectCells || term.drawsPixels, state.prompt == nil else {
            draw(snap, on: term)
            return
        }
        drawTiles(snap, layout: layout, picturesOnly: true, on: term)
        drawProgress(snap, layout: layout, on: term)
        term.refresh(partial: true)
    }

    /// Where the sampler's tiles, progress line and parameters go on this terminal.
    func layout(_ snap: LiveSnapshot, on term: Terminal) -> Layout {
        let shape = model.sampleShape()
        let tileCount = (state.zoom == nil ? snap.settings.batch : 1) * (state.view == .both ? 2 : 1)
        return Layout(columns: term.columns, rows: term.rows, count: tileCount, sourceWidth: shape[2], sourceHeight: shape[1], blitter: state.blitter)
    }

    /// Redraws only the progress line (step, bar, timing) over the last full frame: what a frame
    /// that keeps the pictures changes. Its row is cleared first, as the texts change length.
    func drawProgressOnly(_ snap: LiveSnapshot, on term: Terminal) {
        let layout = layout(snap, on: term)
        guard !layout.tooSmall else { return }
        drawProgress(snap, layout: layout, on: term)
        term.refresh(partial: true)
    }

    func fillBackground(on term: Terminal) {
        guard theme[.background].number(for: state.colorMode) != -1 else { return }
        let blank = String(repeating: " ", count: term.columns)
        for r in 0..<term.rows { put(blank, .text, row: r, column: 0, on: term) }
    }

    func drawFrame(_ snap: LiveSnapshot, on term: Terminal) {
        drawFrame(state: snap.state, on: term)
    }

    /// What every tile of a frame is drawn with.
    struct TilePen {
        /// Turns a tile's picture into cells (``BlockTileRenderer``; pixel protocols next).
        let renderer: any TileRenderer
        /// The fine grey ramp the cells' 24-bit greys map to (256 colours, grey previews).
        let ramp: GreyRamp?
        /// Cells on the terminal's default background (too few colour pairs for every fg × bg).
        let foregroundOnly: Bool
        /// Truecolour cells written by the terminal itself after ncurses' frame (no colour pairs,
        /// full 8 bits a channel); off under the help overlay, which must stay on top.
        let direct: Bool
        /// Truecolour cells through ncurses' pairs take 6 bits a channel (``App/sixBits(_:)``).
        let sixBits: Bool
        /// Tiles are pictures of a pixel protocol (``Terminal/place(picture:id:rect:colormap:)``),
        /// not cells.
        let pixels: Bool
    }

    /// A frame's tiles as they reach the terminal: each cell a direct cell, or an ncurses cell
    /// in a colour pair (grey-ramp slots, six-bit colours), as the pen says.
    struct TileCells: TileSurface {
        let term: Terminal
        let pen: TilePen

        func put(_ cell: Cell, row: Int, column: Int) {
            if pen.direct {
                term.put(directCell: cell.glyph, row: row, column: column, fg: Int32(truncatingIfNeeded: cell.fgIndex),
                         bg: pen.foregroundOnly ? -1 : Int32(truncatingIfNeeded: cell.bgIndex))
                return
            }
            var (fg, bg) = pen.ramp.map { ($0.slot(grey: cell.fg.r), $0.slot(grey: cell.bg.r)) }
                ?? (Int32(truncatingIfNeeded: cell.fgIndex), Int32(truncatingIfNeeded: cell.bgIndex))
            if pen.sixBits && pen.ramp == nil { (fg, bg) = (App.sixBits(fg), App.sixBits(bg)) }
            term.put(cell: cell.glyph, row: row, column: column, fg: fg, bg: pen.foregroundOnly ? -1 : bg)
        }
    }

    func tilePen(on term: Terminal) -> TilePen {
        // one-channel grey previews in 256 colours: render in 24-bit, then map to the fine ramp
        let ramp = state.colorMode == .palette256 && state.colormap == .grey ? greyRamp : nil
        let renderer = CellRenderer(blitter: state.blitter, colorMode: ramp == nil ? state.colorMode : .truecolor, colormap: state.colormap)
        // Too few pairs for every fg × bg of the mode (xterm-16color has 64): draw on the default
        // background, so a full screen of tiles never runs out of pairs mid-frame.
        let colours = state.colorMode == .palette16 ? 16 : state.colorMode == .palette256 ? 256 : 1 << 24
        let foregroundOnly = state.colorMode != .mono && term.pairCapacity < min(colours * colours, 1 << 14)
        return TilePen(renderer: BlockTileRenderer(renderer), ramp: ramp, foregroundOnly: foregroundOnly,
                       direct: drawsDirectCells, sixBits: state.colorMode == .truecolor, pixels: term.drawsPixels)
    }

    /// The protocol tiles are drawn in now: the state's, but blocks under the help overlay
    /// (which must stay on top of them).
    var shownGraphics: GraphicsProtocol { state.showHelp ? .blocks : state.graphics }

    /// Has the terminal draw tiles in ``shownGraphics`` (the old protocol's pictures are cleaned
    /// up at its next refresh).
    func syncPixels(on term: Terminal) {
        guard term.pixelGraphics != shownGraphics else { return }
        let decision = graphicsDecision ?? GraphicsDecision(graphics: .blocks, choices: [.blocks], cellSize: GraphicsDecision.defaultCellSize,
                                                            passthrough: false, note: nil)
        term.usePixels(shownGraphics, decision: decision, passthrough: decision.passthrough ? paneOffset : nil)
    }

    /// Whether tiles and the progress line are direct cells (``Terminal/put(directCell:row:column:fg:bg:)``):
    /// in truecolour (where no grey ramp is used), except under the help overlay, which must stay on top.
    var drawsDirectCells: Bool { state.colorMode == .truecolor && !state.showHelp }

    /// One boxed tile: `label` in the top edge, `caption` in the bottom edge, sample `index` of `source` inside.
    /// `picturesOnly`: the box is on screen already (a paced picture frame): only the picture's
    /// direct cells are queued.
    /// `id`: the tile's number in the frame (its picture's id in a pixel protocol).
    func drawTile(_ tile: Layout.Tile, id: Int, source: Tensor?, index: Int, label: String, caption: String, pen: TilePen,
                  picturesOnly: Bool = false, on term: Terminal) {
        let g = tile.geometry
        if !picturesOnly { drawBox(tile, label: label, caption: caption, on: term) }
        guard let source, source.rank == 4, index < source.shape[0], let bitmap = Self.bitmap(source, index) else { return }
        let rect = CellRect(row: tile.row + 1, column: tile.column + 1, columns: g.columns, rows: g.rows)
        if pen.pixels {
            term.place(picture: bitmap, id: UInt32(id + 1), rect: rect, colormap: state.colormap)
            return
        }
        var cells = TileCells(term: term, pen: pen)
        pen.renderer.draw(bitmap, in: rect, on: &cells)
    }

    /// A tile's box, with `label` in its top edge and `caption` in its bottom edge.
    private func drawBox(_ tile: Layout.Tile, label: String, caption: String, on term: Terminal) {
        let g = tile.geometry
        let hline = String(repeating: "─", count: g.columns)
        put("┌" + hline + "┐", .border, row: tile.row, column: tile.column, on: term)
        for r in 0..<g.rows {
            put("│", .border, row: tile.row + 1 + r, column: tile.column, on: term)
            put("│", .border, row: tile.row + 1 + r, column: tile.column + g.columns + 1, on: term)
        }
        put("└" + hline + "┘", .border, row: tile.row + g.rows + 1, column: tile.column, on: term)
        if !label.isEmpty { put(" \(label) ", .accent, row: tile.row, column: tile.column + 1, on: term, maxWidth: g.columns) }
        if !caption.isEmpty { put(" \(caption) ", .dim, row: tile.row + g.rows + 1, column: tile.column + 1, on: term, maxWidth: g.columns) }
    }

    private func drawTiles(_ snap: LiveSnapshot, layout: Layout, picturesOnly: Bool = false, on term: Terminal) {
        let pen = tilePen(on: term)
        let seeds = snap.settings.seeds
        let first = state.zoom.map { min($0, max(0, snap.settings.batch - 1)) } ?? 0
        for (i, tile) in layout.tiles.enumerated() {
            let sample = first + (state.view == .both ? i / 2 : i)
            let noisy = state.view == .noisy || (state.view == .both && i % 2 == 1)
            let source = noisy ? snap.sample : (snap.predictedX0 ?? snap.sample)
            let name = state.view == .both ? (noisy ? "x_t" : "x̂₀") : (i == 0 ? (noisy ? "x_t" : "x̂₀") + (state.zoom == nil ? "" : " (z: next)") : "")
            let caption = sample < seeds.count && (!noisy || state.view != .both) ? "seed \(seeds[sample])" : ""
            drawTile(tile, id: i, source: source, index: sample, label: name, caption: caption, pen: pen, picturesOnly: picturesOnly, on: term)
        }
    }

    /// Sample `index` of x (B, C, H, W) as 8-bit pixels, the PNG mapping round(clamp(x/2 + ½)·255).
    /// A 24-bit colour with 6 bits per channel (the top bits repeated below): grey previews then
    /// use at most 64 × 64 colour pairs, which stay defined from frame to frame. Every new pair
    /// beyond ncurses' table means redefining one, and ncurses scans the whole screen for each
    /// redefined pair: measured 50–70 ms a frame at 160×48 with full 8-bit grey, against a
    /// 33 ms model step — the live sampler ran 1.7× slower than headless.
    static func sixBits(_ rgb: Int32) -> Int32 {
        guard rgb >= 0 else { return rgb }
        let c = rgb & 0xFCFCFC
        return c | ((c >> 6) & 0x030303)
    }

    static func bitmap(_ x: Tensor, _ index: Int) -> Bitmap? {
        guard let image = try? RGBImage(chw: x.slice(index).data, channels: x.shape[1], height: x.shape[2], width: x.shape[3])
        else { return nil }
        return Bitmap(width: image.width, height: image.height, channels: image.channels, pixels: image.pixels)
    }

    func drawParameters(layout: Layout, on term: Terminal) {
        let s = model.scheduler
        let eta: String = switch state.settings.noise {
        case .eta(let e): String(format: "%.2f", e)
        case .ddpmLarge: "σ̂"
        }
        // the class of a class-conditional model; a guided one's "any" and its weight w
        var classItems: [(String, String)] = []
        if model.classCount != nil {
            classItems.append(("class", state.settings.classLabel.map { "\($0)" } ?? "any"))
            if model.nullClass != nil { classItems.append(("w", AppState.guidanceText(state.settings.guidance ?? 1))) }
        }
        let items: [(String, String)] = [
            ("η", eta), ("steps", "\(state.settings.steps)"), ("pace", AppState.milliseconds(state.settings.paceMilliseconds)), ("spacing", state.settings.spacing.rawValue),
            ("clip", s.clipSample ? String(format: "±%g", s.clipSampleRange) : "off"), ("batch", "\(state.settings.batch)"),
            ("seed", "\(state.settings.seed)"),
        ] + (model.precision == .float32 ? [] : [("precision", model.precision.rawValue)]) + classItems + [
            ("view", state.view.rawValue), ("theme", state.themeName),
        ] + (model.sampleShape()[0] == 1 ? [("map", state.colormap.rawValue)] : [])
        var column = 2
        for (name, value) in items.map({ (text($0.0), text($0.1)) }) {
            guard column + name.count + value.count + 2 < term.columns - 2 else { break }
            put(name, .dim, row: layout.parameterRow, column: column, on: term)
            put(value, .accent, row: layout.parameterRow, column: column + name.count + 1, on: term)
            column += name.count + value.count + 4
        }
    }

    func drawHelp(on term: Terminal) {
        let lines = KeyBindings.all.map { ($0.label.padding(toLength: 6, withPad: " ", startingAt: 0), $0.help) }
        // one column when the table fits the screen's height, else as many as it takes (texts cut to fit)
        let room = max(1, term.rows - 6)
        let columns = (lines.count + room - 1) / room
        let perColumn = (lines.count + columns - 1) / columns
        let natural = (lines.map { $0.0.count + $0.1.count }.max() ?? 20) + 3
        let columnWidth = min(natural, max(12, (term.columns - 8) / columns))
        let width = min(term.columns - 4, columns * columnWidth + 4)
        let height = min(term.rows - 2, perColumn + 4)
        let top = max(1, (term.rows - height) / 2), left = max(2, (term.columns - width) / 2)
        let blank = String(repeating: " ", count: max(0, width - 2))
        put("┌" + String(repeating: "─", count: max(0, width - 2)) + "┐", .border, row: top, column: left, on: term)
        put(" keys ", .title, row: top, column: left + 2, on: term)
        for r in 1..<(height - 1) {
            put("│" + blank + "│", .border, row: top + r, column: left, on: term)
        }
        put("└" + String(repeating: "─", count: max(0, width - 2)) + "┘", .border, row: top + height - 1, column: left, on: term)
        for (i, line) in lines.enumerated() {
            let (c, r) = (i / perColumn, i % perColumn)
            guard r < height - 4 else { continue }
            let x = left + 2 + c * columnWidth
            let textWidth = columnWidth - 9
            let text = line.1.count > textWidth ? String(line.1.prefix(max(1, textWidth - 1))) + "…" : line.1
            put(line.0, .accent, row: top + 2 + r, column: x, on: term)
            put(text, .text, row: top + 2 + r, column: x + 7, on: term, maxWidth: textWidth)
        }
        put(" any key closes ", .dim, row: top + height - 1, column: left + 2, on: term)
    }
}

func formatSeconds(_ s: Double) -> String {
    s < 60 ? String(format: "%.1fs", s) : String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60)
}

func formatParameters(_ n: Int) -> String {
    n >= 1_000_000 ? String(format: "%.1f M", Double(n) / 1e6) : String(format: "%.0f k", Double(n) / 1e3)
}

extension ColorMode {
    /// The name shown in the title.
    var label: String {
        switch self {
        case .truecolor: "truecolor"
        case .palette256: "256 colours"
        case .palette16: "16 colours"
        case .mono: "mono"
        }
    }
}
