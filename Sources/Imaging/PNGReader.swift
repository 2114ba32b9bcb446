import CPNG
import Files

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads PNGs into 8-bit grey or RGB images with libpng's simplified API (`png_image`), which
/// needs no setjmp, and reads text entries with a small chunk walk of its own.
///
/// Any PNG libpng accepts is read: palette, 16-bit, interlaced, with alpha (composited onto
/// black) or a gAMA chunk (converted to sRGB). The header is checked against ``maxDimension``
/// before pixel memory is allocated. A file is read whole into memory first, through
/// ``InputFile`` (a regular file of at most ``fileLimit``), and decoded from there, so files and
/// the fuzz harness's bytes take one path. Every error names the file.
public struct PNGReader: Sendable {
    /// The default cap on width and height: the largest sample a model may have (UNet configs are
    /// capped at 4096 too), 64 MB of RGBA at most, checked before any pixel memory is allocated.
    public static let defaultMaxDimension = 4096

    /// The largest width or height accepted.
    public var maxDimension: Int

    /// The largest PNG file read: 128 MiB. The largest image accepted (4096 × 4096) is 48 MiB of
    /// RGB or 64 MiB of RGBA at 8 bits; the limit leaves room for 16-bit samples and for PNGs
    /// that barely compress, and refuses a file that could only be a bomb of chunks.
    public static let fileLimit = ReadLimit(bytes: 128 << 20, what: "a PNG file")

    /// Text chunks longer than this are skipped by ``readText(_:)``.
    static let maxTextChunk = 1 << 20

    /// A reader refusing images wider or taller than `maxDimension` pixels.
    public init(maxDimension: Int = PNGReader.defaultMaxDimension) {
        self.maxDimension = maxDimension
    }

    /// The image at `path` with `channels` samples per pixel (1 = grey, 3 = RGB), converted by
    /// libpng as needed; `nil` keeps the file's own kind (grey for grey files, RGB otherwise).
    public func read(_ path: String, channels: Int? = nil) throws(ImagingError) -> RGBImage {
        try Self.check(channels: channels)
        return try read(bytes: Self.contents(of: path), name: path, channels: channels)
    }

    /// The bytes of the PNG at `path`, refused when it is not a regular file or is over ``fileLimit``.
    private static func contents(of path: String) throws(ImagingError) -> [UInt8] {
        do {
            return try InputFile.contents(of: path, limit: fileLimit)
        } catch {
            throw .unreadable(error)
        }
    }

    /// The image in `bytes` (a whole PNG file in memory), as ``read(_:channels:)`` reads a file;
    /// errors name `name`. The fuzz harness reads through this (no file per input).
    public func read(bytes: [UInt8], name: String, channels: Int? = nil) throws(ImagingError) -> RGBImage {
        try Self.check(channels: channels)
        try Self.checkChunkLengths(ChunkCursor(bytes: bytes, path: name))
        // libpng reads from the buffer until png_image_finish_read returns: decode inside the scope
        let result = bytes.withUnsafeBytes { raw -> Result<RGBImage, ImagingError> in
            Result { () throws(ImagingError) in
                try decode(name: name, channels: channels) { png_image_begin_read_from_memory($0, raw.baseAddress, raw.count) }
            }
        }
        return try result.get()
    }

    /// libpng allocates a chunk's declared length before it reads the chunk: a 300-byte file
    /// declaring a 2 GB tEXt chunk made it ask for 2 GB (found by `make fuzz`). So every chunk
    /// must fit in the bytes that follow its header; libpng then judges the rest.
    private static func checkChunkLengths(_ file: ChunkCursor) throws(ImagingError) {
        try file.checkSignature()
        while let header = file.read(8) {
            let length = Int(PNGChunk.bigEndian(header, at: 0))
            let type = String(decoding: header[4..<8].map { (32...126).contains($0) ? $0 : 63 }, as: UTF8.self)
            guard length + 4 <= file.remaining else {
                throw .corrupt(path: file.path, reason: "chunk \(type) declares \(length) bytes, but the file ends \(max(0, file.remaining - 4)) bytes later")
            }
            if type == "IEND" { return }
            file.skip(length + 4)
        }
    }

    private static func check(channels: Int?) throws(ImagingError) {
        if let channels, channels != 1, channels != 3 {
            throw .invalidPixels(reason: "\(channels) channels requested; only 1 (grey) or 3 (RGB) are supported")
        }
    }

