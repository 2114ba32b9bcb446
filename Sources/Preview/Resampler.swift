/// Area-average ("box") resampling: each target pixel is the mean of the source area it
/// covers, with fractional weights for partly covered source pixels.
///
/// Downscaling averages (no aliasing of fine noise, which matters for x_t previews);
/// upscaling repeats pixels with a blend at fractional boundaries. Width and height scale
/// independently, which is how non-square blitter pixels keep the picture's aspect. Averaging
/// is done on the sRGB values, as terminals and most previewers do.
public enum Resampler {
    /// `bitmap` resampled to `width` × `height` pixels (both ≥ 1).
    public static func boxAverage(_ bitmap: Bitmap, width: Int, height: Int) -> PixelGrid {
        let width = max(width, 1), height = max(height, 1)
        let channels = bitmap.channels
        let columns = weights(source: bitmap.width, target: width)
        let rows = weights(source: bitmap.height, target: height)

        // Horizontal pass: source rows × target columns.
        var horizontal = [Float](repeating: 0, count: bitmap.height * width * channels)
        bitmap.pixels.withUnsafeBufferPointer { src in
            horizontal.withUnsafeMutableBufferPointer { dst in
                for y in 0..<bitmap.height {
                    let srcRow = y * bitmap.width * channels
                    let dstRow = y * width * channels
                    for x in 0..<width {
                        for (sx, w) in columns[x] {
                            for c in 0..<channels {
                                dst[dstRow + x * channels + c] += w * Float(src[srcRow + sx * channels + c])
                            }
                        }
                    }
                }
            }
        }

        // Vertical pass: target rows × target columns.
        let rowLength = width * channels
        var out = [Float](repeating: 0, count: height * rowLength)
        horizontal.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    for (sy, w) in rows[y] {
                        for i in 0..<rowLength { dst[y * rowLength + i] += w * src[sy * rowLength + i] }
                    }
                }
            }
        }
        return PixelGrid(width: width, height: height, channels: channels, samples: out)
    }

    /// For each target index, the source indices it covers and their weights (summing to 1).
    static func weights(source: Int, target: Int) -> [[(index: Int, weight: Float)]] {
        let scale = Double(source) / Double(target)
        return (0..<target).map { t in
            let lo = Double(t) * scale, hi = Double(t + 1) * scale
            var taps: [(index: Int, weight: Float)] = []
            var s = Int(lo.rounded(.down))
            while Double(s) < hi && s < source {
                let overlap = min(hi, Double(s + 1)) - max(lo, Double(s))
                if overlap > 1e-9 { taps.append((s, Float(overlap / scale))) }
                s += 1
            }
            return taps
        }
    }
}
