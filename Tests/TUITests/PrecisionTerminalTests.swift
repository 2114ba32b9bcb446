import Foundation
import Imaging
import Testing
import Tensors

/// The live sampler under `--precision bf16`: the parameter line says so, and a saved PNG
/// records it (its Command draws the same picture with `ddim sample`).
@Suite("bf16 in the live sampler (tmux)",
       .enabled(if: ConvPolicy.Precision.bf16.supported, "skipped: this CPU (or its OS) lacks AVX-512 BF16"))
struct PrecisionTerminalTests {
    @Test("precision bf16 on the parameter line; w saves a PNG recording it")
    func parameterLine() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-precision-tui-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let command = "env -u NO_COLOR TERM=tmux-direct LANG=C.UTF-8 \(ddimBinary) --precision bf16 --steps 8 --batch 1 --paused; echo EXIT=$?; sleep 120"
        let t = try TmuxSession(command, directory: work.path, columns: 120, rows: 40)
        defer { t.close() }
        #expect(try t.wait { $0.contains("paused") && $0.contains("precision bf16") }, "\(t.dump())")
        try t.send("Space")
        #expect(try t.wait(timeout: 20) { $0.contains("done") && $0.contains("step 8/8") }, "\(t.dump())")
        try t.send("w")
        #expect(try t.wait { $0.contains("saved ddim-0-s8-e0-8.png") }, "\(t.dump())")
        let text = try PNGReader().readText(work.appendingPathComponent("ddim-0-s8-e0-8.png").path)
        #expect(text.contains(PNGText("Precision", "bf16")), "\(text)")
        #expect(text.contains { $0.key == "Command" && $0.value.contains("--precision bf16") }, "\(text)")
        try t.send("q")
        #expect(try t.wait { $0.contains("EXIT=0") })
    }
}
