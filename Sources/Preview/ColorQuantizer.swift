/// Maps colours to the nearest one a ``ColorMode`` can show, by squared sRGB distance.
///
/// - truecolor: the colour itself, numbered `0xRRGGBB`.
/// - palette256: the nearer of two candidates, the 6×6×6 cube entry (each channel to the
///   nearest of 0, 95, 135, 175, 215, 255) and the grey-ramp entry (8 + 10k, k = 0…23) nearest
///   the channel mean; a tie goes to the cube. Entries 0–15 are skipped: terminals redefine them.
/// - palette16: the nearest of xterm's default 16 colours.
/// - mono: index −1 (the terminal's default colour), shown as white for a luma ≥ 128, else black.
///
/// The blitters fit colours first and quantise afterwards (as chafa does in its fast path), so
/// a cell whose two colours meet after quantisation collapses to a space (see ``CellRenderer``).
public struct ColorQuantizer: Sendable {
    /// The mode colours are mapped into.
    public let mode: ColorMode

    /// A quantiser for `mode`.
    public init(mode: ColorMode) {
        self.mode = mode
    }

    /// The colour `mode` shows for `color`.
    public func quantize(_ color: RGB) -> QuantizedColor {
        switch mode {
        case .truecolor:
            return QuantizedColor(index: Int(color.hex), rgb: color)
        case .palette256:
            let i = Self.nearest256(color)
            return QuantizedColor(index: i, rgb: Self.xterm256(i))
        case .palette16:
            let i = Self.nearest16(color)
            return QuantizedColor(index: i, rgb: Self.ansi16[i])
        case .mono:
            return QuantizedColor(index: -1, rgb: color.luma >= 128 ? .white : .black)
        }
    }

    // MARK: - xterm 256

    /// The channel levels of xterm's 6×6×6 colour cube.
    static let cubeLevels: [UInt8] = [0, 95, 135, 175, 215, 255]

    /// The colour of xterm palette entry `index` (0…255): 0–15 the ANSI colours, 16–231 the
    /// cube (`16 + 36 r + 6 g + b`), 232–255 the greys `8 + 10 (index − 232)`.
    public static func xterm256(_ index: Int) -> RGB {
        switch index {
        case ..<16:
            return ansi16[max(index, 0)]
        case 16..<232:
            let i = index - 16
            return RGB(cubeLevels[i / 36], cubeLevels[(i / 6) % 6], cubeLevels[i % 6])
        default:
            return RGB(grey: UInt8(8 + 10 * (min(index, 255) - 232)))
        }
    }

    /// The xterm-256 index (16…255) nearest `color`; see the type's notes.
    public static func nearest256(_ color: RGB) -> Int {
        let r = nearestCubeLevel(color.r), g = nearestCubeLevel(color.g), b = nearestCubeLevel(color.b)
        let cubeIndex = 16 + 36 * r + 6 * g + b
        let cubeError = distance(color, xterm256(cubeIndex))

        let mean = (Int(color.r) + Int(color.g) + Int(color.b) + 1) / 3
        let k = min(max((mean - 8 + 5) / 10, 0), 23)
        let greyIndex = 232 + k
        let greyError = distance(color, xterm256(greyIndex))
        return greyError < cubeError ? greyIndex : cubeIndex
    }

    /// The index 0…5 of the cube level nearest `v` (midpoints 47.5, 115, 155, 195, 235).
    static func nearestCubeLevel(_ v: UInt8) -> Int {
        switch v {
        case ..<48: return 0
        case ..<115: return 1
        default: return min((Int(v) - 35) / 40, 5)
        }
    }

    // MARK: - ANSI 16

    /// xterm's default colours 0–15: black, red, green, yellow, blue, magenta, cyan, white,
    /// then their bright versions.
    public static let ansi16: [RGB] = [
        RGB(0, 0, 0), RGB(205, 0, 0), RGB(0, 205, 0), RGB(205, 205, 0),
        RGB(0, 0, 238), RGB(205, 0, 205), RGB(0, 205, 205), RGB(229, 229, 229),
        RGB(127, 127, 127), RGB(255, 0, 0), RGB(0, 255, 0), RGB(255, 255, 0),
        RGB(92, 92, 255), RGB(255, 0, 255), RGB(0, 255, 255), RGB(255, 255, 255),
    ]

    /// The index 0…15 of the ANSI colour nearest `color` (the lower index on a tie).
    public static func nearest16(_ color: RGB) -> Int {
        var best = 0, bestError = Int.max
        for (i, candidate) in ansi16.enumerated() {
            let e = distance(color, candidate)
            if e < bestError { (best, bestError) = (i, e) }
        }
        return best
    }

    /// Squared Euclidean distance in sRGB.
    static func distance(_ a: RGB, _ b: RGB) -> Int {
        let dr = Int(a.r) - Int(b.r), dg = Int(a.g) - Int(b.g), db = Int(a.b) - Int(b.b)
        return dr * dr + dg * dg + db * db
    }
}
