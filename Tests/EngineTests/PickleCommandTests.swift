import Foundation
import Tensors
import Testing

/// `ddim` on a model folder whose weights are a PyTorch checkpoint, and `ddim convert`.
@Suite("PyTorch checkpoints on the command line")
final class PickleCommandTests {
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-pickle-\(UUID().uuidString)")
    let pickle = fixtures.appendingPathComponent("pickle")

    init() throws { try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: tmp) }

    /// A model folder: the pickle fixture's config.json and `bin` as diffusion_pytorch_model.bin.
    func folder(_ bin: String) throws -> URL {
        let dir = tmp.appendingPathComponent(bin)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: pickle.appendingPathComponent("config.json"), to: dir.appendingPathComponent("config.json"))
        try FileManager.default.copyItem(at: pickle.appendingPathComponent(bin), to: dir.appendingPathComponent("diffusion_pytorch_model.bin"))
        return dir
    }

    @Test("info names the weights file and its format; convert writes safetensors equal to the checkpoint; a second convert needs --force",
          arguments: [("zip.bin", "PyTorch zip checkpoint"), ("legacy.bin", "PyTorch legacy checkpoint")])
    func convert(bin: String, format: String) throws {
        defer { try? FileManager.default.removeItem(at: tmp) }
        let dir = try folder(bin)
        let info = try Run(["info", "--model", dir.path])
        #expect(info.status == 0, "\(info.stderr)")
        #expect(info.stdout.contains("weights     diffusion_pytorch_model.bin  (\(format))"), "\(info.stdout)")
        let before = try Run(["sample", "--model", dir.path, "--steps", "2", "--out", tmp.appendingPathComponent("a.png").path, "--quiet"])
        #expect(before.status == 0, "\(before.stderr)")

        let run = try Run(["convert", dir.path])
        #expect(run.status == 0, "\(run.stderr)")
        let target = dir.appendingPathComponent("diffusion_pytorch_model.safetensors")
        #expect(run.stdout.contains("\(target.path): 144 tensors"), "\(run.stdout)")
        let converted = try SafeTensorsFile(url: target), truth = try SafeTensorsFile(url: pickle.appendingPathComponent("expected.safetensors"))
        #expect(converted.names == truth.names)
        #expect(converted.metadata == ["format": "pt"])
        for name in truth.names {
            #expect(try converted.tensor(name).data.map(\.bitPattern) == truth.tensor(name).data.map(\.bitPattern), "\(name)")
        }
        // the folder now loads the safetensors (read first) and samples the same image
        let after = try Run(["info", "--model", dir.path])
        #expect(after.stdout.contains("weights     diffusion_pytorch_model.safetensors  (safetensors)"), "\(after.stdout)")
        let again = try Run(["sample", "--model", dir.path, "--steps", "2", "--out", tmp.appendingPathComponent("b.png").path, "--quiet"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try Data(contentsOf: tmp.appendingPathComponent("a.png")) == Data(contentsOf: tmp.appendingPathComponent("b.png")))

        let refused = try Run(["convert", dir.path])
        #expect(refused.status != 0)
        #expect(refused.errorLine.contains("diffusion_pytorch_model.safetensors: already exists (give --force to replace it)"), "\(refused.stderr)")
        #expect(try Run(["convert", "--force", dir.path]).status == 0)
    }

    @Test("a checkpoint with a forbidden global: one line naming the file and the global, exit 1, nothing run")
    func forbidden() throws {
        defer { try? FileManager.default.removeItem(at: tmp) }
        let dir = try folder("zip.bin")
        var bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent("diffusion_pytorch_model.bin")))
        // "collections\nOrderedDict\n" → "posix\nsystem\n" padded: GLOBAL's lines have no length
        let old = Array("collections\nOrderedDict\n".utf8), new = Array("posix\nsystem\n".utf8)
        let at = try #require((0...(bytes.count - old.count)).first { Array(bytes[$0..<($0 + old.count)]) == old })
        bytes.replaceSubrange(at..<(at + old.count), with: new + Array(repeating: UInt8(0x4E), count: old.count - new.count))
        try Data(bytes).write(to: dir.appendingPathComponent("diffusion_pytorch_model.bin"))
        let r = try Run(["info", "--model", dir.path])
        #expect(r.status != 0)
        #expect(r.errorLine.contains("diffusion_pytorch_model.bin: data.pkl: global posix.system is not allowed"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }

    @Test("convert without a .bin names the file it looked for")
    func missing() throws {
        let r = try Run(["convert", tmp.path])
        #expect(r.status != 0)
        #expect(r.errorLine.contains("diffusion_pytorch_model.bin: no such file"), "\(r.stderr)")
    }
}
