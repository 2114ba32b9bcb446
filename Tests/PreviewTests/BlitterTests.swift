import Preview
import Testing

let white = RGB.white, black = RGB.black
let red = RGB(255, 0, 0), green = RGB(0, 255, 0), blue = RGB(0, 0, 255)

/// One cell drawn from a bitmap exactly one cell's worth of pixels in size.
func oneCell(
    _ colors: [RGB], _ blitter: Blitter, _ mode: ColorMode = .truecolor
) -> Cell {
    let bitmap = Bitmap(width: blitter.cellWidth, height: blitter.cellHeight, colors: colors)
    let image = CellRenderer(blitter: blitter, colorMode: mode).render(bitmap, columns: 1, rows: 1)
    return image[0, 0]
}

struct BlitterTests {
    @Test func halfBlockTopIsForeground() {
        #expect(oneCell([red, green], .half) == Cell(glyph: "▀", fg: red, bg: green))
        #expect(oneCell([black, white], .half) == Cell(glyph: "▀", fg: black, bg: white))
        #expect(oneCell([blue, blue], .half) == Cell(glyph: " ", fg: blue, bg: blue))
    }

    @Test func quadrantTopWhiteBottomBlack() {
        #expect(oneCell([white, white, black, black], .quadrant) == Cell(glyph: "▀", fg: white, bg: black))
        // The ink is the brighter set, whichever half it is.
        #expect(oneCell([black, black, white, white], .quadrant) == Cell(glyph: "▄", fg: white, bg: black))
    }

    @Test func quadrantCheckerboards() {
        #expect(oneCell([white, black, black, white], .quadrant) == Cell(glyph: "▚", fg: white, bg: black))
        #expect(oneCell([black, white, white, black], .quadrant) == Cell(glyph: "▞", fg: white, bg: black))
    }

    @Test func quadrantLeastSquaresSplit() {
        // Three dark blues and one red: the red corner is the ink (brighter luma).
        #expect(oneCell([red, blue, blue, blue], .quadrant) == Cell(glyph: "▘", fg: red, bg: blue))
        // Two shades of grey on the left, black on the right: ▌ with the mean of the greys.
        let cell = oneCell([RGB(grey: 200), black, RGB(grey: 100), black], .quadrant)
        #expect(cell == Cell(glyph: "▌", fg: RGB(grey: 150), bg: black))
        // Three near-whites and one black corner.
        #expect(oneCell([white, white, white, black], .quadrant).glyph == "▛")
    }

    @Test(arguments: Blitter.allCases)
    func uniformCellIsASpace(_ blitter: Blitter) {
        let teal = RGB(0, 128, 128)
        let colors = [RGB](repeating: teal, count: blitter.cellWidth * blitter.cellHeight)
        let cell = oneCell(colors, blitter)
        if blitter == .ascii {
            #expect(cell.glyph == "-" && cell.fg == teal)  // luma 90 → the 4th ramp step
        } else {
            #expect(cell == Cell(glyph: " ", fg: teal, bg: teal))
        }
    }

    @Test func sextantPatterns() {
        // Rows of a 2×3 cell: top white, the rest black → BLOCK SEXTANT-12.
        #expect(oneCell([white, white, black, black, black, black], .sextant) == Cell(glyph: "\u{1FB02}", fg: white, bg: black))
        // The left column is ▌ (outside U+1FB00…), the right column ▐.
        #expect(oneCell([white, black, white, black, white, black], .sextant).glyph == "▌")
        #expect(oneCell([black, white, black, white, black, white], .sextant).glyph == "▐")
        // The middle row → BLOCK SEXTANT-34.
        #expect(oneCell([black, black, white, white, black, black], .sextant).glyph == "\u{1FB0B}")
    }

    @Test func sextantTableMatchesUnicodeNames() {
        #expect(Blitter.sextant.glyph(mask: 0) == " ")
        #expect(Blitter.sextant.glyph(mask: 0b010101) == "▌")
        #expect(Blitter.sextant.glyph(mask: 0b101010) == "▐")
        #expect(Blitter.sextant.glyph(mask: 0b111111) == "█")
        #expect(Blitter.sextant.glyph(mask: 1) == "\u{1FB00}")
        #expect(Blitter.sextant.glyph(mask: 62) == "\u{1FB3B}")
        for mask in 1..<63 where mask != 0b010101 && mask != 0b101010 {
            let digits = (0..<6).filter { mask & (1 << $0) != 0 }.map { String($0 + 1) }.joined()
            #expect(Blitter.sextant.glyph(mask: mask).properties.name == "BLOCK SEXTANT-" + digits)
        }
    }

