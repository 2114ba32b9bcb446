import CPNG
import Foundation
import Imaging
import Testing

/// Animated PNG: the chunk sequence the APNG specification asks for, checked by walking the file,
/// and each frame's pixels recovered by inflating its data with zlib.
struct APNGTests {
    func frame(_ value: UInt8, channels: Int) throws -> RGBImage {
        let pixels = (0..<(5 * 4 * channels)).map { UInt8(truncatingIfNeeded: Int(value) &* 7 &+ $0) }
        return try RGBImage(width: 5, height: 4, channels: channels, pixels: pixels)
    }

    /// (type, data) of every chunk after the signature.
    func chunks(_ file: [UInt8]) -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = []
        var i = 8
        while i + 12 <= file.count {
            let n = Int(file[i]) << 24 | Int(file[i + 1]) << 16 | Int(file[i + 2]) << 8 | Int(file[i + 3])
            out.append((String(decoding: file[(i + 4)..<(i + 8)], as: UTF8.self), Array(file[(i + 8)..<(i + 8 + n)])))
            i += 12 + n
        }
        return out
    }

    func u32(_ b: [UInt8], _ at: Int) -> Int { Int(b[at]) << 24 | Int(b[at + 1]) << 16 | Int(b[at + 2]) << 8 | Int(b[at + 3]) }

    /// Inflates a zlib stream and strips the filter byte (0) of each row.
    func pixels(_ stream: [UInt8], rowBytes: Int, rows: Int) -> [UInt8] {
        var size = uLong(rows * (rowBytes + 1))
        var raw = [UInt8](repeating: 0, count: Int(size))
        let status = raw.withUnsafeMutableBufferPointer { dst in
            stream.withUnsafeBufferPointer { uncompress(dst.baseAddress, &size, $0.baseAddress, uLong($0.count)) }
        }
        #expect(status == Z_OK)
        return (0..<rows).flatMap { r in raw[(r * (rowBytes + 1) + 1)..<((r + 1) * (rowBytes + 1))] }
    }

    @Test(arguments: [1, 3])
    func chunkSequenceAndFrames(channels: Int) throws {
        let frames = try (0..<4).map { try frame(UInt8($0 * 40), channels: channels) }
        let file = try APNGWriter(frameMilliseconds: 80, lastFrameMilliseconds: 900).encode(frames, text: [PNGText("Software", "ddim")])
        let list = chunks(file)
        #expect(list.map(\.0) == ["IHDR", "tEXt", "acTL", "fcTL", "IDAT", "fcTL", "fdAT", "fcTL", "fdAT", "fcTL", "fdAT", "IEND"])
        let actl = list[2].1
        #expect(u32(actl, 0) == 4 && u32(actl, 4) == 0)
        // sequence numbers over fcTL and fdAT: 0, 1, 2, … without gaps
        let sequence = list.filter { $0.0 == "fcTL" || $0.0 == "fdAT" }.map { u32($0.1, 0) }
        #expect(sequence == Array(0..<sequence.count))
        let controls = list.filter { $0.0 == "fcTL" }.map(\.1)
        #expect(controls.allSatisfy { u32($0, 4) == 5 && u32($0, 8) == 4 && u32($0, 12) == 0 && u32($0, 16) == 0 })
        let delays = controls.map { Int($0[20]) << 8 | Int($0[21]) }
        #expect(delays == [80, 80, 80, 900])
        #expect(controls.allSatisfy { Int($0[22]) << 8 | Int($0[23]) == 1000 })
        // frame pixels
        let first = pixels(list[4].1, rowBytes: 5 * channels, rows: 4)
        #expect(first == frames[0].pixels)
        for (k, data) in list.filter({ $0.0 == "fdAT" }).map(\.1).enumerated() {
            #expect(pixels(Array(data.dropFirst(4)), rowBytes: 5 * channels, rows: 4) == frames[k + 1].pixels)
        }
    }

    @Test func stillViewersSeeTheFirstFrame() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-apng-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let frames = try (0..<3).map { try frame(UInt8($0), channels: 3) }
        let path = folder.appendingPathComponent("a.png").path
        try APNGWriter().write(frames, to: path)
        #expect(try PNGReader().read(path) == frames[0])
    }

    @Test func framesMustMatch() throws {
        let a = try frame(0, channels: 1), b = try frame(0, channels: 3)
        #expect(throws: ImagingError.self) { try APNGWriter().encode([a, b]) }
        #expect(throws: ImagingError.self) { try APNGWriter().encode([]) }
    }
}
