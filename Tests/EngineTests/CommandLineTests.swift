import Foundation
import Imaging
import Testing

/// The built `ddim` beside this test binary (the test target depends on the executable).
let ddimBinary: URL = {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("ddim")
}()

/// Exit status, stdout and stderr of one `ddim` run (no terminal attached).
struct Run {
    let status: Int32
    let stdout: String
    let stderr: String

    init(_ arguments: [String]) throws {
        let p = Process()
        p.executableURL = ddimBinary
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        (status, stdout, stderr) = (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// The error line (ArgumentParser prefixes "Error: ").
    var errorLine: String { stderr.split(separator: "\n").first.map(String.init) ?? "" }
}

@Suite("The ddim command line")
struct CommandLineTests {
    let tiny = fixtures.appendingPathComponent("pipeline/tiny").path
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-cli-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true) }

    /// A copy of the tiny model's unet folder with one file replaced.
    func brokenModel(_ file: String, _ contents: Data) throws -> String {
        let dir = tmp.appendingPathComponent("model-\(file)")
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("pipeline/tiny/unet"), to: dir)
        try contents.write(to: dir.appendingPathComponent(file))
        return dir.path
    }

    @Test("sample writes a PNG grid that decodes and carries the parameters")
    func sampleGrid() throws {
        let out = tmp.appendingPathComponent("grid.png").path
        let r = try Run(["sample", "--model", tiny, "--steps", "5", "--batch", "3", "--seed", "7", "--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        let image = try PNGReader().read(out)
        // 3 tiles of 16×16 in 2 columns with 2-pixel padding.
        #expect(image.width > 32 && image.height > 32)
        let text = try PNGReader().readText(out)
        #expect(text.contains(PNGText("Steps", "5")))
        #expect(text.contains(PNGText("Seed", "7")))
    }

    @Test("sample --out-dir writes one PNG per sample")
    func sampleEach() throws {
        let dir = tmp.appendingPathComponent("each").path
        let r = try Run(["sample", "--model", tiny, "--steps", "3", "--batch", "2", "--eta", "1", "--out-dir", dir])
        #expect(r.status == 0, "\(r.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(files == ["00000.png", "00001.png"])
        let image = try PNGReader().read(dir + "/00001.png")
        #expect(image.width == 16 && image.height == 16 && image.channels == 3)
    }

    @Test("the same seed gives the same PNG; another seed does not")
    func reproducible() throws {
        let a = tmp.appendingPathComponent("a.png").path, b = tmp.appendingPathComponent("b.png").path
        let c = tmp.appendingPathComponent("c.png").path
        _ = try Run(["sample", "--model", tiny, "--steps", "4", "--seed", "3", "--out", a])
        _ = try Run(["sample", "--model", tiny, "--steps", "4", "--seed", "3", "--out", b])
        _ = try Run(["sample", "--model", tiny, "--steps", "4", "--seed", "4", "--out", c])
        #expect(try PNGReader().read(a) == (try PNGReader().read(b)))
        #expect(try PNGReader().read(a) != (try PNGReader().read(c)))
    }

    @Test("bad input: one line naming the file, field or flag; non-zero exit; no PNG", arguments: [
        (["--model", "/nonexistent/model"], "/nonexistent/model: no such folder"),
        (["--steps", "0"], "--steps must be 1 or more"),
        (["--steps", "1001"], "1001"),
        (["--batch", "0"], "--batch must be between 1 and 4096"),
        (["--eta", "abc"], "--eta"),
        (["--spacing", "cubic"], "--spacing"),
        (["--threads", "0"], "--threads must be 1 or more"),
    ])
    func badFlags(extra: [String], message: String) throws {
        let out = tmp.appendingPathComponent("bad.png").path
        var args = ["sample", "--model", tiny, "--out", out]
        if extra.first == "--model" { args.removeSubrange(1...2) }
        let r = try Run(args + extra)
        #expect(r.status != 0)
        #expect(r.errorLine.contains(message), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("broken model files are named in the error", arguments: [
        ("config.json", Data("{ \"block_out_channels\": ".utf8), "config.json: not valid JSON"),
        ("config.json", Data(#"{"_class_name": "UNet2DModel", "act_fn": "gelu"}"#.utf8), "act_fn = gelu is not supported"),
        ("diffusion_pytorch_model.safetensors", Data([0x10, 0, 0, 0, 0, 0, 0, 0, 0x7B]), "runs past the end of the file"),
        ("diffusion_pytorch_model.safetensors", Data([1, 2]), "file too short"),
    ])
    func brokenModel(file: String, contents: Data, message: String) throws {
        let dir = try brokenModel(file, contents)
        let out = tmp.appendingPathComponent("broken.png").path
        let r = try Run(["sample", "--model", dir, "--out", out])
        #expect(r.status != 0)
        #expect(r.errorLine.contains(dir + "/" + file), "\(r.stderr)")
        #expect(r.errorLine.contains(message), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("a truncated weights file names the tensor that runs past the end")
    func truncatedWeights() throws {
        let src = fixtures.appendingPathComponent("pipeline/tiny/unet/diffusion_pytorch_model.safetensors")
        let bytes = try Data(contentsOf: src)
        let dir = try brokenModel("diffusion_pytorch_model.safetensors", bytes.prefix(bytes.count / 2))
        let r = try Run(["info", "--model", dir])
        #expect(r.status != 0)
        #expect(r.errorLine.contains("diffusion_pytorch_model.safetensors: tensor '"), "\(r.stderr)")
        #expect(r.errorLine.contains("run past the end of the data"), "\(r.stderr)")
    }

    @Test("an unwritable output folder is an error before any sampling")
    func unwritable() throws {
        let r = try Run(["sample", "--model", tiny, "--out", "/nonexistent-dir/x.png"])
        #expect(r.status != 0)
        #expect(r.errorLine.contains("/nonexistent-dir"), "\(r.stderr)")
    }

    @Test("a model whose samples are not pictures (2 channels) is refused before sampling")
    func channels() throws {
        let out = tmp.appendingPathComponent("misc.png").path
        let r = try Run(["sample", "--model", fixtures.appendingPathComponent("unet/misc").path, "--out", out])
        #expect(r.status != 0)
        #expect(r.errorLine.contains("2 channels"), "\(r.stderr)")
    }

    @Test("info and bench describe the model")
    func infoAndBench() throws {
        let info = try Run(["info", "--model", tiny])
        #expect(info.status == 0)
        #expect(info.stdout.contains("parameters"))
        #expect(info.stdout.contains("GFLOP"))
        let bench = try Run(["bench", "--model", tiny, "--runs", "2", "--json", "--profile"])
        #expect(bench.status == 0, "\(bench.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(bench.stdout.utf8)) as? [String: Any]
        #expect((object?["median_ms"] as? Double ?? 0) > 0)
        #expect(object?["profile_ms"] != nil)
    }

    @Test("the live sampler without a terminal points to ddim sample")
    func noTerminal() throws {
        let r = try Run(["--model", tiny])
        #expect(r.status != 0)
        #expect(r.errorLine.contains("ddim sample"), "\(r.stderr)")
    }
}
