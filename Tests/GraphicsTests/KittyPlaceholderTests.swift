import Graphics
import Testing

/// kitty's Unicode placeholders (issue #19: pictures that tmux keeps with its text cells).
@Suite struct KittyPlaceholderTests {
    /// The 297 marks are what the protocol describes: combining marks of class 230 (above), no
    /// decomposition, ascending, each once, from U+0305 to U+1D244.
    @Test func diacriticsTable() throws {
        let table = KittyPlaceholder.diacritics
        #expect(table.count == 297 && KittyPlaceholder.maxSide == 297)
        #expect(table.first == 0x0305 && table[1] == 0x030D && table[29] == 0x036F && table.last == 0x1D244)
        #expect(zip(table, table.dropFirst()).allSatisfy { $0 < $1 }, "ascending, no repeats")
        for value in table {
            let scalar = try #require(Unicode.Scalar(value))
            #expect(scalar.properties.canonicalCombiningClass == .above, "U+\(String(value, radix: 16))")
            #expect(scalar.properties.generalCategory == .nonspacingMark)
            #expect(String(scalar).decomposedStringWithCanonicalMapping.unicodeScalars.count == 1)
        }
        // the marks normalisation could fuse with a letter are not there
        for fused: UInt32 in [0x0300, 0x0301, 0x0302, 0x0303, 0x0308, 0x030A, 0x0342, 0x0653] { #expect(!table.contains(fused)) }
    }

    @Test func cells() {
        #expect(KittyPlaceholder.cell(row: 0, column: 0)?.map(\.value) == [0x10EEEE, 0x0305, 0x0305])
        #expect(KittyPlaceholder.cell(row: 2, column: 5)?.map(\.value) == [0x10EEEE, 0x030E, 0x033D])
        #expect(KittyPlaceholder.cell(row: 297, column: 0) == nil && KittyPlaceholder.cell(row: 0, column: -1) == nil)
    }

    /// XTVERSION's answers as tmux keeps them (#{client_termtype}).
    @Test func supportedTerminals() {
        for yes in ["kitty(0.28.0)", "kitty(0.35.2)", "kitty(1.0.0)", "ghostty 1.1.3"] { #expect(KittyPlaceholder.supported(by: yes), "\(yes)") }
        for no in ["kitty(0.26.5)", "kitty(0.27.1)", "kitty()", "XTerm(379)", "WezTerm 20240203", "tmux 3.3a", ""] {
            #expect(!KittyPlaceholder.supported(by: no), "\(no)")
        }
    }

    /// A virtual placement: `U=1` where a direct one has `C=1`, the same size in cells, the same pixels.
    @Test func virtualPlacement() throws {
        let picture = Pictures.color(width: 30, height: 20)
        let sent = try #require(KittyTransmission(KittyGraphics.place(picture, imageID: 7, columns: 6, rows: 2, virtual: true)))
        #expect(sent.first["U"] == "1" && sent.first["C"] == nil)
        #expect(sent.first["i"] == "7" && sent.first["c"] == "6" && sent.first["r"] == "2" && sent.first["q"] == "2")
        #expect(sent.pixels == picture.pixels)
        var encoder = PixelEncoder(graphics: .kitty, cellWidth: 10, cellHeight: 20)
        encoder.kittyPlaceholders = true
        let viaEncoder = try #require(KittyTransmission(try encoder.encode(picture, colormap: .grey, columns: 6, rows: 2, id: 9)))
        #expect(viaEncoder.first["U"] == "1" && viaEncoder.first["i"] == "9")
    }
}
