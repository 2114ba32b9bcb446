import Foundation
import Imaging
import Tensors
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
    /// Standard output as bytes (a PNG streamed by `--out -`).
    let stdoutData: Data

    /// How the process ended: `.exit` or `.uncaughtSignal` (then `status` is the signal).
    let reason: Process.TerminationReason

    /// Runs `ddim arguments`. `closedStdout`: standard output is a pipe whose reading end is
    /// already closed (`ddim … | head -0`). `signal`: sent `after` seconds into the run.
    init(_ arguments: [String], closedStdout: Bool = false, signal: (Int32, after: Double)? = nil,
         environment: [String: String] = [:], unsetting: [String] = [], directory: String? = nil) throws {
        let p = Process()
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        p.executableURL = ddimBinary
        p.arguments = arguments
        if !environment.isEmpty || !unsetting.isEmpty {
            var merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            for name in unsetting { merged[name] = nil }
            p.environment = merged
        }
        let out = Pipe(), err = Pipe()
        if closedStdout { try out.fileHandleForReading.close() }
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        if let signal {
            Thread.sleep(forTimeInterval: signal.after)
            kill(p.processIdentifier, signal.0)
        }
        let o = closedStdout ? Data() : out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        (status, stdout, stderr) = (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
        stdoutData = o
        reason = p.terminationReason
    }

    /// The error line (ArgumentParser prefixes "Error: ").
    var errorLine: String { stderr.split(separator: "\n").first.map(String.init) ?? "" }
}

