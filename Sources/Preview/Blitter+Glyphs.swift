// MARK: - Glyph tables
//
// A mask has one bit per pixel of the cell, row-major from the top-left pixel (bit 0):
// quadrant bits 0 TL, 1 TR, 2 BL, 3 BR; sextant bits 0 TL, 1 TR, 2 ML, 3 MR, 4 BL, 5 BR
// (Unicode's sextant n is bit n−1); braille bits follow the same row-major order and are mapped
// to the Unicode dot numbering below. A set bit is drawn in the foreground colour.

extension Blitter {
    /// The glyph that inks exactly the pixels in `mask` (see the table above for the bit order);
    /// for ``half`` bit 0 is the top pixel and bit 1 the bottom. ``ascii`` has no masks (space).
    public func glyph(mask: Int) -> Unicode.Scalar {
        switch self {
        case .half: return Self.halfGlyphs[mask & 3]
        case .quadrant: return Self.quadrantGlyphs[mask & 15]
        case .sextant: return Self.sextantGlyph(mask & 63)
        case .braille: return Self.brailleGlyph(mask & 255)
        case .ascii: return " "
        }
    }

    /// Space, upper half, lower half, full block.
    static let halfGlyphs: [Unicode.Scalar] = [" ", "▀", "▄", "█"]

    /// Indexed by the quadrant mask (bit 0 TL, 1 TR, 2 BL, 3 BR).
    static let quadrantGlyphs: [Unicode.Scalar] = [
        " ", "▘", "▝", "▀", "▖", "▌", "▞", "▛",
        "▗", "▚", "▐", "▜", "▄", "▙", "▟", "█",
    ]

    /// U+1FB00 "BLOCK SEXTANT-1" … U+1FB3B "BLOCK SEXTANT-23456" list the sextant masks in
    /// increasing order, leaving out the four that older blocks already have: empty (space),
    /// left column 1+3+5 = 0b010101 (`▌`), right column 2+4+6 = 0b101010 (`▐`) and full (`█`).
    static func sextantGlyph(_ mask: Int) -> Unicode.Scalar {
        switch mask {
        case 0: return " "
        case 0b010101: return "▌"
        case 0b101010: return "▐"
        case 0b111111: return "█"
        default:
            let skipped = 1 + (mask > 0b010101 ? 1 : 0) + (mask > 0b101010 ? 1 : 0)
            return Unicode.Scalar(UInt32(0x1FB00 + mask - skipped)) ?? "?"
        }
    }

    /// Braille: the row-major pixel bit (x + 2y) → Unicode dot bit. Dots 1-2-3 run down the left
    /// column (bits 0, 1, 2), 4-5-6 down the right (bits 3, 4, 5), 7 and 8 are the bottom row.
    static let brailleDotBit: [UInt32] = [0x01, 0x08, 0x02, 0x10, 0x04, 0x20, 0x40, 0x80]

    /// U+2800 plus the dots of `mask`, but a plain space for no dots (U+2800 is blank anyway,
    /// and some fonts draw it as a dotted box).
    static func brailleGlyph(_ mask: Int) -> Unicode.Scalar {
        guard mask != 0 else { return " " }
        var dots: UInt32 = 0
        for bit in 0..<8 where mask & (1 << bit) != 0 { dots |= brailleDotBit[bit] }
        return Unicode.Scalar(0x2800 + dots) ?? "?"
    }

    /// The ASCII brightness ramp, darkest first.
    public static let asciiRamp: [Unicode.Scalar] = Array(" .:-=+*#%@".unicodeScalars)

    /// The ramp glyph for a luma in 0…255: ten equal bins.
    static func asciiGlyph(luma: Float) -> Unicode.Scalar {
        let count = asciiRamp.count
        let i = Int(max(0, min(luma, 255)) / 256 * Float(count))
        return asciiRamp[min(i, count - 1)]
    }
}
