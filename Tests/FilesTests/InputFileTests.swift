import Files
import Foundation
import Testing

@Suite("InputFile: regular files only, bounded, read by range")
final class InputFileTests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-files-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        try Data(bytes).write(to: dir.appendingPathComponent(name))
        return path(name)
    }

    @Test("a regular file is read whole, and by range")
    func regular() throws {
        let bytes = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let p = try write("a.bin", bytes)
        #expect(try InputFile.contents(of: p, limit: ReadLimit(bytes: 5000, what: "a test file")) == bytes)
        let file = try InputFile(p)
        #expect(file.count == 5000)
        #expect(try file.bytes(at: 4990, count: 10) == Array(bytes[4990...]))
        #expect(try file.bytes(at: 0, count: 0) == [])
        #expect(try InputFile.contents(of: try write("empty", []), limit: ReadLimit(bytes: 0, what: "a test file")) == [])
    }

    @Test("a FIFO is refused at once, without a writer (it used to block for ever)")
    func fifo() throws {
        let p = path("x.png")
        #expect(mkfifo(p, 0o600) == 0)
        let clock = ContinuousClock()
        let start = clock.now
        let error = #expect(throws: FileError.self) { try InputFile(p) }
        #expect(error == .notRegular(path: p, kind: "a FIFO"))
        #expect(error?.description == "\(p) is a FIFO, not a regular file")
        #expect(throws: FileError.notRegular(path: p, kind: "a FIFO")) {
            try InputFile.contents(of: p, limit: ReadLimit(bytes: 1 << 20, what: "a test file"))
        }
        #expect(clock.now - start < .seconds(2))
    }

    @Test("directories, character devices and missing files name the file and what it is")
    func otherKinds() throws {
        #expect(throws: FileError.notRegular(path: dir.path, kind: "a directory")) { try InputFile(dir.path) }
        let e = #expect(throws: FileError.self) { try InputFile("/dev/zero") }
        #expect(e?.description == "/dev/zero is a character device, not a regular file")
        let missing = path("nope.json")
        #expect(throws: FileError.cannotOpen(path: missing, reason: "No such file or directory")) { try InputFile(missing) }
        #expect(FileError.cannotOpen(path: missing, reason: "No such file or directory").description == "cannot read \(missing): No such file or directory")
    }

    @Test("a file over its limit is refused before a byte is read; one at the limit is read")
    func limits() throws {
        let limit = ReadLimit(bytes: 1 << 10, what: "a theme file")
        #expect(limit.description == "1 KiB")
        #expect(ReadLimit(bytes: 1000, what: "x").description == "1000-byte")
        let atLimit = try write("ok.theme", [UInt8](repeating: 65, count: 1024))
        #expect(try InputFile.contents(of: atLimit, limit: limit).count == 1024)
        let over = try write("big.theme", [UInt8](repeating: 65, count: 1025))
        let e = #expect(throws: FileError.self) { try InputFile.contents(of: over, limit: limit) }
        #expect(e == .tooLarge(path: over, size: 1025, limit: limit))
        #expect(e?.description == "\(over) is 1025 bytes, over the 1 KiB limit for a theme file")
    }

    @Test("a file cut short after it was opened: the read names the byte where it ended")
    func truncatedWhileOpen() throws {
        let p = try write("t.bin", [UInt8](repeating: 1, count: 4096))
        let file = try InputFile(p)
        #expect(truncate(p, 1000) == 0)
        #expect(try file.bytes(at: 500, count: 500).count == 500)
        #expect(throws: FileError.endedEarly(path: p, offset: 1000)) { try file.bytes(at: 900, count: 200) }
        #expect(throws: FileError.endedEarly(path: p, offset: 2000)) { try file.bytes(at: 2000, count: 1) }
        // a file that grew past its limit while read whole
        let grown = try InputFile(p, limit: ReadLimit(bytes: 2000, what: "x"))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: p))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(repeating: 2, count: 1500))
        try handle.close()
        #expect(throws: FileError.tooLarge(path: p, size: 2001, limit: ReadLimit(bytes: 2000, what: "x"))) {
            try grown.readToEnd(limit: ReadLimit(bytes: 2000, what: "x"))
        }
    }

    @Test("bytes in memory read as a file does")
    func memory() throws {
        let m = MemoryBytes([1, 2, 3, 4, 5], path: "mem")
        #expect(m.count == 5)
        #expect(try m.bytes(at: 1, count: 3) == [2, 3, 4])
        #expect(throws: FileError.endedEarly(path: "mem", offset: 5)) { try m.bytes(at: 3, count: 3) }
        #expect(throws: FileError.endedEarly(path: "mem", offset: 5)) { try m.bytes(at: 9, count: 1) }
    }
}