@Suite("The ddim command line")
final class CommandLineTests {
    let tiny = fixtures.appendingPathComponent("pipeline/tiny").path
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-cli-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: tmp) }

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

    @Test("sample closes with its sampling time on stderr; --quiet says nothing")
    func samplingTime() throws {
        let out = tmp.appendingPathComponent("timed.png").path
        let r = try Run(["sample", "--model", tiny, "--steps", "4", "--batch", "2", "--out", out])
        #expect(r.status == 0 && r.stdout.isEmpty, "\(r.stderr)")
        // "4 steps × 2 samples in 0.005 s  1.1 ms/step"
        let words = r.stderr.split(separator: "\n").last?.split(separator: " ").map(String.init) ?? []
        #expect(words.count == 10 && words.prefix(6) == ["4", "steps", "×", "2", "samples", "in"] && words.last == "ms/step", "\(r.stderr)")
        let (seconds, perStep) = (Double(words.count == 10 ? words[6] : "") ?? -1, Double(words.count == 10 ? words[8] : "") ?? -1)
        // the seconds are rounded to 0.001, the milliseconds a step to 0.1
        #expect(seconds > 0 && abs(perStep * 4 / 1e3 - seconds) <= 0.001, "\(r.stderr)")
        let quiet = try Run(["sample", "--model", tiny, "--steps", "4", "--out", out, "-q"])
        #expect(quiet.status == 0 && quiet.stderr.isEmpty, "\(quiet.stderr)")
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
        (["--threads", "0"], "--threads must be between 1 and 64"),
        (["--threads", "100000"], "--threads must be between 1 and 64"),
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

    @Test("a model whose weights make NaN stops with the step named, exit 1 and no PNG")
    func nanWeights() throws {
        let src = fixtures.appendingPathComponent("pipeline/tiny/unet/diffusion_pytorch_model.safetensors")
        let file = try SafeTensorsFile(url: src)
        var tensors: [String: Tensor] = [:]
        for name in file.entries.keys { tensors[name] = try file.tensor(name) }
        var bias = try #require(tensors["conv_out.bias"])
        bias.data[0] = .nan
        tensors["conv_out.bias"] = bias
        let dir = tmp.appendingPathComponent("nan-model")
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("pipeline/tiny/unet"), to: dir)
        try SafeTensorsWriter.write(tensors, to: dir.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        let out = tmp.appendingPathComponent("nan.png").path
        let r = try Run(["sample", "--model", dir.path, "--steps", "5", "--out", out])
        #expect(r.status != 0)
        #expect(r.errorLine.contains("step 1 of 5 (t = 800): the model's output holds 256 NaN"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
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
        // the two convolution algorithms agree on the tiny model's ε to 5e-5 (its outputs are ~1;
        // F(4×4, 3×3) at its 16×16 maps measured 1.1e-5, F(2×2) alone 1e-6)
        #expect(object?["conv"] as? String == "winograd")
        #expect((object?["conv_max_abs_difference"] as? Double ?? 1) <= 5e-5)
        #expect((object?["output_max_abs"] as? Double ?? 0) > 0.1)
        // the portable C kernel (what a CPU without AVX2 + FMA runs; DDIM_GENERIC_KERNEL=1 is the older
        // spelling of DDIM_KERNELS=portable), the AVX2 path forced (what an AVX2 CPU runs; the portable one
        // where the CPU lacks AVX2), F(2×2) only, 1 and 3 threads: each still agrees with the im2col path
        let cases: [([String: String], String, Set<String>)] = [
            (["DDIM_GENERIC_KERNEL": "1"], "2", ["portable"]), (["DDIM_KERNELS": "portable"], "2", ["portable"]),
            (["DDIM_KERNELS": "avx2"], "2", ["avx2", "portable"]), (["DDIM_WINOGRAD": "2x2"], "1", ["avx512", "avx2", "portable"]),
            ([:], "3", ["avx512", "avx2", "portable"]),
        ]
        for (env, threads, kernels) in cases {
            let run = try Run(["bench", "--model", tiny, "--runs", "1", "--json", "--threads", threads], environment: env)
            let o = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            #expect((o?["conv_max_abs_difference"] as? Double ?? 1) <= 5e-5, "\(env) \(threads): \(run.stdout)")
            #expect((o?["blas"] as? String ?? "").contains("\(threads) thread"), "\(run.stdout)")
            #expect(kernels.contains(o?["kernels"] as? String ?? ""), "\(env): \(run.stdout)")
        }
        let plain = try Run(["bench", "--model", tiny, "--runs", "1", "--conv", "im2col"])
        #expect(plain.status == 0 && plain.stdout.contains("by im2col"), "\(plain.stdout)")
        #expect(try Run(["bench", "--model", tiny, "--conv", "fft"]).errorLine.contains("--conv"))
    }

    @Test("OpenBLAS fallen back to pre-AVX2 kernels on an AVX2 CPU: ddim re-runs itself with OPENBLAS_CORETYPE")
    func blasCoreUpgrade() throws {
        // a core named in the environment the tests run in (a machine's OPENBLAS_CORETYPE) would
        // stand: the first case runs without it
        func blas(_ environment: [String: String]) throws -> String {
            let run = try Run(["bench", "--model", tiny, "--runs", "1", "--json"], environment: environment,
                              unsetting: environment["OPENBLAS_CORETYPE"] == nil ? ["OPENBLAS_CORETYPE"] : [])
            #expect(run.status == 0, "\(run.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            return object?["blas"] as? String ?? ""
        }
        // what OpenBLAS would have chosen on an unrecognised CPU model (its generic fallback)
        let pretended = try blas(["DDIM_ASSUME_BLAS_CORE": "Prescott"])
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? []
        if flags.contains("avx2") && flags.contains("fma") {
            let want = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) ? "SkylakeX" : "Haswell"
            #expect(pretended.contains("OpenBLAS \(want) inside"), "\(pretended)")
        } else {
            #expect(!pretended.contains("Haswell"), "\(pretended)")
        }
        // a core the user names stays, even a slow one
        let named = try blas(["OPENBLAS_CORETYPE": "Prescott", "DDIM_ASSUME_BLAS_CORE": "Prescott"])
        #expect(named.contains("OpenBLAS Prescott inside"), "\(named)")
    }

    @Test("the live sampler without a terminal points to ddim sample")
    func noTerminal() throws {
        let r = try Run(["--model", tiny])
        #expect(r.status != 0)
        #expect(r.errorLine.contains("ddim sample"), "\(r.stderr)")
    }
}

