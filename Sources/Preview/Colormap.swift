/// Colours for one-channel images: a grey value 0…255 → an sRGB colour.
///
/// `viridis` and `magma` are the perceptually uniform maps of Smith & van der Walt (matplotlib,
/// released as CC0). Here each is 33 control points, sampled from the 256-entry tables at
/// t = k/32, joined by linear interpolation; the largest deviation from the full tables is
/// under 2/255 per channel.
public enum Colormap: String, CaseIterable, Sendable {
    /// Grey in, grey out.
    case grey
    /// Dark blue → teal → yellow.
    case viridis
    /// Black → purple → orange → pale yellow.
    case magma

    /// The colour for grey level `level` (0 = the map's start, 255 = its end).
    public func apply(_ level: UInt8) -> RGB {
        RGB(color(at: Float(level)))
    }

    /// The colour at position `t` in 0…1 (clamped).
    public func apply(unit t: Float) -> RGB {
        RGB(color(at: t * 255))
    }

    /// The colour for a grey level in 0…255 as floats in 0…255 (the renderer's working space).
    func color(at level: Float) -> SIMD3<Float> {
        let v = level.isNaN ? 0 : min(max(level, 0), 255)
        let points: [UInt32]
        switch self {
        case .grey: return SIMD3(repeating: v)
        case .viridis: points = Self.viridisPoints
        case .magma: points = Self.magmaPoints
        }
        let x = v / 255 * Float(points.count - 1)
        let i = min(Int(x), points.count - 2)
        let f = x - Float(i)
        return Self.vector(points[i]) * (1 - f) + Self.vector(points[i + 1]) * f
    }

    private static func vector(_ hex: UInt32) -> SIMD3<Float> {
        SIMD3(Float((hex >> 16) & 0xFF), Float((hex >> 8) & 0xFF), Float(hex & 0xFF))
    }

    /// viridis at t = 0, 1/32, …, 1 as 0xRRGGBB.
    static let viridisPoints: [UInt32] = [
        0x440154, 0x470D60, 0x48186A, 0x482374, 0x472D7B, 0x453781, 0x424086, 0x3E4989,
        0x3B528B, 0x375B8D, 0x33638D, 0x2F6B8E, 0x2C728E, 0x297A8E, 0x26828E, 0x23898E,
        0x21918C, 0x1F978B, 0x1F9F88, 0x21A685, 0x27AD81, 0x31B57B, 0x3DBC74, 0x4CC26C,
        0x5CC863, 0x6ECE58, 0x81D34D, 0x95D840, 0xAADC32, 0xC0DF25, 0xD5E21A, 0xEAE51A,
        0xFDE725,
    ]

    /// magma at t = 0, 1/32, …, 1 as 0xRRGGBB.
    static let magmaPoints: [UInt32] = [
        0x000004, 0x030312, 0x0A0822, 0x130D34, 0x1D1147, 0x29115A, 0x36106B, 0x440F76,
        0x51127C, 0x5D177F, 0x6A1C81, 0x762181, 0x832681, 0x902A81, 0x9C2E7F, 0xAA337D,
        0xB73779, 0xC23B75, 0xCF4070, 0xDB476A, 0xE55064, 0xEE5B5E, 0xF4695C, 0xF9785D,
        0xFB8761, 0xFD9668, 0xFEA571, 0xFEB47B, 0xFEC287, 0xFED194, 0xFDE0A1, 0xFCEEB0,
        0xFCFDBF,
    ]
}
