/// A resampled picture in float samples (0…255), the blitters' working space.
public struct PixelGrid: Sendable, Equatable {
    /// Pixels across.
    public let width: Int
    /// Pixels down.
    public let height: Int
    /// Samples per pixel: 1 or 3.
    public let channels: Int
    /// `width * height * channels` samples in 0…255, row-major, interleaved.
    public var samples: [Float]

    /// A grid over existing samples.
    public init(width: Int, height: Int, channels: Int, samples: [Float]) {
        precondition(
            samples.count == width * height * channels,
            "PixelGrid: \(samples.count) samples for \(width)×\(height)×\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.samples = samples
    }

    /// The pixel at `(x, y)` as RGB floats; a grey pixel goes through `colormap`.
    @inline(__always)
    func color(x: Int, y: Int, colormap: Colormap) -> SIMD3<Float> {
        let i = (y * width + x) * channels
        if channels == 1 { return colormap.color(at: samples[i]) }
        return SIMD3(samples[i], samples[i + 1], samples[i + 2])
    }
}
