import Output
/// Writes animated PNGs (APNG, the Mozilla extension every current browser plays): the frames of
/// a sampling trajectory, for example.
///
/// The file is a valid PNG whose default image is the first frame (a viewer without APNG support
/// shows it); `acTL` announces the frame count, each frame has an `fcTL` (size, offset 0, delay,
/// dispose none, blend source) and its pixels, in `IDAT` for the first and in `fdAT` (a sequence
/// number, then the same zlib stream) for the others. Sequence numbers run over `fcTL` and `fdAT`
/// together from 0, as the APNG specification requires. Written atomically, like ``PNGWriter``.
public struct APNGWriter: Sendable {
    /// Milliseconds each frame shows (the last one `lastFrameMilliseconds`).
    public var frameMilliseconds: Int
    /// How long the final frame stays before the animation loops.
    public var lastFrameMilliseconds: Int
    /// Times the animation plays; 0 loops forever.
    var plays: Int
    /// The still-image encoder that makes each frame's zlib stream.
    public var png = PNGWriter()

    /// An encoder; delays are clamped to 1…65 535 ms.
    public init(frameMilliseconds: Int = 100, lastFrameMilliseconds: Int = 1500, plays: Int = 0) {
        self.frameMilliseconds = min(max(frameMilliseconds, 1), 65_535)
        self.lastFrameMilliseconds = min(max(lastFrameMilliseconds, 1), 65_535)
        self.plays = max(0, plays)
    }

    /// The complete APNG file; all frames must have the same size and channel count.
    public func encode(_ frames: [RGBImage], text: [PNGText] = []) throws(ImagingError) -> [UInt8] {
        guard let first = frames.first else { throw .invalidPixels(reason: "an animation needs at least one frame") }
        for (i, frame) in frames.enumerated()
        where (frame.width, frame.height, frame.channels) != (first.width, first.height, first.channels) {
            throw .invalidPixels(reason: "frame \(i) is \(frame.width)×\(frame.height)×\(frame.channels), "
                                 + "frame 0 is \(first.width)×\(first.height)×\(first.channels)")
        }
        // The still PNG of frame 0 gives the signature, IHDR, text and its IDAT chunks.
        let still = try png.encode(first, text: text)
        var chunks = Self.chunks(of: still)
        var out = PNGChunk.signature
        var sequence: UInt32 = 0
        // IHDR and text first, then acTL, then frame 0's fcTL before its IDATs.
        while let chunk = chunks.first, chunk.type != "IDAT" {
            PNGChunk.append(type: chunk.type, data: chunk.data, to: &out)
            chunks.removeFirst()
        }
        var control: [UInt8] = []
        PNGChunk.appendBigEndian(UInt32(frames.count), to: &control)
        PNGChunk.appendBigEndian(UInt32(plays), to: &control)
        PNGChunk.append(type: "acTL", data: control, to: &out)
        for (index, frame) in frames.enumerated() {
            PNGChunk.append(type: "fcTL", data: frameControl(sequence: sequence, frame: frame, last: index == frames.count - 1), to: &out)
            sequence += 1
            let data = index == 0 ? chunks.filter { $0.type == "IDAT" }.map(\.data)
                : Self.chunks(of: try png.encode(frame)).filter { $0.type == "IDAT" }.map(\.data)
            for part in data {
                if index == 0 {
                    PNGChunk.append(type: "IDAT", data: part, to: &out)
                } else {
                    var body: [UInt8] = []
                    PNGChunk.appendBigEndian(sequence, to: &body)
                    body += part
                    PNGChunk.append(type: "fdAT", data: body, to: &out)
                    sequence += 1
                }
            }
        }
        PNGChunk.append(type: "IEND", data: [], to: &out)
        return out
    }

    /// Encodes `frames` and writes them to `path` atomically.
    public func write(_ frames: [RGBImage], to path: String, text: [PNGText] = []) throws(ImagingError) {
        let bytes = try encode(frames, text: text)
        do { try AtomicFile.write(bytes, to: path) } catch { throw ImagingError(error) }
    }

    /// fcTL: sequence, width, height, x/y offset 0, delay (ms / 1000), dispose 0 (none), blend 0 (source).
    private func frameControl(sequence: UInt32, frame: RGBImage, last: Bool) -> [UInt8] {
        var data: [UInt8] = []
        for value in [sequence, UInt32(frame.width), UInt32(frame.height), 0, 0] {
            PNGChunk.appendBigEndian(value, to: &data)
        }
        let delay = UInt16(last ? lastFrameMilliseconds : frameMilliseconds)
        data += [UInt8(delay >> 8), UInt8(delay & 0xFF), 0x03, 0xE8, 0, 0]
        return data
    }

    /// The chunks of a PNG file we wrote (type and data), after the signature.
    static func chunks(of file: [UInt8]) -> [(type: String, data: [UInt8])] {
        var result: [(type: String, data: [UInt8])] = []
        var offset = PNGChunk.signature.count
        while offset + 12 <= file.count {
            let length = Int(PNGChunk.bigEndian(file, at: offset))
            let type = String(decoding: file[(offset + 4)..<(offset + 8)], as: UTF8.self)
            guard offset + 12 + length <= file.count else { break }
            result.append((type, Array(file[(offset + 8)..<(offset + 8 + length)])))
            offset += 12 + length
        }
        return result
    }
}
