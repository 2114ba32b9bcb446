/// The escape sequences ddim writes to a terminal itself (outside ncurses), by name, as bytes;
/// and the two encodings they are built from (decimal parameters, UTF-8 glyphs). ECMA-48 and
/// DEC names: CSI is `ESC [`, CUP moves the cursor, DECSC/DECRC save and restore it.
///
/// The helpers are `@inlinable`: the direct-cell layer calls them for every cell it writes.
public enum Escape {
    /// DECSC (`ESC 7`): saves the cursor's position and attributes (``restoreCursor`` brings them back).
    public static let saveCursor: [UInt8] = [0x1B, 0x37]
    /// DECRC (`ESC 8`): restores what ``saveCursor`` saved.
    public static let restoreCursor: [UInt8] = [0x1B, 0x38]
    /// CSI (`ESC [`): opens a control sequence.
    public static let controlSequence: [UInt8] = [0x1B, 0x5B]
    /// SGR 0 (`ESC [ 0 m`): every attribute and both colours back to the terminal's default.
    public static let resetAttributes: [UInt8] = [0x1B, 0x5B, 0x30, 0x6D]
    /// The byte that ends an SGR sequence (`m`).
    public static let sgrEnd: UInt8 = 0x6D
    /// The byte between two parameters of a control sequence (`;`).
    public static let parameterSeparator: UInt8 = 0x3B

    /// Appends CUP (`ESC [ row ; column H`), which moves the cursor to the 1-based `row` and `column`.
    @inlinable
    public static func appendCursorPosition(row: Int, column: Int, to out: inout [UInt8]) {
        out += controlSequence
        appendDecimal(row, to: &out)
        out.append(parameterSeparator)
        appendDecimal(column, to: &out)
        out.append(0x48)  // H
    }

    /// Appends the decimal digits of a non-negative `n` (no leading zeros).
    @inlinable
    public static func appendDecimal(_ n: Int, to out: inout [UInt8]) {
        if n >= 10 { appendDecimal(n / 10, to: &out) }
        out.append(0x30 + UInt8(truncatingIfNeeded: n % 10))
    }

    /// Appends the UTF-8 bytes of the Unicode scalar value `v` (a valid scalar: at most 0x10FFFF,
    /// no surrogate).
    @inlinable
    public static func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case ..<0x80:
            out.append(UInt8(v))
        case ..<0x800:
            out += [UInt8(0xC0 | v >> 6), UInt8(0x80 | v & 0x3F)]
        case ..<0x10000:
            out += [UInt8(0xE0 | v >> 12), UInt8(0x80 | (v >> 6) & 0x3F), UInt8(0x80 | v & 0x3F)]
        default:
            out += [UInt8(0xF0 | v >> 18 & 0x07), UInt8(0x80 | (v >> 12) & 0x3F), UInt8(0x80 | (v >> 6) & 0x3F), UInt8(0x80 | v & 0x3F)]
        }
    }
}
