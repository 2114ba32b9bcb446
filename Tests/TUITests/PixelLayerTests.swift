import Graphics
import Preview
import Testing
import TUI

@Suite("The pixel layer: which pictures a frame sends, deletes or clears, per protocol")
struct PixelLayerTests {
    /// A 2×2 grey picture of one level.
    func picture(_ level: UInt8) -> Bitmap { Bitmap(width: 2, height: 2, channels: 1, pixels: [level, level, level, level]) }
    let a = CellRect(row: 1, column: 1, columns: 10, rows: 5)
    let b = CellRect(row: 1, column: 13, columns: 10, rows: 5)

    @Test("an unchanged picture is not sent again; a changed one is, under its id", arguments: [GraphicsProtocol.kitty, .sixel, .iterm])
    func onlyChanges(graphics: GraphicsProtocol) {
        var layer = PixelLayer(graphics: graphics)
        layer.place(id: 1, rect: a, bitmap: picture(10), colormap: .grey)
        layer.place(id: 2, rect: b, bitmap: picture(20), colormap: .grey)
        #expect(layer.plan(partial: false).draws.map(\.id) == [1, 2])
        layer.place(id: 1, rect: a, bitmap: picture(10), colormap: .grey)
        layer.place(id: 2, rect: b, bitmap: picture(21), colormap: .grey)
        let second = layer.plan(partial: false)
        #expect(second.draws.map(\.id) == [2])
        #expect(second.draws.first?.placement.bitmap == picture(21))
        #expect(!second.clearScreen && second.deletes.isEmpty && !second.deleteAll)
        // a new colour map is a new picture
        layer.place(id: 1, rect: a, bitmap: picture(10), colormap: .viridis)
        layer.place(id: 2, rect: b, bitmap: picture(21), colormap: .grey)
        #expect(layer.plan(partial: false).draws.map(\.id) == [1])
    }

    @Test("kitty: a tile that went away is deleted by its id, a moved one re-placed; no clear")
    func kittyDeletes() {
        var layer = PixelLayer(graphics: .kitty)
        layer.place(id: 1, rect: a, bitmap: picture(1), colormap: .grey)
        layer.place(id: 2, rect: b, bitmap: picture(2), colormap: .grey)
        _ = layer.plan(partial: false)
        layer.place(id: 1, rect: b, bitmap: picture(1), colormap: .grey)
        let plan = layer.plan(partial: false)
        #expect(plan.deletes == [2])
        #expect(plan.draws.map(\.id) == [1] && plan.draws.first?.placement.rect == b)
        #expect(!plan.clearScreen)
    }

    @Test("sixel and iTerm2: a picture that went away or moved clears the screen and sends every picture", arguments: [GraphicsProtocol.sixel, .iterm])
    func pixelsInCellsClear(graphics: GraphicsProtocol) {
        var layer = PixelLayer(graphics: graphics)
        layer.place(id: 1, rect: a, bitmap: picture(1), colormap: .grey)
        layer.place(id: 2, rect: b, bitmap: picture(2), colormap: .grey)
        _ = layer.plan(partial: false)
        // tile 2 went away: clear, and tile 1 (unchanged) is sent again over the cleared screen
        layer.place(id: 1, rect: a, bitmap: picture(1), colormap: .grey)
        let gone = layer.plan(partial: false)
        #expect(gone.clearScreen && gone.deletes.isEmpty)
        #expect(gone.draws.map(\.id) == [1])
        // tile 1 moved
        layer.place(id: 1, rect: b, bitmap: picture(1), colormap: .grey)
        let moved = layer.plan(partial: false)
        #expect(moved.clearScreen && moved.draws.map(\.id) == [1])
    }

    @Test("a partial frame leaves the pictures it did not queue on screen")
    func partialKeeps() {
        var layer = PixelLayer(graphics: .sixel)
        layer.place(id: 1, rect: a, bitmap: picture(1), colormap: .grey)
        layer.place(id: 2, rect: b, bitmap: picture(2), colormap: .grey)
        _ = layer.plan(partial: false)
        layer.place(id: 1, rect: a, bitmap: picture(9), colormap: .grey)
        let plan = layer.plan(partial: true)
        #expect(!plan.clearScreen && plan.draws.map(\.id) == [1])
        // and a later whole frame still knows picture 2 is there (unchanged: not sent)
        layer.place(id: 1, rect: a, bitmap: picture(9), colormap: .grey)
        layer.place(id: 2, rect: b, bitmap: picture(2), colormap: .grey)
        #expect(layer.plan(partial: false).isEmpty)
    }

    @Test("after the text layer clears the screen every picture is sent again; kitty still deletes the ones gone")
    func forgetScreen() {
        var sixel = PixelLayer(graphics: .sixel)
        sixel.place(id: 1, rect: a, bitmap: picture(1), colormap: .grey)
        _ = sixel.plan(partial: false)
        sixel.forgetScreen()
        sixel.place(id: 1, rect: a, bitmap: picture(1), colormap: .grey)
        let again = sixel.plan(partial: false)
        #expect(again.draws.map(\.id) == [1] && !again.clearScreen)

        var kitty = PixelLayer(graphics: .kitty)
        kitty.place(id: 1, rect: a, bitmap: picture(1), colormap: .grey)
        kitty.place(id: 2, rect: b, bitmap: picture(2), colormap: .grey)
        _ = kitty.plan(partial: false)
        kitty.forgetScreen()
        kitty.place(id: 1, rect: a, bitmap: picture(1), colormap: .grey)
        let plan = kitty.plan(partial: false)
        #expect(plan.draws.map(\.id) == [1] && plan.deletes == [2])
    }

    @Test("switching protocol cleans up after the old one: kitty deletes all, sixel clears; blocks draws nothing")
    func switching() {
        var layer = PixelLayer(graphics: .kitty)
        layer.place(id: 1, rect: a, bitmap: picture(1), colormap: .grey)
        _ = layer.plan(partial: false)
        layer.switchTo(.sixel)
        layer.place(id: 1, rect: a, bitmap: picture(1), colormap: .grey)
        let toSixel = layer.plan(partial: false)
        #expect(toSixel.deleteAll && !toSixel.clearScreen && toSixel.draws.map(\.id) == [1])
        layer.switchTo(.blocks)
        layer.place(id: 1, rect: a, bitmap: picture(1), colormap: .grey)
        let toBlocks = layer.plan(partial: false)
        #expect(toBlocks.clearScreen && !toBlocks.deleteAll && toBlocks.draws.isEmpty)
        #expect(!layer.drawsPixels && !layer.hasPictures)
        // nothing was on screen: switching needs no clean-up
        layer.switchTo(.kitty)
        #expect(layer.plan(partial: false).isEmpty)
    }

    @Test("removeAll (quit, the help overlay): kitty deletes all, sixel clears, once")
    func removeAll() {
        for graphics in [GraphicsProtocol.kitty, .sixel] {
            var layer = PixelLayer(graphics: graphics)
            layer.place(id: 3, rect: a, bitmap: picture(1), colormap: .grey)
            _ = layer.plan(partial: false)
            layer.removeAll()
            let plan = layer.plan(partial: false)
            #expect(plan.deleteAll == (graphics == .kitty) && plan.clearScreen == (graphics == .sixel))
            #expect(layer.plan(partial: false).isEmpty)
        }
    }
}
