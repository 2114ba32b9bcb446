import Foundation
import Imaging
import Testing

/// PNG write/read through our own encoder and libpng's decoder (so every written file is also
/// validated by libpng: CRCs, zlib stream, IHDR fields).
final class PNGTests {
    let folder: String

    init() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-imaging-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        folder = url.path
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    func path(_ name: String) -> String { folder + "/" + name }

    func entries() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: folder).sorted() }

    /// A deterministic pseudo-random image.
    func image(width: Int, height: Int, channels: Int, seed: UInt64) throws -> RGBImage {
        var state = seed
        let pixels = (0..<(width * height * channels)).map { _ -> UInt8 in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        return try RGBImage(width: width, height: height, channels: channels, pixels: pixels)
    }

    @Test(arguments: [(1, 7, 5), (3, 13, 3), (1, 1, 1), (3, 1, 9)])
    func roundTrip(channels: Int, width: Int, height: Int) throws {
        let original = try image(width: width, height: height, channels: channels, seed: UInt64(width * 31 + height))
        let file = path("rt-\(channels)-\(width)x\(height).png")
        try PNGWriter().write(original, to: file)
        let back = try PNGReader().read(file)
        #expect(back == original)
        #expect(try entries() == ["rt-\(channels)-\(width)x\(height).png"])  // no temporary left
    }

    @Test func convertsOnRead() throws {
        let grey = try image(width: 4, height: 3, channels: 1, seed: 5)
        let file = path("grey.png")
        try PNGWriter(compressionLevel: 9).write(grey, to: file)
        let asRGB = try PNGReader().read(file, channels: 3)
        #expect(asRGB == (try grey.converted(toChannels: 3)))
        #expect(try PNGReader().read(file, channels: 1) == grey)
    }

    @Test func fileLayout() throws {
        let bytes = try PNGWriter().encode(try image(width: 2, height: 2, channels: 3, seed: 1), text: [PNGText("k", "v")])
        #expect(Array(bytes.prefix(8)) == [137, 80, 78, 71, 13, 10, 26, 10])
        #expect(String(decoding: bytes[12..<16], as: UTF8.self) == "IHDR")
        #expect(Array(bytes[16..<29]) == [0, 0, 0, 2, 0, 0, 0, 2, 8, 2, 0, 0, 0])  // 2×2, 8-bit RGB
        #expect(String(decoding: bytes[37..<41], as: UTF8.self) == "tEXt")
        #expect(String(decoding: bytes.suffix(8).prefix(4), as: UTF8.self) == "IEND")
    }

    @Test func largeImageSpansSeveralIDATChunks() throws {
        let big = try image(width: 700, height: 600, channels: 3, seed: 9)  // 1.26 MB of noise
        let bytes = try PNGWriter(compressionLevel: 1).encode(big)
        let idats = (0..<(bytes.count - 4)).filter { bytes[$0..<$0 + 4].elementsEqual("IDAT".utf8) }
        #expect(idats.count >= 2)
        let file = path("big.png")
        try PNGWriter(compressionLevel: 1).write(big, to: file)
        #expect(try PNGReader().read(file) == big)
    }

    @Test func textRoundTrip() throws {
        let text = [
            PNGText("Software", "ddim"),
            PNGText("Parameters", "steps=50 eta=0 seed=42 spacing=leading"),
            PNGText("Comment", "Latin-1 é and a\nnewline"),
            PNGText("Description", "UTF-8 η = 0.5, x̂₀"),  // not Latin-1: written as iTXt
        ]
        let file = path("text.png")
        try PNGWriter().write(try image(width: 5, height: 4, channels: 1, seed: 2), to: file, text: text)
        #expect(try PNGReader().readText(file) == text)
        #expect(try PNGReader().read(file).width == 5)
    }

    /// The in-memory reader (the fuzz harness's route) gives what the file reader gives, and its
    /// errors name the given name.
    @Test func memoryMatchesFile() throws {
        let text = [PNGText("Parameters", "steps=10"), PNGText("Description", "η = 1")]
        let file = path("memory.png")
        try PNGWriter().write(try image(width: 23, height: 9, channels: 3, seed: 8), to: file, text: text)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        for channels in [nil, 1, 3] {
            #expect(try PNGReader().read(bytes: bytes, name: "m.png", channels: channels) == PNGReader().read(file, channels: channels))
        }
        #expect(try PNGReader().readText(bytes: bytes, name: "m.png") == text)
        #expect(throws: ImagingError.tooLarge(path: "m.png", width: 23, height: 9, limit: 16)) {
            try PNGReader(maxDimension: 16).read(bytes: bytes, name: "m.png")
        }
        let cut = Array(bytes.prefix(bytes.count / 2))
        let error = #expect(throws: ImagingError.self) { try PNGReader().read(bytes: cut, name: "cut.png") }
        #expect(error?.description.contains("cut.png") == true)
        #expect(throws: ImagingError.self) { try PNGReader().readText(bytes: cut, name: "cut.png") }
        #expect(throws: ImagingError.notPNG(path: "t.png")) { try PNGReader().read(bytes: Array("text".utf8), name: "t.png") }
        #expect(throws: ImagingError.notPNG(path: "e.png")) { try PNGReader().readText(bytes: [], name: "e.png") }
    }

    /// A chunk that declares more bytes than the file holds is refused before libpng sees it:
    /// libpng allocates the declared length first (2 GB for this 300-byte file, found by fuzzing).
    @Test func chunkLongerThanTheFileIsRefused() throws {
        let file = path("huge.png")
        try PNGWriter().write(try image(width: 5, height: 4, channels: 1, seed: 9), to: file, text: [PNGText("Software", "ddim")])
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        // the tEXt chunk's length field follows the signature (8) and IHDR (8 + 13 + 4)
        let at = 8 + 25
        #expect(Array(bytes[(at + 4)..<(at + 8)]) == Array("tEXt".utf8))
        bytes.replaceSubrange(at..<(at + 4), with: [0x7E, 0x00, 0x00, 0x0C])
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let error = #expect(throws: ImagingError.self) { try PNGReader().read(file) }
        #expect(error?.description.contains("chunk tEXt declares 2113929228 bytes") == true, "\(String(describing: error))")
        #expect(throws: ImagingError.self) { try PNGReader().read(bytes: bytes, name: "huge.png") }
    }

    @Test func invalidTextKeysThrow() throws {
        let tiny = try image(width: 1, height: 1, channels: 1, seed: 3)
        for key in ["", String(repeating: "k", count: 80), " lead", "tab\tkey", "η"] {
            #expect(throws: ImagingError.self) { try PNGWriter().encode(tiny, text: [PNGText(key, "v")]) }
        }
        #expect(throws: ImagingError.self) { try PNGWriter().encode(tiny, text: [PNGText("k", "nul\0")]) }
    }

    @Test func truncatedFileIsAnError() throws {
        let file = path("cut.png")
        try PNGWriter().write(try image(width: 40, height: 30, channels: 3, seed: 4), to: file)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: file))
        let error = #expect(throws: ImagingError.self) { try PNGReader().read(file) }
        #expect(error?.description.contains(file) == true)
        #expect(throws: ImagingError.self) { try PNGReader().readText(file) }
    }

    @Test func textFileIsNotPNG() throws {
        let file = path("notes.png")
        try "just some text, not an image\n".write(toFile: file, atomically: false, encoding: .utf8)
        #expect(throws: ImagingError.notPNG(path: file)) { try PNGReader().read(file) }
        #expect(throws: ImagingError.notPNG(path: file)) { try PNGReader().readText(file) }
    }

    @Test func missingFileIsAnError() {
        let file = path("absent.png")
        let error = #expect(throws: ImagingError.self) { try PNGReader().read(file) }
        #expect(error?.description.contains(file) == true)
    }

    @Test func dimensionCap() throws {
        let file = path("wide.png")
        try PNGWriter().write(try image(width: 9, height: 2, channels: 1, seed: 6), to: file)
        #expect(throws: ImagingError.tooLarge(path: file, width: 9, height: 2, limit: 8)) {
            try PNGReader(maxDimension: 8).read(file)
        }
    }

    @Test func unwritablePathsLeaveNothing() throws {
        let tiny = try image(width: 2, height: 2, channels: 1, seed: 7)
        let missingFolder = path("no/such/folder/out.png")
        let error = #expect(throws: ImagingError.self) { try PNGWriter().write(tiny, to: missingFolder) }
        #expect(error?.description.contains(missingFolder) == true)
        #expect(!FileManager.default.fileExists(atPath: missingFolder))

        // The destination is a folder: rename fails, and the temporary file is removed.
        let taken = path("taken.png")
        try FileManager.default.createDirectory(atPath: taken, withIntermediateDirectories: false)
        #expect(throws: ImagingError.self) { try PNGWriter().write(tiny, to: taken) }
        #expect(try entries() == ["taken.png"])
    }

    @Test func overwriteReplacesWholeFile() throws {
        let file = path("same.png")
        try PNGWriter().write(try image(width: 30, height: 30, channels: 3, seed: 8), to: file)
        let second = try image(width: 2, height: 3, channels: 1, seed: 9)
        try PNGWriter().write(second, to: file)
        #expect(try PNGReader().read(file) == second)
        #expect(try entries() == ["same.png"])
    }
}
