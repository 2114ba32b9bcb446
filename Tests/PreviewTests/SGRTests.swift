import Preview
import Testing

@Suite("SGR colour sequences and named escapes")
struct SGRTests {
    func sgr(_ fg: Int?, _ bg: Int?, _ mode: ColorMode) -> String {
        SGR.sequence(foreground: fg, background: bg, mode: mode)
    }

    @Test("every colour mode, foreground and background, and the default colour")
    func modes() {
        #expect(sgr(0x102030, 0xFF0000, .truecolor) == "\u{1B}[38;2;16;32;48;48;2;255;0;0m")
        #expect(sgr(196, 244, .palette256) == "\u{1B}[38;5;196;48;5;244m")
        #expect(sgr(1, 7, .palette16) == "\u{1B}[31;47m")
        #expect(sgr(15, 9, .palette16) == "\u{1B}[97;101m")
        #expect(sgr(-1, -1, .truecolor) == "\u{1B}[39;49m")
        #expect(sgr(-1, 3, .palette16) == "\u{1B}[39;43m")
        #expect(sgr(5, 5, .mono) == "\u{1B}[39;49m")
    }

    @Test("one colour alone, or nothing at all")
    func partial() {
        #expect(sgr(0x000000, nil, .truecolor) == "\u{1B}[38;2;0;0;0m")
        #expect(sgr(nil, 0xABCDEF, .truecolor) == "\u{1B}[48;2;171;205;239m")
        #expect(sgr(nil, nil, .truecolor) == "")
        var bytes: [UInt8] = [1]
        SGR.append(foreground: nil, background: nil, mode: .palette256, to: &bytes)
        #expect(bytes == [1])
    }

    @Test("named escapes: cursor position, decimals, UTF-8")
    func escapes() {
        var bytes: [UInt8] = []
        Escape.appendCursorPosition(row: 12, column: 1, to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == "\u{1B}[12;1H")
        #expect(String(decoding: Escape.saveCursor + Escape.resetAttributes + Escape.restoreCursor, as: UTF8.self) == "\u{1B}7\u{1B}[0m\u{1B}8")
        for n in [0, 7, 10, 255, 1_000_000] {
            var digits: [UInt8] = []
            Escape.appendDecimal(n, to: &digits)
            #expect(String(decoding: digits, as: UTF8.self) == String(n))
        }
        for scalar in ["A", "é", "▀", "🬀", "𝄞"].flatMap(\.unicodeScalars) {
            var utf8: [UInt8] = []
            Escape.appendUTF8(scalar.value, to: &utf8)
            #expect(utf8 == Array(String(scalar).utf8))
        }
    }

    @Test("ansiLines uses the same encoder: one escape per colour change, -1 as the default")
    func ansiLines() {
        let a = Cell(glyph: "▀", fg: .white, bg: .black, fgIndex: 15, bgIndex: 0)
        let image = CellImage(columns: 3, rows: 1, cells: [a, a, .blank], colorMode: .palette16)
        #expect(image.ansiLines() == ["\u{1B}[97;40m▀▀\u{1B}[39;49m \u{1B}[0m"])
    }
}
