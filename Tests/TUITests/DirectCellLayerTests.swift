import Preview
import Testing
import TUI

@Suite("The direct-cell layer: diff, tolerance, budget, holds and bytes")
struct DirectCellLayerTests {
    /// A frame's bytes as text (escapes spelt out by the test's expectations).
    func text(_ layer: inout DirectCellLayer) -> String { String(decoding: layer.encode(), as: UTF8.self) }

    /// Puts `glyph` in the given colours on every cell of `row` from `column`, `count` cells.
    func fill(_ layer: inout DirectCellLayer, row: Int, column: Int = 0, count: Int, glyph: Unicode.Scalar = "▀", fg: Int32, bg: Int32) {
        for c in column..<column + count { layer.put(glyph, row: row, column: c, fg: fg, bg: bg) }
    }

    /// A run of `count` cells on `row` from `column`.
    func run(_ row: Int, _ column: Int, _ count: Int) -> CellRect { CellRect(row: row, column: column, columns: count, rows: 1) }

    /// A one-row layer whose `columns` cells are on screen: `▀` in `fg` on black.
    func onScreen(columns: Int, fg: Int32) -> DirectCellLayer {
        var layer = DirectCellLayer(rows: 1, columns: columns)
        fill(&layer, row: 0, count: columns, fg: fg, bg: 0x000000)
        _ = layer.encode()
        return layer
    }

    /// How many cells a frame wrote: its glyphs after the SGR sequences, counted by scalar.
    func written(_ bytes: String, glyph: Character = "▀") -> Int { bytes.filter { $0 == glyph }.count }

    @Test("the exact bytes of a small frame: DECSC, CUP where cells jump, SGR of what changed, SGR 0, DECRC")
    func bytes() {
        var layer = DirectCellLayer(rows: 3, columns: 4)
        layer.put("A", row: 0, column: 0, fg: 0x102030, bg: -1)
        layer.put("B", row: 0, column: 1, fg: 0x102030, bg: 0x000000)
        layer.put("▀", row: 1, column: 2, fg: 0xFF0000, bg: 0x00FF00)
        layer.put("é", row: 1, column: 3, fg: 0x0000FF, bg: 0x00FF00)
        let expected = "\u{1B}7" + "\u{1B}[1;1H" + "\u{1B}[38;2;16;32;48;49m" + "A" + "\u{1B}[48;2;0;0;0m" + "B"
            + "\u{1B}[2;3H" + "\u{1B}[38;2;255;0;0;48;2;0;255;0m" + "▀" + "\u{1B}[38;2;0;0;255m" + "é"
            + "\u{1B}[0m" + "\u{1B}8"
        #expect(text(&layer) == expected)
        // nothing queued: nothing to write
        let nothing = layer.encode()
        #expect(nothing.isEmpty)
    }

    @Test("a glyph in its background's colour is a space on that background, with no foreground set")
    func space() {
        var layer = DirectCellLayer(rows: 1, columns: 3)
        layer.put("▀", row: 0, column: 0, fg: 0x112233, bg: 0x112233)
        layer.put("▀", row: 0, column: 1, fg: 0x445566, bg: 0x112233)
        #expect(text(&layer) == "\u{1B}7\u{1B}[1;1H\u{1B}[48;2;17;34;51m \u{1B}[38;2;68;85;102m▀\u{1B}[0m\u{1B}8")
        // within the tolerance of each other, fg and bg are one colour: a space
        layer.tolerance = 2
        layer.put("▀", row: 0, column: 2, fg: 0x010101, bg: 0x000000)
        #expect(text(&layer) == "\u{1B}7\u{1B}[1;3H\u{1B}[48;2;0;0;0m \u{1B}[0m\u{1B}8")
    }

    @Test("cells unchanged since the last frame are not sent again; repaintAll sends them all")
    func diff() {
        var layer = DirectCellLayer(rows: 2, columns: 5)
        fill(&layer, row: 0, count: 5, fg: 0xFFFFFF, bg: 0x000000)
        #expect(written(text(&layer)) == 5)
        fill(&layer, row: 0, count: 5, fg: 0xFFFFFF, bg: 0x000000)
        let unchanged = layer.encode()
        #expect(unchanged.isEmpty)
        fill(&layer, row: 0, count: 5, fg: 0xFFFFFF, bg: 0x000000)
        layer.put("▀", row: 0, column: 3, fg: 0xFFFFFE, bg: 0x000000)
        #expect(text(&layer) == "\u{1B}7\u{1B}[1;4H\u{1B}[38;2;255;255;254;48;2;0;0;0m▀\u{1B}[0m\u{1B}8")
        fill(&layer, row: 0, count: 5, fg: 0xFFFFFF, bg: 0x000000)
        layer.repaintAll()
        #expect(written(text(&layer)) == 5)
        fill(&layer, row: 0, count: 5, fg: 0xFFFFFF, bg: 0x000000)
        let after = layer.encode()
        #expect(after.isEmpty, "repaintAll lasts one frame")
    }

