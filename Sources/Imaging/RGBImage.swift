/// An 8-bit image with one (grey) or three (RGB) samples per pixel.
///
/// Rows run top to bottom, pixels left to right, channels interleaved:
/// the sample of channel `c` at `(x, y)` is `pixels[(y * width + x) * channels + c]`.
public struct RGBImage: Sendable, Equatable {
    /// Pixels per row.
    public let width: Int
    /// Rows.
    public let height: Int
    /// Samples per pixel: 1 (grey) or 3 (RGB).
    public let channels: Int
    /// `width * height * channels` samples, row-major, interleaved.
    public internal(set) var pixels: [UInt8]

    /// An image over existing samples; throws when the count is not `width * height * channels`
    /// or `channels` is not 1 or 3.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) throws(ImagingError) {
        try Self.validate(width: width, height: height, channels: channels, count: pixels.count)
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// An image with every sample set to `value`.
    public init(width: Int, height: Int, channels: Int, repeating value: UInt8 = 0) throws(ImagingError) {
        try Self.validate(width: width, height: height, channels: channels, count: nil)
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = [UInt8](repeating: value, count: width * height * channels)
    }

    /// The sample of `channel` at column `x`, row `y`.
    public subscript(x: Int, y: Int, channel: Int) -> UInt8 {
        get { pixels[(y * width + x) * channels + channel] }
        set { pixels[(y * width + x) * channels + channel] = newValue }
    }

    /// The same picture with `channels` samples per pixel. Grey → RGB repeats the sample;
    /// RGB → grey uses BT.601 luma, `(299 R + 587 G + 114 B + 500) / 1000`.
    public func converted(toChannels target: Int) throws(ImagingError) -> RGBImage {
        guard target == 1 || target == 3 else {
            throw .invalidPixels(reason: "\(target) channels requested; only 1 (grey) or 3 (RGB) are supported")
        }
        if target == channels { return self }
        let count = width * height
        var out = [UInt8](repeating: 0, count: count * target)
        if target == 3 {
            for i in 0..<count {
                let v = pixels[i]
                out[3 * i] = v
                out[3 * i + 1] = v
                out[3 * i + 2] = v
            }
        } else {
            for i in 0..<count {
                let r = Int(pixels[3 * i]), g = Int(pixels[3 * i + 1]), b = Int(pixels[3 * i + 2])
                out[i] = UInt8((299 * r + 587 * g + 114 * b + 500) / 1000)
            }
        }
        return try RGBImage(width: width, height: height, channels: target, pixels: out)
    }

    static func validate(width: Int, height: Int, channels: Int, count: Int?) throws(ImagingError) {
        guard channels == 1 || channels == 3 else {
            throw .invalidPixels(reason: "\(channels) channels; only 1 (grey) or 3 (RGB) are supported")
        }
        guard width >= 0, height >= 0 else {
            throw .invalidPixels(reason: "negative size \(width)×\(height)")
        }
        let (area, o1) = width.multipliedReportingOverflow(by: height)
        let (expected, o2) = area.multipliedReportingOverflow(by: channels)
        guard !o1, !o2 else { throw .invalidPixels(reason: "size \(width)×\(height)×\(channels) overflows") }
        if let count, count != expected {
            throw .invalidPixels(
                reason: "\(count) samples for \(width)×\(height)×\(channels) (expected \(expected))")
        }
    }
}
