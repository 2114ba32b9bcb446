import CPNG
import Preview

/// kitty's graphics protocol (kitty, Ghostty, WezTerm, Konsole): APC `ESC _ G keys ; payload ESC \`.
///
/// A picture is sent as raw RGB (`f=24`), zlib-deflated (`o=z`, level 1: the UI thread pays for
/// it) when that pays, base64'd and split into chunks of at most 4096 characters.
/// The first chunk carries every key; the others carry only `m` (more follows: 1, last: 0) and
/// `q`, as the protocol asks. Ids are the caller's: sending the same image id again replaces the
/// picture and keeps its placement, so a preview tile updates in place without flicker.
public enum KittyGraphics {
    /// The most base64 characters in one chunk (a multiple of 4, so every chunk but the last
    /// decodes on its own).
    public static let chunkSize = 4096

    /// zlib's fastest level. An upscaled digit (192×192, long runs) deflates in about 0.1 ms to
    /// 4 % of its size; a 256×256 photo-like RGB picture takes about 4.5 ms and keeps 93 % (raw
    /// RGB has no PNG-style prediction, so smooth gradients do not shrink either).
    static let compressionLevel: Int32 = 1

    /// Pictures with more raw bytes than twice this are deflated only if this much of their
    /// start shrinks to under ``worthwhileRatio`` of its size: 0.2 ms to learn whether 4 ms of
    /// zlib saves anything.
    static let sampleBytes = 32 * 1024

    /// The compressed fraction a sample must reach for the whole picture to be deflated.
    static let worthwhileRatio = 0.9

    /// Transmit and display: `a=T,f=24,s=W,v=H,o=z` (zlib, when `compress` and it pays)`,
    /// i=imageID,p=placementID,c=columns,r=rows,C=1` (cursor stays) `,q=2` (no replies); payload
    /// base64 in chunks of ≤ 4096 with m=1/m=0. Re-sending the same ids replaces the picture in
    /// place.
    ///
    /// "It pays": the deflated payload is smaller than the raw one and, for pictures over
    /// 2 × ``sampleBytes``, a sample of ``sampleBytes`` from the start deflates to under
    /// ``worthwhileRatio`` (noise-like pictures go raw without spending the full zlib pass).
    /// A grey (1-channel) bitmap is sent as grey RGB. `columns` and `rows` below 1 are sent as 1.
    ///
    /// `virtual`: a virtual placement for Unicode placeholders (``KittyPlaceholder``): `U=1`
    /// instead of `C=1`, placed nowhere; the cells that show it are the caller's text.
    public static func place(
        _ rgb: Bitmap, imageID: UInt32, placementID: UInt32 = 1, columns: Int, rows: Int,
        compress: Bool = true, virtual: Bool = false
    ) -> [UInt8] {
        let picture = rgb.channels == 3 ? rgb : PixelFit.rgb(rgb, colormap: .grey)
        var keys = "a=T,f=24,s=\(picture.width),v=\(picture.height)"
        var payload = picture.pixels
        if compress, worthDeflating(picture.pixels), let deflated = deflate(picture.pixels[...]),
            deflated.count < picture.pixels.count
        {
            keys += ",o=z"
            payload = deflated
        }
        keys += ",i=\(imageID),p=\(placementID),c=\(max(columns, 1)),r=\(max(rows, 1)),\(virtual ? "U=1" : "C=1"),q=2"
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

    /// Whether deflating `bytes` is likely to pay (the rule in `place`).
    static func worthDeflating(_ bytes: [UInt8]) -> Bool {
        guard bytes.count > 2 * sampleBytes else { return true }
        guard let sample = deflate(bytes[..<sampleBytes]) else { return false }
        return Double(sample.count) < worthwhileRatio * Double(sampleBytes)
    }

    /// A zlib stream (RFC 1950, what `o=z` names) of `bytes` at ``compressionLevel``; nil if
    /// zlib reports an error.
    static func deflate(_ bytes: ArraySlice<UInt8>) -> [UInt8]? {
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
