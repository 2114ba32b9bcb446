import Foundation
import Testing
import TUI

@Suite("The live sampler's input files: themes, --image and the open prompt")
final class InputFileTerminalTests {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-live-inputs-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: work) }

    @Test("a theme that is a FIFO, too large or not UTF-8 is one error naming the file")
    func themes() throws {
        let fifo = work.appendingPathComponent("fifo.theme")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let e = #expect(throws: (any Error).self) { try Theme.load(fifo.path) }
        #expect("\(e.map { "\($0)" } ?? "")" == "\(fifo.path) is a FIFO, not a regular file")
        let huge = work.appendingPathComponent("huge.theme")
        try Data(repeating: 0x23, count: (256 << 10) + 1).write(to: huge)
        let h = #expect(throws: (any Error).self) { try Theme.load(huge.path) }
        #expect("\(h.map { "\($0)" } ?? "")" == "\(huge.path) is 262145 bytes, over the 256 KiB limit for a theme file")
        let latin1 = work.appendingPathComponent("latin1.theme")
        try Data([0x23, 0xE9, 0x0A]).write(to: latin1)
        let l = #expect(throws: ThemeError.self) { try Theme.load(latin1.path) }
        #expect(l?.description == "\(latin1.path): not UTF-8 text")
    }

    @Test("--image on a FIFO ends at once with one line; the open prompt on one says why in the status line and goes on")
    func fifoPicture() throws {
        #expect(mkfifo(work.appendingPathComponent("fifo.png").path, 0o600) == 0)
        let model = fixtures.appendingPathComponent("pipeline/tiny").path
        func start(_ args: String) throws -> TmuxSession {
            let command = "env -u NO_COLOR -u COLORTERM TERM=tmux-256color LANG=C.UTF-8 \(ddimBinary) --model \(model) \(args); echo EXIT=$?; sleep 120"
            return try TmuxSession(command, directory: work.path, columns: 120, rows: 40)
        }
        let t = try start("--image fifo.png")
        defer { t.close() }
        #expect(try t.wait(timeout: 20) { $0.contains("fifo.png is a FIFO, not a regular file") && $0.contains("EXIT=1") }, "\(t.dump())")

        let v = try start("--steps 5 --paused")
        defer { v.close() }
        #expect(try v.wait { $0.contains("paused") }, "\(v.dump())")
        try v.send("o")
        #expect(try v.wait { $0.contains("open PNG") }, "\(v.dump())")
        try v.send("-l", "fifo.png")
        try v.send("Enter")
        #expect(try v.wait { $0.contains("fifo.png is a FIFO, not a regular file") }, "\(v.dump())")
        // still alive and answering keys
        try v.send("q")
        #expect(try v.wait { $0.contains("EXIT=0") }, "\(v.dump())")
    }
}