    @Test func quadrantTableMatchesUnicodeNames() {
        let corner = ["UPPER LEFT", "UPPER RIGHT", "LOWER LEFT", "LOWER RIGHT"]
        for bit in 0..<4 {
            #expect(Blitter.quadrant.glyph(mask: 1 << bit).properties.name == "QUADRANT " + corner[bit])
        }
        #expect(Blitter.quadrant.glyph(mask: 0b1001).properties.name == "QUADRANT UPPER LEFT AND LOWER RIGHT")
        #expect(Blitter.quadrant.glyph(mask: 0b0111).properties.name == "QUADRANT UPPER LEFT AND UPPER RIGHT AND LOWER LEFT")
    }

    @Test func brailleDots() {
        // Left column lit → dots 1, 2, 3, 7.
        let left = oneCell([white, black, white, black, white, black, white, black], .braille)
        #expect(left == Cell(glyph: "\u{2847}", fg: white, bg: black))
        #expect(left.glyph.properties.name == "BRAILLE PATTERN DOTS-1237")
        // Every row-major pixel bit lands on its dot.
        let dots = [1, 4, 2, 5, 3, 6, 7, 8]
        for bit in 0..<8 {
            #expect(Blitter.braille.glyph(mask: 1 << bit).properties.name == "BRAILLE PATTERN DOTS-\(dots[bit])")
        }
        #expect(Blitter.braille.glyph(mask: 255) == "⣿")
        // Colours are the means of the lit and unlit dots.
        let grey = oneCell([RGB(grey: 200), RGB(grey: 220), black, black, black, black, black, RGB(grey: 20)], .braille)
        #expect(grey == Cell(glyph: "\u{2809}", fg: RGB(grey: 210), bg: RGB(grey: 3)))  // 20 / 6 = 3.3
    }

    @Test func asciiRamp() {
        #expect(oneCell([black], .ascii).glyph == " ")
        #expect(oneCell([white], .ascii) == Cell(glyph: "@", fg: white, bg: black))
        #expect(oneCell([RGB(grey: 140)], .ascii).glyph == "+")  // 140 / 256 · 10 = 5.5
        #expect(Blitter.asciiRamp.count == 10)
    }

    @Test func monoUsesGlyphsOnly() {
        let topLit = oneCell([white, white, black, black], .quadrant, .mono)
        #expect(topLit == Cell(glyph: "▀", fg: white, bg: black, fgIndex: -1, bgIndex: -1))
        #expect(oneCell([black, white], .half, .mono).glyph == "▄")
        #expect(oneCell([white, white], .half, .mono).glyph == "█")
        #expect(oneCell([RGB(grey: 100), RGB(grey: 100)], .half, .mono).glyph == " ")
        #expect(oneCell([red, white], .half, .mono).glyph == "▄")  // red's luma is 76
        #expect(oneCell([white, black, black, black, black, white], .sextant, .mono).glyph == "\u{1FB1F}")  // sextants 1 and 6
        #expect(oneCell([RGB(grey: 240)], .ascii, .mono).glyph == "@")
    }

    @Test func quantisedColoursThatMeetCollapse() {
        // Two reds that are distinct in truecolor but both ANSI red (1) in 16 colours.
        let reds = [RGB(205, 0, 0), RGB(200, 10, 0)]
        #expect(oneCell(reds, .half).glyph == "▀")
        let cell = oneCell(reds, .half, .palette16)
        #expect(cell == Cell(glyph: " ", fg: RGB(205, 0, 0), bg: RGB(205, 0, 0), fgIndex: 1, bgIndex: 1))
        // 256 colours: indices and the colours they stand for.
        let pair = oneCell([red, RGB(grey: 128)], .half, .palette256)
        #expect(pair == Cell(glyph: "▀", fg: red, bg: RGB(grey: 128), fgIndex: 196, bgIndex: 244))
    }

    @Test func greyImagesGoThroughTheColormap() {
        let bitmap = Bitmap(width: 1, height: 2, channels: 1, pixels: [0, 255])
        let cell = CellRenderer(blitter: .half, colorMode: .truecolor, colormap: .viridis).render(bitmap, columns: 1, rows: 1)[0, 0]
        #expect(cell == Cell(glyph: "▀", fg: RGB(hex: 0x440154), bg: RGB(hex: 0xFDE725)))
    }

    @Test func textAndANSI() {
        let bitmap = Bitmap(width: 2, height: 2, colors: [white, red, black, red])
        let image = CellRenderer(blitter: .half, colorMode: .truecolor).render(bitmap, columns: 2, rows: 1)
        #expect(image.text == "▀ ")
        #expect(image.ansiLines() == ["\u{1B}[38;2;255;255;255;48;2;0;0;0m▀\u{1B}[38;2;255;0;0;48;2;255;0;0m \u{1B}[0m"])
        let sixteen = CellRenderer(blitter: .half, colorMode: .palette16).render(bitmap, columns: 2, rows: 1)
        #expect(sixteen.ansiLines() == ["\u{1B}[97;40m▀\u{1B}[91;101m \u{1B}[0m"])
        let mono = CellRenderer(blitter: .half, colorMode: .mono).render(bitmap, columns: 2, rows: 1)
        #expect(mono.ansiLines() == ["▀ "])
    }
}
