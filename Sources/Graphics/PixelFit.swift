import Preview

/// Nearest-neighbour fitting and colour for the pixel protocols.
///
/// Everything here is a plain loop over 8-bit samples with its lookup tables built once per
/// call (a column map, a 256-entry colour table), so it is cheap enough for every preview frame.
public enum PixelFit {
    /// The largest side, in pixels, any encoder builds: a picture this big is already 16 times a
    /// 4K screen's width; a larger request is a caller's mistake, answered with
    /// ``GraphicsError/tooLarge(width:height:limit:)`` rather than an allocation that traps.
    public static let maxSide = 16_384

    /// `bitmap` as 3-channel RGB: grey through `colormap`, RGB as is.
    public static func rgb(_ bitmap: Bitmap, colormap: Colormap) -> Bitmap {
        if bitmap.channels == 3 { return bitmap }
        let table = colorTable(colormap)
        let count = bitmap.width * bitmap.height
        var out = [UInt8](repeating: 0, count: count * 3)
        table.withUnsafeBufferPointer { lut in
            bitmap.pixels.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for i in 0..<count {
                        let t = Int(src[i]) * 3
                        dst[3 * i] = lut[t]
                        dst[3 * i + 1] = lut[t + 1]
                        dst[3 * i + 2] = lut[t + 2]
                    }
                }
            }
        }
        return Bitmap(width: bitmap.width, height: bitmap.height, channels: 3, pixels: out)
    }

    /// `bitmap` scaled nearest-neighbour to exactly width × height (≥ 1 each). Sides are clamped
    /// to 1…``maxSide`` (the encoders check sizes first and throw). Channels are kept; the same
    /// size returns `bitmap` itself.
    public static func scaled(_ bitmap: Bitmap, width: Int, height: Int) -> Bitmap {
        let width = min(max(width, 1), maxSide), height = min(max(height, 1), maxSide)
        if width == bitmap.width && height == bitmap.height { return bitmap }
        let channels = bitmap.channels
        let columns = sourceIndices(count: width, from: bitmap.width)
        let rows = sourceIndices(count: height, from: bitmap.height)
        let rowSamples = width * channels
        let sourceRowSamples = bitmap.width * channels
        var out = [UInt8](repeating: 0, count: height * rowSamples)
        bitmap.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                columns.withUnsafeBufferPointer { xs in
                    var previousRow = -1
                    for y in 0..<height {
                        let d = y * rowSamples
                        let sy = rows[y]
                        if sy == previousRow {
                            // An upscaled row repeats the one above: copy it whole.
                            for i in 0..<rowSamples { dst[d + i] = dst[d - rowSamples + i] }
                            continue
                        }
                        previousRow = sy
                        let s = sy * sourceRowSamples
                        if channels == 1 {
                            for x in 0..<width { dst[d + x] = src[s + xs[x]] }
                        } else {
                            for x in 0..<width {
                                let p = s + 3 * xs[x]
                                dst[d + 3 * x] = src[p]
                                dst[d + 3 * x + 1] = src[p + 1]
                                dst[d + 3 * x + 2] = src[p + 2]
                            }
                        }
                    }
                }
            }
        }
        return Bitmap(width: width, height: height, channels: channels, pixels: out)
    }

    /// The size to send a `width` × `height` picture at, for a rectangle of `maxWidth` ×
    /// `maxHeight` pixels that the terminal scales it to: the picture's size times the largest
    /// integer factor k that keeps both sides within the rectangle (k ≥ 1), each side then capped
    /// at the rectangle's (so a big picture is sent no larger than it is shown). Sides below 1
    /// are taken as 1.
    ///
    /// An integer factor with nearest-neighbour keeps a small picture's pixels square and sharp
    /// when the terminal filters it up to the rectangle; nothing larger than the rectangle is
    /// worth its bytes.
    public static func fittedSize(width: Int, height: Int, maxWidth: Int, maxHeight: Int) -> (width: Int, height: Int) {
        let width = max(width, 1), height = max(height, 1)
        let maxWidth = max(maxWidth, 1), maxHeight = max(maxHeight, 1)
        // k = max(1, min(⌊W/w⌋, ⌊H/h⌋))
        let k = max(1, min(maxWidth / width, maxHeight / height))
        // k ≤ W/w keeps w·k within W whenever k came from the division; when k was raised to 1
        // the side is capped instead, so the product stays ≤ max(W, w) and cannot overflow.
        return (min(width * k, maxWidth), min(height * k, maxHeight))
    }

    /// For each of `count` destination positions, the source index whose pixel centre is nearest:
    /// i ↦ ⌊(2i + 1)·n / (2·count)⌋, the source pixel under the destination pixel's centre.
    /// An integer upscale by k gives i ↦ ⌊i / k⌋.
    static func sourceIndices(count: Int, from n: Int) -> [Int] {
        var indices = [Int](repeating: 0, count: count)
        for i in 0..<count {
            indices[i] = min((2 * i + 1) * n / (2 * count), n - 1)
        }
        return indices
    }

    /// The 256 colours of `colormap` as r, g, b triples, indexed by grey level × 3.
    static func colorTable(_ colormap: Colormap) -> [UInt8] {
        var table = [UInt8](repeating: 0, count: 256 * 3)
        for level in 0...255 {
            let c = colormap.apply(UInt8(level))
            table[3 * level] = c.r
            table[3 * level + 1] = c.g
            table[3 * level + 2] = c.b
        }
        return table
    }

    /// `width` × `height`, checked against ``maxSide`` before any pixel buffer of that size is made.
    static func checkSize(width: Int, height: Int) throws(GraphicsError) {
        guard width <= maxSide, height <= maxSide else {
            throw .tooLarge(width: width, height: height, limit: maxSide)
        }
    }
}
