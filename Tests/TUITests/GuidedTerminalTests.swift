import Foundation
import Imaging
import Testing

/// The live sampler on a model trained for classifier-free guidance (issue #23): it opens
/// unconditional, `l` cycles the classes and "any", `{` / `}` move w; the parameter line shows both,
/// and a saved PNG records them.
@Suite("Guidance in the live sampler (tmux)", .serialized)
struct GuidedTerminalTests {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-guided-tui-\(UUID().uuidString)")

    @Test("opens unconditional; l → class 0 … any; } and { move w from the next step; w saves Class and Guidance")
    func keys() throws {
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let model = fixtures.appendingPathComponent("guided_toy").path
        let command = "env -u NO_COLOR TERM=tmux-direct LANG=C.UTF-8 \(ddimBinary) --model \(model) --steps 20 --batch 2 --paused; echo EXIT=$?; sleep 120"
        let t = try TmuxSession(command, directory: work.path, columns: 120, rows: 40)
        defer { t.close() }
        #expect(try t.wait { $0.contains("paused") && $0.contains("class any") && $0.contains("w 1") }, "\(t.dump())")
        // tmux without allow-passthrough holds tiles to blocks, and the status line says so at start
        #expect(try t.wait { $0.contains("blocks: inside tmux") && $0.contains("allow-passthrough") }, "\(t.dump())")
        try t.send("l")
        #expect(try t.wait { $0.contains("class 0 of 3, from the next step") && $0.contains("class 0") }, "\(t.dump())")
        try t.send("}")
        #expect(try t.wait { $0.contains("guidance w 1.5, from the next step") && $0.contains("w 1.5") }, "\(t.dump())")
        try t.send(".")
        #expect(try t.wait { $0.contains("step 1/20") })
        try t.send("Space")
        #expect(try t.wait(timeout: 20) { $0.contains("done") && $0.contains("step 20/20") }, "\(t.dump())")
        try t.send("w")
        #expect(try t.wait { $0.contains("saved ddim-0-s20-e0-20.png") }, "\(t.dump())")
        let text = try PNGReader().readText(work.appendingPathComponent("ddim-0-s20-e0-20.png").path)
        #expect(text.contains(PNGText("Class", "0")) && text.contains(PNGText("Guidance", "1.5")), "\(text)")
        for _ in 0..<3 { try t.send("l") }
        #expect(try t.wait { $0.contains("any class (unconditional), from the next step") }, "\(t.dump())")
        try t.send("q")
        #expect(try t.wait { $0.contains("EXIT=0") })
    }
}
