import CPNG

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
/// before pixel memory is allocated. Every error names the file.
public struct PNGReader: Sendable {
    /// The default cap on width and height: the largest sample a model may have (UNet configs are
    /// capped at 4096 too), 64 MB of RGBA at most, checked before any pixel memory is allocated.
    public static let defaultMaxDimension = 4096

    /// The largest width or height accepted.
    public var maxDimension: Int

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
        let file = try OpenFile(path)
        defer { file.close() }
        try Self.checkChunkLengths(file)
        rewind(file.handle)
        return try decode(name: path, channels: channels) { png_image_begin_read_from_stdio($0, file.handle) }
    }

    /// The image in `bytes` (a whole PNG file in memory), as ``read(_:channels:)`` reads a file;
    /// errors name `name`. The fuzz harness reads through this (no file per input).
    public func read(bytes: [UInt8], name: String, channels: Int? = nil) throws(ImagingError) -> RGBImage {
        try Self.check(channels: channels)
        try Self.checkChunkLengths(MemoryBytes(bytes: bytes, path: name))
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
    private static func checkChunkLengths(_ file: some ByteSource) throws(ImagingError) {
        try file.checkSignature()
        while let header = file.read(8) {
            let length = Int(PNGChunk.bigEndian(header, at: 0))
            let type = String(decoding: header[4..<8].map { (32...126).contains($0) ? $0 : 63 }, as: UTF8.self)
            guard length + 4 <= file.remaining else {
                throw .corrupt(path: file.path, reason: "chunk \(type) declares \(length) bytes, but the file ends \(max(0, file.remaining - 4)) bytes later")
            }
            if type == "IEND" { return }
            if let failure = file.skip(length + 4) {
                throw .corrupt(path: file.path, reason: "cannot skip a \(type) chunk: \(failure)")
            }
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
        let file = try OpenFile(path)
        defer { file.close() }
        return try Self.walkText(file)
    }

    /// The text entries of a PNG in memory, as ``readText(_:)`` reads a file; errors name `name`.
    public func readText(bytes: [UInt8], name: String) throws(ImagingError) -> [PNGText] {
        try Self.walkText(MemoryBytes(bytes: bytes, path: name))
    }

    private static func walkText(_ file: some ByteSource) throws(ImagingError) -> [PNGText] {
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
            } else if let failure = file.skip(length + 4) {
                throw .corrupt(path: path, reason: "cannot skip a \(type) chunk: \(failure)")
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

/// Where ``PNGReader/readText(_:)`` reads chunks from: a file or bytes in memory.
private protocol ByteSource {
    /// The name errors give.
    var path: String { get }
    /// Exactly `count` bytes, or nil at the end.
    func read(_ count: Int) -> [UInt8]?
    /// Moves `count` bytes on; the reason on failure.
    func skip(_ count: Int) -> String?
    /// Bytes left after the current position.
    var remaining: Int { get }
}

extension ByteSource {
    /// Throws ``ImagingError/notPNG(path:)`` unless the bytes start with the PNG signature.
    func checkSignature() throws(ImagingError) {
        guard read(PNGChunk.signature.count) == PNGChunk.signature else { throw .notPNG(path: path) }
    }
}

/// A whole PNG file in memory, read front to back.
private final class MemoryBytes: ByteSource {
    let bytes: [UInt8]
    let path: String
    private var offset = 0

    init(bytes: [UInt8], path: String) {
        (self.bytes, self.path) = (bytes, path)
    }

    func read(_ count: Int) -> [UInt8]? {
        guard count <= bytes.count - offset else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    func skip(_ count: Int) -> String? {
        // as fseeko: moving past the end succeeds; the next read finds the end
        offset = min(bytes.count, offset + count)
        return nil
    }

    var remaining: Int { bytes.count - offset }
}

/// A `FILE*` opened for reading, with errors that name the path.
private struct OpenFile: ByteSource {
    let path: String
    let handle: UnsafeMutablePointer<FILE>

    init(_ path: String) throws(ImagingError) {
        guard let handle = fopen(path, "rb") else {
            throw .cannotRead(path: path, reason: AtomicFile.lastError())
        }
        self.path = path
        self.handle = handle
    }

    func close() { fclose(handle) }

    /// Exactly `count` bytes, or nil at end of file.
    func read(_ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, count, handle) }
        return n == count ? bytes : nil
    }

    func skip(_ count: Int) -> String? {
        fseeko(handle, off_t(count), SEEK_CUR) == 0 ? nil : AtomicFile.lastError()
    }

    var remaining: Int {
        var status = stat()
        guard fstat(fileno(handle), &status) == 0 else { return 0 }
        return max(0, Int(status.st_size) - Int(ftello(handle)))
    }
}
