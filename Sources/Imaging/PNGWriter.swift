import CPNG
import Output

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes 8-bit grey or RGB PNGs, with text entries, without libpng's setjmp-based write API.
///
/// The file is assembled here: signature, IHDR, one tEXt/iTXt chunk per ``PNGText``, IDAT
/// (filter type 0 on every row, deflated by zlib's `compress2`, split into chunks of at most
/// 1 MiB), IEND, each chunk with zlib's `crc32`. Writing is atomic: the bytes go to a hidden
/// temporary file in the destination folder, are synced, and `rename(2)` moves them into place
/// (mode 0644), so a failure never leaves a partial PNG at `path`.
public struct PNGWriter: Sendable {
    /// zlib compression level, 0 (store) … 9 (smallest); 6 is zlib's default.
    public var compressionLevel: Int

    /// The largest IDAT chunk written; bigger compressed streams are split.
    static let idatChunkSize = 1 << 20

    /// A writer using zlib `compressionLevel` (clamped to 0…9).
    public init(compressionLevel: Int = 6) {
        self.compressionLevel = min(max(compressionLevel, 0), 9)
    }

    /// The complete PNG file for `image`, with `text` entries in the order given.
    public func encode(_ image: RGBImage, text: [PNGText] = []) throws(ImagingError) -> [UInt8] {
        guard image.width > 0, image.height > 0 else {
            throw .invalidPixels(reason: "PNG needs at least 1×1 pixels, got \(image.width)×\(image.height)")
        }
        guard image.width <= PNGChunk.maxLength, image.height <= PNGChunk.maxLength else {
            throw .invalidPixels(reason: "\(image.width)×\(image.height) exceeds PNG's 2³¹−1 limit")
        }
        var file = PNGChunk.signature

        var header: [UInt8] = []
        PNGChunk.appendBigEndian(UInt32(image.width), to: &header)
        PNGChunk.appendBigEndian(UInt32(image.height), to: &header)
        // bit depth 8; colour type 0 (grey) or 2 (RGB); deflate; filter method 0; no interlace.
        header += [8, image.channels == 1 ? 0 : 2, 0, 0, 0]
        PNGChunk.append(type: "IHDR", data: header, to: &file)

        for entry in text {
            let chunk = try entry.chunk()
            PNGChunk.append(type: chunk.type, data: chunk.data, to: &file)
        }

        let compressed = try deflate(scanlines(of: image))
        var start = 0
        repeat {
            let end = min(start + Self.idatChunkSize, compressed.count)
            PNGChunk.append(type: "IDAT", data: Array(compressed[start..<end]), to: &file)
            start = end
        } while start < compressed.count

        PNGChunk.append(type: "IEND", data: [], to: &file)
        return file
    }

    /// Encodes `image` and writes it to `path` atomically (see the type's notes).
    public func write(_ image: RGBImage, to path: String, text: [PNGText] = []) throws(ImagingError) {
        let bytes = try encode(image, text: text)
        do { try AtomicFile.write(bytes, to: path) } catch { throw ImagingError(error) }
    }

    /// Each row prefixed by filter type 0 (None).
    private func scanlines(of image: RGBImage) -> [UInt8] {
        let rowBytes = image.width * image.channels
        var raw = [UInt8](repeating: 0, count: image.height * (rowBytes + 1))
        raw.withUnsafeMutableBufferPointer { dst in
            image.pixels.withUnsafeBufferPointer { src in
                for y in 0..<image.height {
                    let d = y * (rowBytes + 1) + 1
                    for i in 0..<rowBytes { dst[d + i] = src[y * rowBytes + i] }
                }
            }
        }
        return raw
    }

    /// A zlib stream of `raw` via `compress2`.
    private func deflate(_ raw: [UInt8]) throws(ImagingError) -> [UInt8] {
        var capacity = compressBound(uLong(raw.count))
        var out = [UInt8](repeating: 0, count: Int(capacity))
        let status = out.withUnsafeMutableBufferPointer { dst in
            raw.withUnsafeBufferPointer { src in
                compress2(dst.baseAddress, &capacity, src.baseAddress, uLong(src.count), Int32(compressionLevel))
            }
        }
        guard status == Z_OK else {
            throw .invalidPixels(reason: "zlib compress2 failed with status \(status)")
        }
        out.removeSubrange(Int(capacity)...)
        return out
    }
}