    @Test("tolerance: colours within it stay as they are; glyph changes and default colours always go out")
    func tolerance() {
        var layer = onScreen(columns: 4, fg: 0x808080)
        layer.tolerance = 3
        layer.put("▀", row: 0, column: 0, fg: 0x838080, bg: 0x000000)  // 3: stays
        layer.put("▀", row: 0, column: 1, fg: 0x808084, bg: 0x000000)  // 4: written
        layer.put("▄", row: 0, column: 2, fg: 0x808080, bg: 0x000000)  // new glyph: written
        layer.put("▀", row: 0, column: 3, fg: 0x808080, bg: -1)  // default colour: written
        let bytes = text(&layer)
        #expect(written(bytes) == 2 && written(bytes, glyph: "▄") == 1, "\(bytes)")
        #expect(bytes.hasPrefix("\u{1B}7\u{1B}[1;2H"))
        // the cell left behind is compared with what is on screen, not with the last queued one
        layer.put("▀", row: 0, column: 0, fg: 0x868080, bg: 0x000000)
        #expect(written(text(&layer)) == 1)
    }

    @Test("budget: the cells that moved most go first, new glyphs always; the rest follow")
    func budget() {
        var layer = onScreen(columns: 10, fg: 0x000000)
        layer.budget = 3
        // cell c moves by 10·c; cells 0 and 1 get new glyphs
        for c in 0..<10 { layer.put(c < 2 ? "▄" : "▀", row: 0, column: c, fg: Int32(10 * c) << 16, bg: 0x000000) }
        let first = text(&layer)
        #expect(written(first, glyph: "▄") + written(first, glyph: " ") == 2, "\(first)")
        // the budget counts the new glyphs too: the one that moved most (9) is the third cell
        #expect(written(first) == 1 && first.contains("[1;10H"), "\(first)")
        // the same picture again, unbudgeted: the ones left behind catch up
        layer.budget = nil
        for c in 0..<10 { layer.put(c < 2 ? "▄" : "▀", row: 0, column: c, fg: Int32(10 * c) << 16, bg: 0x000000) }
        #expect(written(text(&layer)) == 7)
    }

    @Test("holds: runs of queued cells once; forgotten where the text layer erased or wrote")
    func holds() {
        var layer = DirectCellLayer(rows: 3, columns: 6)
        fill(&layer, row: 1, column: 1, count: 2, fg: 1, bg: 2)
        fill(&layer, row: 1, column: 4, count: 2, fg: 1, bg: 2)
        fill(&layer, row: 2, count: 6, fg: 1, bg: 2)
        let runs = layer.takeHolds()
        #expect(runs == [run(1, 1, 2), run(1, 4, 2), run(2, 0, 6)])
        _ = layer.encode()
        // the same cells in a partial frame: held already
        fill(&layer, row: 2, count: 6, fg: 1, bg: 2)
        let none = layer.takeHolds()
        #expect(none.isEmpty)
        // text over row 2: held again there alone
        layer.forgetHolds(row: 2)
        fill(&layer, row: 1, column: 1, count: 2, fg: 1, bg: 2)
        fill(&layer, row: 2, count: 6, fg: 1, bg: 2)
        let again = layer.takeHolds()
        #expect(again == [run(2, 0, 6)])
        _ = layer.encode()
        // text over a row whose cells are queued already: they are held again
        fill(&layer, row: 2, count: 6, fg: 1, bg: 2)
        layer.forgetHolds(row: 2)
        let late = layer.takeHolds()
        #expect(late == [run(2, 0, 6)])
        _ = layer.encode()
        // an erased screen holds nothing
        layer.forgetHolds()
        fill(&layer, row: 1, column: 4, count: 1, fg: 1, bg: 2)
        let erased = layer.takeHolds()
        #expect(erased == [run(1, 4, 1)])
    }

    @Test("rows to repaint: a cell on screen that this frame does not queue; partial frames look at their rows alone")
    func repaint() {
        var layer = DirectCellLayer(rows: 3, columns: 4)
        fill(&layer, row: 0, count: 4, fg: 1, bg: 2)
        fill(&layer, row: 1, count: 4, fg: 1, bg: 2)
        _ = layer.encode()
        // row 0 whole again, row 1 one cell short, row 2 never had any
        fill(&layer, row: 0, count: 4, fg: 1, bg: 2)
        fill(&layer, row: 1, count: 3, fg: 1, bg: 2)
        let short = layer.rowsToRepaint(partial: false)
        #expect(short == [1])
        // row 1's cells count as gone from the screen: written again
        #expect(written(text(&layer)) == 3)
        // a partial frame that queues row 0 alone leaves row 1 be
        fill(&layer, row: 0, count: 4, fg: 1, bg: 2)
        let partial = layer.rowsToRepaint(partial: true)
        #expect(partial.isEmpty)
        _ = layer.encode()
        let empty = layer.rowsToRepaint(partial: false)
        #expect(empty == [0, 1], "a whole frame with no cells")
    }

    @Test("resize forgets every cell and says whether any was on screen")
    func resize() {
        var layer = DirectCellLayer(rows: 2, columns: 2)
        let same = layer.resize(rows: 2, columns: 2)
        #expect(!same)
        fill(&layer, row: 0, count: 2, fg: 1, bg: 2)
        _ = layer.encode()
        let grown = layer.resize(rows: 3, columns: 2)
        #expect(grown)
        #expect((layer.rows, layer.columns) == (3, 2))
        let wider = layer.resize(rows: 3, columns: 3)
        #expect(!wider, "nothing on screen any more")
        fill(&layer, row: 0, count: 2, fg: 1, bg: 2)
        #expect(written(text(&layer)) == 2, "nothing counts as shown after a resize")
        layer.put("▀", row: 3, column: 0, fg: 1, bg: 2)
        layer.put("▀", row: 0, column: -1, fg: 1, bg: 2)
        let off = layer.encode()
        #expect(off.isEmpty, "cells off the grid are ignored")
    }
}
