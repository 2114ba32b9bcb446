/// An sRGB colour, 8 bits per channel.
public struct RGB: Hashable, Sendable, CustomStringConvertible {
    /// Red, 0…255.
    public var r: UInt8
    /// Green, 0…255.
    public var g: UInt8
    /// Blue, 0…255.
    public var b: UInt8

    /// A colour from its three channels.
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    /// A colour from `0xRRGGBB`.
    public init(hex: UInt32) {
        self.init(
            UInt8(truncatingIfNeeded: hex >> 16), UInt8(truncatingIfNeeded: hex >> 8),
            UInt8(truncatingIfNeeded: hex))
    }

    /// A grey with all three channels equal to `level`.
    public init(grey level: UInt8) {
        self.init(level, level, level)
    }

    /// `0xRRGGBB`, which is also the colour number ncurses uses with direct colour.
    public var hex: UInt32 { UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b) }

    /// BT.601 luma, `0.299 R + 0.587 G + 0.114 B`, in 0…255.
    public var luma: Float { Self.luma(vector) }

    /// Black, `#000000`.
    public static let black = RGB(0, 0, 0)
    /// White, `#FFFFFF`.
    public static let white = RGB(255, 255, 255)

    /// `#RRGGBB`.
    public var description: String {
        let digits = String(hex, radix: 16, uppercase: true)
        return "#" + String(repeating: "0", count: 6 - digits.count) + digits
    }

    // MARK: - Float working space

    /// The channels as floats in 0…255, the space the blitters average in.
    var vector: SIMD3<Float> { SIMD3(Float(r), Float(g), Float(b)) }

    /// The nearest colour to a float triple in 0…255 (clamped, rounded half away from zero).
    init(_ v: SIMD3<Float>) {
        let c = (v.clamped(lowerBound: .zero, upperBound: SIMD3(repeating: 255)) + 0.5).rounded(.down)
        self.init(UInt8(c.x), UInt8(c.y), UInt8(c.z))
    }

    /// BT.601 luma of a float triple.
    static func luma(_ v: SIMD3<Float>) -> Float {
        0.299 * v.x + 0.587 * v.y + 0.114 * v.z
    }
}
