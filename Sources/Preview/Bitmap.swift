/// The picture to preview: 8-bit samples, `channels` per pixel (1 = grey, 3 = RGB), row-major
/// and interleaved — the same layout as `Imaging.RGBImage`, so converting is a field copy.
public struct Bitmap: Sendable, Equatable {
    /// Pixels per row.
    public let width: Int
    /// Rows.
    public let height: Int
    /// Samples per pixel: 1 (grey, shown through a ``Colormap``) or 3 (RGB).
    public let channels: Int
    /// `width * height * channels` samples.
    public let pixels: [UInt8]

    /// A bitmap over existing samples; `channels` must be 1 or 3, the count must match and the
    /// size must be at least 1×1.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(channels == 1 || channels == 3, "Bitmap: \(channels) channels (1 or 3 supported)")
        precondition(width > 0 && height > 0, "Bitmap: empty size \(width)×\(height)")
        precondition(
            pixels.count == width * height * channels,
            "Bitmap: \(pixels.count) samples for \(width)×\(height)×\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// An RGB bitmap from colours, row-major.
    public init(width: Int, height: Int, colors: [RGB]) {
        self.init(width: width, height: height, channels: 3, pixels: colors.flatMap { [$0.r, $0.g, $0.b] })
    }
}
