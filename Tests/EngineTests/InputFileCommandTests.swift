import Foundation
import Imaging
import Tensors
import Testing

/// `ddim arguments`, killed if it is still running after `deadline` seconds (a reader that
/// blocks on a FIFO would otherwise hang the test run): exit status, stderr, whether it was killed.
func runWithDeadline(_ arguments: [String], deadline: Double = 20) throws -> (status: Int32, errorLine: String, lines: Int, killed: Bool) {
    let p = Process()
    p.executableURL = ddimBinary
    p.arguments = arguments
    let err = Pipe()
    p.standardOutput = FileHandle.nullDevice
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let pid = p.processIdentifier
    let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + deadline, execute: watchdog)
    let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    watchdog.cancel()
    let lines = e.split(separator: "\n")
    return (p.terminationStatus, lines.first.map(String.init) ?? "", lines.count, p.terminationReason == .uncaughtSignal)
}

@Suite("Every input file is read safely: FIFOs, folders, huge and hostile files on the command line")
final class InputFileCommandTests {
    let tiny = fixtures.appendingPathComponent("pipeline/tiny").path
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-inputs-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: tmp) }

    func path(_ name: String) -> String { tmp.appendingPathComponent(name).path }

    /// A copy of the tiny model's unet folder (a model folder) under `name`.
    func model(_ name: String) throws -> URL {
        let dir = tmp.appendingPathComponent(name)
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("pipeline/tiny/unet"), to: dir)
        return dir
    }

    /// The model's config.json with `key` set to the JSON `value`.
    func setConfig(_ dir: URL, _ key: String, _ value: String) throws {
        let url = dir.appendingPathComponent("config.json")
        var dict = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        dict[key] = try JSONSerialization.jsonObject(with: Data(value.utf8), options: .fragmentsAllowed)
        try JSONSerialization.data(withJSONObject: dict).write(to: url)
    }

    @Test("a FIFO given as --image, found by --images, or as --latent: one line at once, exit 1")
    func fifos() throws {
        let fifo = path("x.png")
        #expect(mkfifo(fifo, 0o600) == 0)
        let image = try runWithDeadline(["invert", "--model", tiny, "--image", fifo, "-q"])
        #expect(!image.killed && image.status == 1 && image.lines == 1, "\(image)")
        #expect(image.errorLine == "Error: \(fifo) is a FIFO, not a regular file")
        // a folder of pictures holding a FIFO named like one
        let folder = tmp.appendingPathComponent("pictures")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let inFolder = folder.appendingPathComponent("x.png").path
        #expect(mkfifo(inFolder, 0o600) == 0)
        let images = try runWithDeadline(["invert", "--model", tiny, "--images", folder.path, "-q"])
        #expect(!images.killed && images.status == 1 && images.errorLine == "Error: \(inFolder) is a FIFO, not a regular file", "\(images)")
        let latent = try runWithDeadline(["sample", "--model", tiny, "--latent", fifo, "--out", path("l.png")])
        #expect(!latent.killed && latent.status == 1 && latent.errorLine == "Error: \(fifo) is a FIFO, not a regular file", "\(latent)")
        #expect(!FileManager.default.fileExists(atPath: path("l.png")))
    }

    @Test("a model folder whose files are a FIFO, a folder or too large: one line naming the file")
    func modelFiles() throws {
        let fifoConfig = try model("fifo-config")
        let config = fifoConfig.appendingPathComponent("config.json").path
        try FileManager.default.removeItem(atPath: config)
        #expect(mkfifo(config, 0o600) == 0)
        let a = try runWithDeadline(["info", "--model", fifoConfig.path])
        #expect(!a.killed && a.status == 1 && a.errorLine == "Error: \(config) is a FIFO, not a regular file", "\(a)")

        let folderWeights = try model("folder-weights")
        let weights = folderWeights.appendingPathComponent("diffusion_pytorch_model.safetensors").path
        try FileManager.default.removeItem(atPath: weights)
        try FileManager.default.createDirectory(atPath: weights, withIntermediateDirectories: false)
        let b = try runWithDeadline(["info", "--model", folderWeights.path])
        #expect(!b.killed && b.status == 1 && b.errorLine == "Error: \(weights) is a directory, not a regular file", "\(b)")

        let hugeScheduler = try model("huge-scheduler")
        let scheduler = hugeScheduler.appendingPathComponent("scheduler_config.json")
        try Data(repeating: 0x20, count: 5 << 20).write(to: scheduler)
        let c = try runWithDeadline(["info", "--model", hugeScheduler.path])
        #expect(c.status == 1 && c.errorLine == "Error: \(scheduler.path) is 5242880 bytes, over the 4 MiB limit for a scheduler_config.json", "\(c)")
    }

    @Test("a model with sample_size [8, 16] samples 16-pixel-wide, 8-pixel-high pictures")
    func nonSquare() throws {
        let dir = try model("wide")
        try setConfig(dir, "sample_size", "[8, 16]")
        let out = path("wide.png")
        let r = try runWithDeadline(["sample", "--model", dir.path, "--steps", "3", "--out", out, "-q"])
        #expect(r.status == 0, "\(r)")
        let image = try PNGReader().read(out)
        #expect(image.width == 16 && image.height == 8)
        // a picture of that size inverts to an x_T of (1, 3, 8, 16), which samples back to 16 × 8
        let latent = path("wide.safetensors")
        let inv = try runWithDeadline(["invert", "--model", dir.path, "--image", out, "--steps", "3", "--save-latent", latent, "-q"])
        #expect(inv.status == 0, "\(inv)")
        #expect(try SafeTensorsFile(url: URL(fileURLWithPath: latent)).entries["x_T"]?.shape == [1, 3, 8, 16])
        let again = path("again.png")
        let s = try runWithDeadline(["sample", "--model", dir.path, "--latent", latent, "--steps", "3", "--no-clip", "--out", again, "-q"])
        #expect(s.status == 0, "\(s)")
        let picture = try PNGReader().read(again)
        #expect(picture.width == 16 && picture.height == 8)
    }

    @Test("inputs that made the NaN check blame the model now name their own file and field", arguments: [
        ("freq_shift", "4", "config.json: freq_shift = 4 is not supported"),
        ("beta_end", "0.999", "scheduler_config.json: scheduler config: beta_end = 0.999: ᾱ_t = ∏(1 − β) falls to"),
    ])
    func wrongCulprit(key: String, value: String, message: String) throws {
        let dir = try model("culprit-\(key)")
        if key == "beta_end" {
            let scheduler = fixtures.appendingPathComponent("pipeline/tiny/scheduler/scheduler_config.json")
            try FileManager.default.copyItem(at: scheduler, to: dir.appendingPathComponent("scheduler_config.json"))
            let url = dir.appendingPathComponent("scheduler_config.json")
            var dict = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            dict[key] = Double(value)
            try JSONSerialization.data(withJSONObject: dict).write(to: url)
        } else {
            try setConfig(dir, key, value)
        }
        let r = try runWithDeadline(["sample", "--model", dir.path, "--steps", "5", "--no-clip", "--out", path("c.png")])
        #expect(r.status == 1 && r.lines == 1 && r.errorLine.contains(dir.path + "/" + message), "\(r)")
        #expect(!r.errorLine.contains("broken"))
    }

    @Test("an x_T far outside what noise can be names the file and the tensor")
    func hugeLatent() throws {
        let url = tmp.appendingPathComponent("huge.safetensors")
        var x = Tensor(shape: [1, 3, 16, 16])
        x.data[5] = 1e30
        try SafeTensorsWriter.write(["x_T": x], to: url)
        let r = try runWithDeadline(["sample", "--model", tiny, "--latent", url.path, "--steps", "3", "--no-clip", "--out", path("h.png")])
        #expect(r.status == 1 && r.errorLine == "Error: \(url.path): tensor 'x_T' holds 1e+30 (element 5), far outside what noise can be (|x| ≤ 10000)", "\(r)")
    }
}
