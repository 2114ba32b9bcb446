import Imaging
import Preview

/// iTerm2's inline images (iTerm2, WezTerm, mintty): `OSC 1337 ; File=keys : base64(PNG) BEL`.
///
/// The picture travels as a PNG (zlib level 1 where deflating pays, by kitty's sample rule;
/// stored, level 0, where it would not: PNGWriter filters no rows, so a photo-like RGB picture
/// keeps 93 % of its bytes for 4.5 ms of zlib) and the terminal scales it to `width` × `height`
/// cells, not keeping its aspect ratio (the caller has already chosen a rectangle of the
/// picture's shape).
public enum ITermImage {
    /// PNG deflate level where deflating pays: the fastest, since this runs every preview frame.
    static let compressionLevel = 1

    /// `OSC 1337 ; File=inline=1;size=N;width=C;height=R;preserveAspectRatio=0 : base64(PNG) BEL`,
    /// N the PNG's length in bytes, C × R the cells to fill (values below 1 are sent as 1).
    /// A 1-channel bitmap is sent as a grey PNG. PNG failures are thrown as
    /// ``GraphicsError/png(reason:)``.
    public static func inline(_ rgb: Bitmap, columns: Int, rows: Int) throws(GraphicsError) -> [UInt8] {
        try PixelFit.checkSize(width: rgb.width, height: rgb.height)
        let png: [UInt8]
        do {
            let image = try RGBImage(width: rgb.width, height: rgb.height, channels: rgb.channels, pixels: rgb.pixels)
            let level = KittyGraphics.worthDeflating(rgb.pixels) ? compressionLevel : 0
            png = try PNGWriter(compressionLevel: level).encode(image)
        } catch {
            throw .png(reason: error.description)
        }
        let cells = "width=\(max(columns, 1));height=\(max(rows, 1))"
        let keys = "1337;File=inline=1;size=\(png.count);\(cells);preserveAspectRatio=0:"
        var out: [UInt8] = [0x1B, UInt8(ascii: "]")]
        out.reserveCapacity(keys.utf8.count + Base64.encodedCount(png.count) + 3)
        out += Array(keys.utf8)
        png.withUnsafeBufferPointer { Base64.append($0, to: &out) }
        out.append(0x07)
        return out
    }
}
