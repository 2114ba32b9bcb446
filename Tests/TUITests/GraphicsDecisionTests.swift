import Graphics
import Testing
import TUI

@Suite("How --graphics comes out: forced, asked, tmux, and the encoder it gives")
struct GraphicsDecisionTests {
    /// A probe that must not be called.
    func noProbe(_ passthrough: Bool) -> GraphicsSupport {
        Issue.record("the terminal was asked although the protocol was forced or tmux refused")
        return GraphicsSupport()
    }

    @Test("a forced protocol is used without asking; g goes between it and blocks")
    func forced() {
        let d = GraphicsDecision.decide(.forced(.sixel), tmux: .notTmux, windowCellSize: PixelSize(width: 8, height: 16), probe: noProbe)
        #expect(d.graphics == .sixel && d.choices == [.sixel, .blocks])
        #expect(d.cellSize == PixelSize(width: 8, height: 16) && !d.passthrough && d.note == nil)
        let blocks = GraphicsDecision.decide(.forced(.blocks), tmux: .notTmux, windowCellSize: nil, probe: noProbe)
        #expect(blocks.choices == [.blocks] && blocks.cellSize == GraphicsDecision.defaultCellSize)
    }

    @Test("inside tmux: passthrough where allowed; auto falls back to blocks where refused, a forced one warns")
    func tmux() {
        var askedWithPassthrough: Bool?
        let allowed = GraphicsDecision.decide(.auto, tmux: .allowed, windowCellSize: nil) { passthrough in
            askedWithPassthrough = passthrough
            return GraphicsSupport(kitty: true, answered: true, cellSize: PixelSize(width: 9, height: 18), best: .kitty)
        }
        #expect(askedWithPassthrough == true)
        #expect(allowed.graphics == .kitty && allowed.passthrough && allowed.cellSize == PixelSize(width: 9, height: 18))

        let refused = GraphicsDecision.decide(.auto, tmux: .refused(reason: "allow-passthrough is off"), windowCellSize: nil, probe: noProbe)
        #expect(refused.graphics == .blocks && refused.choices == [.blocks])
        #expect(refused.note == "blocks: inside tmux, allow-passthrough is off")
        // said in the status line at start, not only when g asks; a terminal with no pixels is not news
        #expect(refused.sayAtStart && !allowed.sayAtStart)

        let forced = GraphicsDecision.decide(.forced(.kitty), tmux: .refused(reason: "allow-passthrough is off"), windowCellSize: nil, probe: noProbe)
        #expect(forced.graphics == .kitty && !forced.passthrough)
        #expect(forced.note?.contains("drops the pictures") == true && forced.sayAtStart)
    }

    @Test("auto takes the terminal's best and offers every protocol it answered to, then blocks")
    func asked() {
        let both = GraphicsDecision.decide(.auto, tmux: .notTmux, windowCellSize: nil) { passthrough in
            #expect(!passthrough)
            return GraphicsSupport(kitty: true, sixel: true, answered: true, sixelMaxSize: PixelSize(width: 900, height: 760),
                                   colorRegisters: 16, best: .kitty)
        }
        #expect(both.choices == [.kitty, .sixel, .blocks])
        #expect(both.sixelColors == 16 && both.sixelMaxSize == PixelSize(width: 900, height: 760))
        let none = GraphicsDecision.decide(.auto, tmux: .notTmux, windowCellSize: PixelSize(width: 7, height: 15)) { _ in
            GraphicsSupport(answered: false, best: .blocks, reason: "the terminal did not answer")
        }
        #expect(none.graphics == .blocks && none.choices == [.blocks])
        #expect(none.note == "blocks: the terminal did not answer")
        #expect(none.cellSize == PixelSize(width: 7, height: 15))
    }

    @Test("the encoder keeps sixel within the terminal's registers and largest picture, in proportion")
    func encoderLimits() throws {
        var d = GraphicsDecision(graphics: .sixel, choices: [.sixel, .blocks], cellSize: PixelSize(width: 10, height: 20), passthrough: false, note: nil)
        d.sixelColors = 1000
        d.sixelMaxSize = PixelSize(width: 400, height: 1000)
        let encoder = d.encoder(for: .sixel)
        #expect(encoder.sixelColors == 256)
        // an 80×25-cell tile is 800×500 pixels: halved to fit 400 across
        let size = try #require(try encoder.sentSize(width: 32, height: 32, columns: 80, rows: 25))
        #expect(size.width == 400 && size.height == 250)
        // a tile within the limit is drawn at its size
        let small = try #require(try encoder.sentSize(width: 32, height: 32, columns: 20, rows: 10))
        #expect(small.width == 200 && small.height == 200)
        // kitty is not limited by sixel's size
        let kitty = try #require(try d.encoder(for: .kitty).sentSize(width: 32, height: 32, columns: 80, rows: 25))
        #expect(kitty.width == 480 && kitty.height == 480)
    }
}

@Suite("kitty's Unicode placeholders in the TUI")
struct PlaceholderCellTests {
    /// A placeholder cell: the id as a 24-bit foreground, U+10EEEE and the row's and column's marks;
    /// an unchanged frame writes nothing; another picture in the same cell (another id, a colour
    /// one level away) is written again whatever the tolerance.
    @Test func directCells() {
        var layer = DirectCellLayer(rows: 4, columns: 10)
        layer.tolerance = 8
        layer.putPlaceholder(row: 1, column: 2, imageID: 5, pictureRow: 0, pictureColumn: 1)
        let bytes = String(decoding: layer.encode(), as: UTF8.self)
        #expect(bytes.contains("\u{1B}[38;2;0;0;5;49m\u{10EEEE}\u{0305}\u{030D}"), "\(bytes.debugDescription)")
        layer.putPlaceholder(row: 1, column: 2, imageID: 5, pictureRow: 0, pictureColumn: 1)
        #expect(layer.encode().isEmpty)
        layer.putPlaceholder(row: 1, column: 2, imageID: 6, pictureRow: 0, pictureColumn: 1)
        #expect(String(decoding: layer.encode(), as: UTF8.self).contains("38;2;0;0;6;49m\u{10EEEE}\u{0305}\u{030D}"))
        layer.putPlaceholder(row: 1, column: 2, imageID: 6, pictureRow: 1, pictureColumn: 1)
        #expect(String(decoding: layer.encode(), as: UTF8.self).contains("\u{10EEEE}\u{030D}\u{030D}"))
    }

    @Test func decision() {
        let kitty = GraphicsDecision.decide(.auto, tmux: .allowed, windowCellSize: nil, placeholders: true) { _ in
            GraphicsSupport(kitty: true, answered: true, best: .kitty)
        }
        #expect(kitty.kittyPlaceholders && kitty.encoder(for: .kitty).kittyPlaceholders && !kitty.encoder(for: .sixel).kittyPlaceholders)
        let sixel = GraphicsDecision.decide(.auto, tmux: .allowed, windowCellSize: nil, placeholders: true) { _ in
            GraphicsSupport(sixel: true, answered: true, best: .sixel)
        }
        #expect(!sixel.kittyPlaceholders)
        let plain = GraphicsDecision.decide(.forced(.kitty), tmux: .allowed, windowCellSize: nil) { _ in GraphicsSupport() }
        #expect(!plain.kittyPlaceholders)
    }
}