@Suite("compare, interpolate, invert, sweep and trajectories on the command line")
final class PromiseCommandTests {
    let tiny = fixtures.appendingPathComponent("pipeline/tiny").path
    let digit = fixtures.appendingPathComponent("digits/00000-class2.png").path
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-promises-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: tmp) }

    func path(_ name: String) -> String { tmp.appendingPathComponent(name).path }

    /// The tile at (row, column) of a grid of 16×16 tiles with 2-pixel padding.
    func tile(_ image: RGBImage, row: Int, column: Int, size: Int = 16) throws -> RGBImage {
        var pixels: [UInt8] = []
        for y in 0..<size {
            let start = ((2 + row * (size + 2) + y) * image.width + 2 + column * (size + 2)) * image.channels
            pixels += image.pixels[start..<(start + size * image.channels)]
        }
        return try RGBImage(width: size, height: size, channels: image.channels, pixels: pixels)
    }

    func maxDifference(_ a: RGBImage, _ b: RGBImage) -> Int {
        zip(a.pixels, b.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
    }

    @Test("compare: rows are samples, columns settings; each column is `ddim sample` with the same seed")
    func compare() throws {
        let out = path("cmp.png")
        let r = try Run(["compare", "--model", tiny, "--steps", "3,5", "--eta", "0,1", "--seed", "9", "--batch", "2", "--out", out, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let grid = try PNGReader().read(out)
        #expect(grid.width == 4 * 18 + 2 && grid.height == 2 * 18 + 2)
        let table = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect((table?["columns"] as? [Any])?.count == 4)
        #expect(table?["reference"] as? String == "S=5 η=1")
        // column 2 is S = 5, η = 0
        let single = path("s5.png")
        #expect(try Run(["sample", "--model", tiny, "--steps", "5", "--seed", "9", "--batch", "2", "--out", single]).status == 0)
        let sample = try PNGReader().read(single)  // 2 tiles side by side
        for row in 0..<2 {
            #expect(try tile(grid, row: row, column: 2) == (try tile(sample, row: 0, column: row)))
        }
    }

    @Test("interpolate: a strip of frames whose ends are the two seeds' samples")
    func interpolate() throws {
        let out = path("strip.png"), dir = path("frames")
        let r = try Run(["interpolate", "--model", tiny, "--seeds", "4,5", "--frames", "5", "--steps", "4", "--out", out, "--out-dir", dir])
        #expect(r.status == 0, "\(r.stderr)")
        let strip = try PNGReader().read(out)
        #expect(strip.width == 5 * 18 + 2 && strip.height == 18 + 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).count == 5)
        for (seed, column) in [(4, 0), (5, 4)] {
            let single = path("seed\(seed).png")
            #expect(try Run(["sample", "--model", tiny, "--steps", "4", "--seed", "\(seed)", "--out", single]).status == 0)
            // a batch of 5 and a batch of 1 group their GEMMs differently: within 1 level
            // a single sample is written without a border
            #expect(maxDifference(try tile(strip, row: 0, column: column), try PNGReader().read(single)) <= 1)
        }
        let bad = try Run(["interpolate", "--model", tiny, "--seeds", "4", "--out", out])
        #expect(bad.status != 0 && bad.errorLine.contains("--seeds takes two seeds"), "\(bad.stderr)")
    }

    @Test("invert: MSE table, strip, saved x_T that `sample --latent --no-clip` turns back into the reconstruction")
    func invert() throws {
        let recon = path("recon.png"), strip = path("inv.png"), latent = path("x.safetensors")
        let r = try Run(["invert", "--image", digit, "--steps", "20", "--out", recon, "--strip", strip, "--save-latent", latent])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("reconstruction MSE"))
        let row = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let mse = Double(row.split(separator: " ").dropFirst().first ?? "") ?? -1
        #expect(mse > 0 && mse < 0.1, "\(r.stdout)")
        let s = try PNGReader().read(strip)
        #expect(s.width == 3 * 34 + 2 && s.height == 34 + 2)
        let again = path("again.png")
        let g = try Run(["sample", "--latent", latent, "--steps", "20", "--no-clip", "--out", again])
        #expect(g.status == 0, "\(g.stderr)")
        #expect(try PNGReader().read(again) == (try PNGReader().read(recon)))
        let table = try Run(["invert", "--images", digit.components(separatedBy: "/").dropLast().joined(separator: "/"), "--limit", "2",
                             "--steps", "5,10", "--json"])
        #expect(table.status == 0, "\(table.stderr)")
        let rows = (try JSONSerialization.jsonObject(with: Data(table.stdout.utf8)) as? [String: Any])?["rows"] as? [[String: Any]]
        #expect(rows?.count == 2)
    }

    @Test("two inverted images interpolate through their saved x_T")
    func interpolateLatents() throws {
        let second = fixtures.appendingPathComponent("digits/00001-class5.png").path
        let a = path("a.safetensors"), b = path("b.safetensors"), both = path("both.safetensors")
        #expect(try Run(["invert", "--image", digit, "--steps", "10", "--save-latent", a, "-q"]).status == 0)
        #expect(try Run(["invert", "--image", second, "--steps", "10", "--save-latent", b, "-q"]).status == 0)
        let strip = path("blend.png")
        let r = try Run(["interpolate", "--latents", "\(a),\(b)", "--frames", "4", "--steps", "10", "--out", strip, "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        let image = try PNGReader().read(strip)
        #expect(image.width == 4 * 34 + 2 && image.height == 34 + 2)
        // a file with two latents is not an endpoint
        #expect(try Run(["invert", "--image", digit, "--image", second, "--steps", "5", "--save-latent", both, "-q"]).status == 0)
        let bad = try Run(["interpolate", "--latents", "\(a),\(both)", "--out", strip])
        #expect(bad.status != 0 && bad.errorLine.contains("holds 2 samples"), "\(bad.stderr)")
    }

    @Test("invert: bad input is one line naming the file or flag", arguments: [
        (["--steps", "10,20", "--out", "X"], "need a single --steps value"),
        (["--steps", "0"], "--steps 0 is outside 1…1000"),
    ])
    func invertBadFlags(extra: [String], message: String) throws {
        let r = try Run(["invert", "--image", digit] + extra.map { $0 == "X" ? path("x.png") : $0 })
        #expect(r.status != 0 && r.errorLine.contains(message), "\(r.stderr)")
    }

    @Test("invert --save-latent into a missing folder: one line naming the file, exit 1, nothing left behind")
    func saveLatentUnwritable() throws {
        let target = path("no-such-folder/z.safetensors")
        let r = try Run(["invert", "--image", digit, "--steps", "5", "--save-latent", target, "-q"])
        #expect(r.status != 0 && r.errorLine.contains(target), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: target))
        // into a folder that exists: the file and no temporary beside it
        let good = path("z.safetensors")
        #expect(try Run(["invert", "--image", digit, "--steps", "5", "--save-latent", good, "-q"]).status == 0)
        let names = try FileManager.default.contentsOfDirectory(atPath: (good as NSString).deletingLastPathComponent)
        #expect(names.contains("z.safetensors") && !names.contains { $0.contains(".tmp-") }, "\(names)")
    }

    @Test("invert: an image of the wrong size names the file and both sizes")
    func invertWrongSize() throws {
        let r = try Run(["invert", "--model", tiny, "--image", digit])
        #expect(r.status != 0)
        #expect(r.errorLine.contains(digit) && r.errorLine.contains("32×32") && r.errorLine.contains("16×16"), "\(r.stderr)")
    }

    @Test("sample --trajectory: a strip of x̂₀ over x_t and an animated PNG with x_T plus one frame per step")
    func trajectory() throws {
        let strip = path("t.png")
        let r = try Run(["sample", "--model", tiny, "--steps", "6", "--batch", "2", "--out", path("g.png"), "--trajectory", strip, "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        let image = try PNGReader().read(strip)
        // 2 samples × (x̂₀ row, x_t row), x_T + 6 steps per row
        #expect(image.width == 7 * 18 + 2 && image.height == 4 * 18 + 2)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path("t.apng"))))
        // acTL's frame count: the chunk follows IHDR and the text chunks
        let tag = Array("acTL".utf8)
        let at = (0..<(bytes.count - 8)).first { Array(bytes[$0..<($0 + 4)]) == tag }
        #expect(at.map { Int(bytes[$0 + 4]) << 24 | Int(bytes[$0 + 5]) << 16 | Int(bytes[$0 + 6]) << 8 | Int(bytes[$0 + 7]) } == 7)
    }

    @Test("sweep: one folder per cell, sample i from seed + i, resumable")
    func sweep() throws {
        let dir = path("sweep")
        let r = try Run(["sweep", "--model", tiny, "--steps", "2,4", "--eta", "0,hat", "--n", "3", "--batch", "2", "--seed", "20", "--out-dir", dir])
        #expect(r.status == 0, "\(r.stderr)")
        let cells = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(cells == ["s2-e0", "s2-ehat", "s4-e0", "s4-ehat", "sweep.json"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/s4-e0").sorted() == ["00000.png", "00001.png", "00002.png"])
        let single = path("seed22.png")
        #expect(try Run(["sample", "--model", tiny, "--steps", "4", "--seed", "22", "--out", single]).status == 0)
        #expect(maxDifference(try PNGReader().read(dir + "/s4-e0/00002.png"), try PNGReader().read(single)) <= 1)
        let again = try Run(["sweep", "--model", tiny, "--steps", "2,4", "--eta", "0,hat", "--n", "3", "--batch", "2", "--seed", "20", "--out-dir", dir])
        #expect(again.status == 0 && again.stdout.contains("(0 new)"), "\(again.stdout)")
    }

    @Test("a closed standard output: every file is still written whole, then one line says why, exit 1")
    func closedStdout() throws {
        let (grid, strip) = (path("piped.png"), path("piped-t.png"))
        let r = try Run(["sample", "--model", tiny, "--steps", "3", "--out", grid, "--trajectory", strip], closedStdout: true)
        #expect(r.status == 1 && r.reason == .exit)
        #expect(r.errorLine == "Error: cannot write standard output: Broken pipe", "\(r.stderr)")
        #expect(try PNGReader().read(grid).width == 16)
        #expect(try PNGReader().read(strip).width > 16)
        let info = try Run(["info", "--model", tiny], closedStdout: true)
        #expect(info.status == 1 && info.errorLine.contains("Broken pipe"), "\(info.stderr)")
        // no temporary file left beside the outputs
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path).filter { $0.hasPrefix(".") } == [])
    }

    @Test("Every signal that ends a process ends a headless run by that signal (128 + n), leaving no file behind",
          arguments: [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU, SIGVTALRM, SIGPROF, SIGSEGV, SIGBUS])
    func signals(_ sig: Int32) throws {
        let dir = path("signal-\(sig)")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let r = try Run(["sample", "--model", tiny, "--steps", "1000", "--batch", "64", "--out", dir + "/x.png", "-q"],
                        signal: (sig, after: 0.5))
        #expect(r.reason == .uncaughtSignal && r.status == sig, "\(r.reason) \(r.status) \(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == [])
    }
}
