import CNCurses
import Graphics
import Preview

/// The pictures of a pixel protocol (``PixelLayer``): which protocol, placing tiles, what a
/// resize or the help does to them, and writing a frame's plan after ncurses' frame.
extension Terminal {
    // MARK: - Pictures

    /// Draws pictures in `graphics` from now on, encoded as `decision` says, through tmux's
    /// passthrough at the pane's offset `passthrough` (nil: not in tmux). The old protocol's
    /// pictures are cleaned up at the next refresh.
    func usePixels(_ graphics: GraphicsProtocol, decision: GraphicsDecision, passthrough: (row: Int, column: Int)?) {
        pixels.switchTo(graphics)
        self.passthrough = passthrough
        encoder = graphics == .blocks ? nil : decision.encoder(for: graphics)
        // every frame of a colour tile: the fixed palette (libsixel's own took ~0.3 s for 800×800)
        encoder?.sixelPalette = .fixed
    }

    /// Whether tiles are pictures now.
    var drawsPixels: Bool { pixels.drawsPixels }
    /// The protocol tiles are drawn in.
    var pixelGraphics: GraphicsProtocol { pixels.graphics }

    /// Queues picture `id` (a tile) for the next ``refresh(partial:)``: `bitmap` fitted to `rect`.
    /// The text layer is to keep the cells beneath unchanged (they are the tile's background).
    /// With kitty's Unicode placeholders (inside tmux) the cells are the picture's placeholder
    /// cells instead, queued as direct cells every frame (unchanged ones cost nothing).
    func place(picture bitmap: Bitmap, id: UInt32, rect: CellRect, colormap: Colormap) {
        pixels.place(id: id, rect: rect, bitmap: bitmap, colormap: colormap)
        guard encoder?.kittyPlaceholders == true, pixels.graphics == .kitty else { return }
        syncDirectSize()
        for r in 0..<rect.rows {
            for c in 0..<rect.columns {
                direct.putPlaceholder(row: rect.row + r, column: rect.column + c, imageID: id, pictureRow: r, pictureColumn: c)
            }
        }
    }

    /// Every picture goes at the next refresh (the help overlay covers the tiles).
    func removePictures() { pixels.removeAll() }

    /// The screen changed size: ncurses clears it (sixel and iTerm2 pictures go with the text)
    /// and repaints it, and every picture is sent again after that.
    func screenResized() {
        if pixels.drawsPixels || pixels.hasPictures { clearok(ddim_stdscr(), true) }
        pixels.forgetScreen()
    }

    /// Writes a plan's deletes and pictures, each picture between DECSC and DECRC with the cursor
    /// at its rectangle's top-left cell. `clearing`: the plan's clear is written here too (when
    /// no ncurses frame follows, as at the end). An encoding failure stops the pictures: it is kept
    /// in ``pixelFailure`` for the app to say.
    func writePixels(_ plan: PixelLayer.Plan, clearing: Bool) {
        guard !plan.isEmpty else { return }
        var bytes: [UInt8] = []
        if plan.deleteAll { bytes += KittyGraphics.deleteAll }
        for id in plan.deletes { bytes += KittyGraphics.delete(imageID: id) }
        if clearing && plan.clearScreen { bytes += Array("\u{1B}[H\u{1B}[2J".utf8) }
        if passthrough != nil, !bytes.isEmpty { bytes = Passthrough.tmux(bytes) }
        if !bytes.isEmpty { Self.writeAll(bytes) }
        guard let encoder else { return }
        for (id, placement) in plan.draws {
            let r = placement.rect
            var picture = Escape.saveCursor
            Escape.appendCursorPosition(row: (passthrough?.row ?? 0) + r.row + 1, column: (passthrough?.column ?? 0) + r.column + 1, to: &picture)
            do {
                picture += try encoder.encode(placement.bitmap, colormap: placement.colormap, columns: r.columns, rows: r.rows, id: id)
            } catch {
                pixelFailure = "\(error)"
                return
            }
            picture += Escape.restoreCursor
            Self.writeAll(passthrough == nil ? picture : Passthrough.tmux(picture))
        }
    }

    /// The failure ``pixelFailure`` holds, taken (said once).
    func takePixelFailure() -> String? {
        defer { pixelFailure = nil }
        return pixelFailure
    }
}
