import Foundation
import Testing

/// The live sampler's batch key under a memory limit: a batch that cannot fit is refused in the
/// status line, the run goes on at the batch it had.
@Suite("Live sampler: a batch that cannot fit", .serialized)
final class MemoryKeyTests {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-tui-memory-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: work) }

    @Test("+ past the limit: a status message, the batch unchanged, the app alive")
    func batchKey() throws {
        // the embedded digits model at 256×256: ~130 MB more for each sample of a batch
        let source = repository.appendingPathComponent("Sources/DefaultModel/digits")
        let model = work.appendingPathComponent("digits256")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        for name in ["diffusion_pytorch_model.safetensors", "scheduler_config.json"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: model.appendingPathComponent(name))
        }
        let config = try String(contentsOf: source.appendingPathComponent("config.json"), encoding: .utf8)
        try config.replacingOccurrences(of: "\"sample_size\": 32", with: "\"sample_size\": 256")
            .write(to: model.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        // between what batch 1 needs (~190 MB) and batch 2 (~320 MB); paused: no forward runs
        let command = "env DDIM_MEMORY_LIMIT=250000000 TERM=tmux-direct LANG=C.UTF-8 \(ddimBinary) --model \(model.path) --paused --steps 5; echo EXIT=$?; sleep 60"
        let t = try TmuxSession(command, directory: work.path)
        defer { t.close() }
        #expect(try t.wait { $0.contains("paused") && $0.contains("batch 1") }, "\(t.dump())")
        try t.send("+")
        #expect(try t.wait { $0.contains("batch 2 of digits256 (1×256×256) needs about") && $0.contains("(DDIM_MEMORY_LIMIT)") },
                "\(t.dump())")
        let screen = try t.screen()
        #expect(screen.contains("batch 1") && !screen.contains("EXIT="), "\(screen)")
        try t.send("q")
        #expect(try t.wait { $0.contains("EXIT=0") }, "\(t.dump())")
    }
}
