import Preview
import Testing

struct ColorQuantizerTests {
    @Test func xterm256Indices() {
        #expect(ColorQuantizer.nearest256(RGB(255, 0, 0)) == 196)
        #expect(ColorQuantizer.nearest256(RGB(0, 255, 0)) == 46)
        #expect(ColorQuantizer.nearest256(RGB(0, 0, 255)) == 21)
        #expect(ColorQuantizer.nearest256(RGB(0, 0, 0)) == 16)
        #expect(ColorQuantizer.nearest256(RGB(255, 255, 255)) == 231)
        #expect(ColorQuantizer.nearest256(RGB(95, 135, 175)) == 67)  // an exact cube entry
        #expect(ColorQuantizer.nearest256(RGB(grey: 128)) == 244)  // grey ramp: 8 + 10 · 12
        #expect(ColorQuantizer.nearest256(RGB(grey: 238)) == 255)
        #expect(ColorQuantizer.nearest256(RGB(grey: 10)) == 232)
        #expect(ColorQuantizer.nearest256(RGB(250, 5, 3)) == 196)
    }

    @Test func xterm256Palette() {
        #expect(ColorQuantizer.xterm256(196) == RGB(255, 0, 0))
        #expect(ColorQuantizer.xterm256(67) == RGB(95, 135, 175))
        #expect(ColorQuantizer.xterm256(232) == RGB(grey: 8))
        #expect(ColorQuantizer.xterm256(255) == RGB(grey: 238))
        #expect(ColorQuantizer.xterm256(9) == RGB(255, 0, 0))
        // Every cube and grey entry maps to itself.
        for i in 16..<256 { #expect(ColorQuantizer.nearest256(ColorQuantizer.xterm256(i)) == i) }
    }

    @Test func ansi16Nearest() {
        #expect(ColorQuantizer.nearest16(RGB(0, 0, 0)) == 0)
        #expect(ColorQuantizer.nearest16(RGB(200, 0, 0)) == 1)
        #expect(ColorQuantizer.nearest16(RGB(255, 0, 0)) == 9)
        #expect(ColorQuantizer.nearest16(RGB(128, 128, 128)) == 8)
        #expect(ColorQuantizer.nearest16(RGB(220, 220, 220)) == 7)
        #expect(ColorQuantizer.nearest16(RGB(255, 255, 255)) == 15)
        #expect(ColorQuantizer.nearest16(RGB(10, 10, 200)) == 4)
        for (i, c) in ColorQuantizer.ansi16.enumerated() { #expect(ColorQuantizer.nearest16(c) == i) }
    }

    @Test func modes() {
        let orange = RGB(255, 128, 0)
        #expect(ColorQuantizer(mode: .truecolor).quantize(orange) == QuantizedColor(index: 0xFF8000, rgb: orange))
        #expect(ColorQuantizer(mode: .palette256).quantize(orange) == QuantizedColor(index: 208, rgb: RGB(255, 135, 0)))
        // Orange's nearest ANSI colour is dark yellow (205, 205, 0): 50² + 77² beats bright yellow's 128².
        #expect(ColorQuantizer(mode: .palette16).quantize(orange) == QuantizedColor(index: 3, rgb: RGB(205, 205, 0)))
        #expect(ColorQuantizer(mode: .mono).quantize(orange) == QuantizedColor(index: -1, rgb: .white))
        #expect(ColorQuantizer(mode: .mono).quantize(RGB(0, 0, 200)) == QuantizedColor(index: -1, rgb: .black))
    }
}
