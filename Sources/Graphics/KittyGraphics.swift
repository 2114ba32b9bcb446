import CPNG
import Preview

/// kitty's graphics protocol (kitty, Ghostty, WezTerm, Konsole): APC `ESC _ G keys ; payload ESC \`.
///
/// A picture is sent as raw RGB (`f=24`), zlib-deflated (`o=z`, level 1: the payload is small
/// and the UI thread pays for it), base64'd and split into chunks of at most 4096 characters.
/// The first chunk carries every key; the others carry only `m` (more follows: 1, last: 0) and
/// `q`, as the protocol asks. Ids are the caller's: sending the same image id again replaces the
/// picture and keeps its placement, so a preview tile updates in place without flicker.
public enum KittyGraphics {
    /// The most base64 characters in one chunk (a multiple of 4, so every chunk but the last
    /// decodes on its own).
    public static let chunkSize = 4096

    /// zlib's fastest level: a 400×400 preview deflates in about a millisecond.
    static let compressionLevel: Int32 = 1

    /// Transmit and display: `a=T,f=24,s=W,v=H,o=z` (zlib, when `compress`)`,i=imageID,
    /// p=placementID,c=columns,r=rows,C=1` (cursor stays) `,q=2` (no replies); payload base64 in
    /// chunks of ≤ 4096 with m=1/m=0. Re-sending the same ids replaces the picture in place.
    ///
    /// A grey (1-channel) bitmap is sent as grey RGB. `columns` and `rows` below 1 are sent as 1.
    /// If zlib fails (it cannot for a valid buffer), the picture goes uncompressed.
    public static func place(
        _ rgb: Bitmap, imageID: UInt32, placementID: UInt32 = 1, columns: Int, rows: Int,
        compress: Bool = true
    ) -> [UInt8] {
        let picture = rgb.channels == 3 ? rgb : PixelFit.rgb(rgb, colormap: .grey)
        var keys = "a=T,f=24,s=\(picture.width),v=\(picture.height)"
        var payload = picture.pixels
        if compress, let deflated = deflate(picture.pixels) {
            keys += ",o=z"
            payload = deflated
        }
        keys += ",i=\(imageID),p=\(placementID),c=\(max(columns, 1)),r=\(max(rows, 1)),C=1,q=2"
        return chunked(keys: keys, payload: payload)
    }

    /// `a=d,d=I,i=ID,q=2`: deletes the image's placements and frees its data.
    public static func delete(imageID: UInt32) -> [UInt8] {
        command("a=d,d=I,i=\(imageID),q=2")
    }

    /// `a=d,d=A,q=2`: deletes every image's placements and frees their data.
    public static let deleteAll: [UInt8] = command("a=d,d=A,q=2")

    // MARK: - Building the escape sequences

    /// `ESC _ G keys ESC \` with no payload.
    static func command(_ keys: String) -> [UInt8] {
        [0x1B, UInt8(ascii: "_"), UInt8(ascii: "G")] + Array(keys.utf8) + [0x1B, UInt8(ascii: "\\")]
    }

    /// The payload base64'd into chunks: the first `ESC _ G keys,m=…;` the rest `ESC _ G m=…,q=2;`.
    static func chunked(keys: String, payload: [UInt8]) -> [UInt8] {
        // Each chunk of `chunkSize` characters encodes `chunkSize / 4 * 3` payload bytes.
        let bytesPerChunk = chunkSize / 4 * 3
        let chunkCount = max(1, (payload.count + bytesPerChunk - 1) / bytesPerChunk)
        let firstKeys = Array(keys.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(Base64.encodedCount(payload.count) + firstKeys.count + chunkCount * 16)
        payload.withUnsafeBufferPointer { bytes in
            for chunk in 0..<chunkCount {
                let start = chunk * bytesPerChunk
                let end = min(start + bytesPerChunk, bytes.count)
                let more = chunk < chunkCount - 1
                out += [0x1B, UInt8(ascii: "_"), UInt8(ascii: "G")]
                if chunk == 0 {
                    out += firstKeys
                    out += Array(more ? ",m=1".utf8 : ",m=0".utf8)
                } else {
                    out += Array(more ? "m=1,q=2".utf8 : "m=0,q=2".utf8)
                }
                out.append(UInt8(ascii: ";"))
                Base64.append(UnsafeBufferPointer(rebasing: bytes[start..<end]), to: &out)
                out += [0x1B, UInt8(ascii: "\\")]
            }
        }
        return out
    }

    /// A zlib stream (RFC 1950, what `o=z` names) of `bytes` at ``compressionLevel``; nil if
    /// zlib reports an error.
    static func deflate(_ bytes: [UInt8]) -> [UInt8]? {
        var length = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(length))
        let status = out.withUnsafeMutableBufferPointer { dst in
            bytes.withUnsafeBufferPointer { src in
                compress2(dst.baseAddress, &length, src.baseAddress, uLong(src.count), compressionLevel)
            }
        }
        guard status == Z_OK else { return nil }
        out.removeSubrange(Int(length)...)
        return out
    }
}