    /// The simplified API's decode after `begin` (stdio or memory) has read the header.
    private func decode(name path: String, channels: Int?, begin: (UnsafeMutablePointer<png_image>) -> Int32) throws(ImagingError) -> RGBImage {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        guard begin(&image) != 0 else {
            throw .corrupt(path: path, reason: Self.message(of: image))
        }
        guard Int(image.width) <= maxDimension, Int(image.height) <= maxDimension else {
            png_image_free(&image)
            throw .tooLarge(path: path, width: Int(image.width), height: Int(image.height), limit: maxDimension)
        }
        let native = image.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0 ? 3 : 1
        let target = channels ?? native
        // PNG_FORMAT_RGB is PNG_FORMAT_FLAG_COLOR, PNG_FORMAT_GRAY is 0 (the macros do not import).
        image.format = target == 3 ? UInt32(PNG_FORMAT_FLAG_COLOR) : 0

        let width = Int(image.width), height = Int(image.height)
        var pixels = [UInt8](repeating: 0, count: width * height * target)
        var black = png_color(red: 0, green: 0, blue: 0)
        let ok = pixels.withUnsafeMutableBytes { buffer in
            png_image_finish_read(&image, &black, buffer.baseAddress, 0, nil)
        }
        guard ok != 0 else { throw .corrupt(path: path, reason: Self.message(of: image)) }
        return try RGBImage(width: width, height: height, channels: target, pixels: pixels)
    }

    /// The tEXt and uncompressed iTXt entries of the PNG at `path`, in file order
    /// (zTXt and compressed iTXt are skipped). Walks the chunks up to IEND and checks the CRC of
    /// each text chunk; a file cut short before IEND is an error.
    public func readText(_ path: String) throws(ImagingError) -> [PNGText] {
        try readText(bytes: Self.contents(of: path), name: path)
    }

    /// The text entries of a PNG in memory, as ``readText(_:)`` reads a file; errors name `name`.
    public func readText(bytes: [UInt8], name: String) throws(ImagingError) -> [PNGText] {
        try Self.walkText(ChunkCursor(bytes: bytes, path: name))
    }

    private static func walkText(_ file: ChunkCursor) throws(ImagingError) -> [PNGText] {
        let path = file.path
        try file.checkSignature()
        var entries: [PNGText] = []
        while true {
            guard let header = file.read(8) else {
                throw .corrupt(path: path, reason: "file ends before the IEND chunk")
            }
            let length = Int(PNGChunk.bigEndian(header, at: 0))
            let typeBytes = Array(header[4..<8])
            let type = String(decoding: typeBytes, as: UTF8.self)
            let isLetter = { (byte: UInt8) in (65...90).contains(byte) || (97...122).contains(byte) }
            guard length <= PNGChunk.maxLength, typeBytes.allSatisfy(isLetter) else {
                throw .corrupt(path: path, reason: "invalid chunk header (type \(typeBytes), length \(length))")
            }
            if type == "IEND" { return entries }

            if (type == "tEXt" || type == "iTXt") && length <= maxTextChunk {
                guard let body = file.read(length + 4) else {
                    throw .corrupt(path: path, reason: "\(type) chunk cut short")
                }
                let data = body[0..<length]
                guard PNGChunk.crc(type: typeBytes, data: data) == PNGChunk.bigEndian(body, at: length) else {
                    throw .corrupt(path: path, reason: "CRC mismatch in a \(type) chunk")
                }
                if let entry = PNGText.parse(type: type, data: Array(data)) { entries.append(entry) }
            } else {
                file.skip(length + 4)
            }
        }
    }

    /// libpng's error text from a failed simplified-API call.
    private static func message(of image: png_image) -> String {
        var message = image.message
        let text = withUnsafeBytes(of: &message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return text.isEmpty ? "libpng reported an error" : text
    }
}

/// A whole PNG file in memory, read front to back chunk by chunk.
private final class ChunkCursor {
    let bytes: [UInt8]
    /// The name errors give.
    let path: String
    private var offset = 0

    init(bytes: [UInt8], path: String) {
        (self.bytes, self.path) = (bytes, path)
    }

    /// Throws ``ImagingError/notPNG(path:)`` unless the bytes start with the PNG signature.
    func checkSignature() throws(ImagingError) {
        guard read(PNGChunk.signature.count) == PNGChunk.signature else { throw .notPNG(path: path) }
    }

    /// Exactly `count` bytes, or nil at the end.
    func read(_ count: Int) -> [UInt8]? {
        guard count <= bytes.count - offset else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    /// Moves `count` bytes on (as fseeko: moving past the end succeeds; the next read finds the end).
    func skip(_ count: Int) {
        offset = min(bytes.count, offset + count)
    }

    /// Bytes left after the current position.
    var remaining: Int { bytes.count - offset }
}
