import Engine
import Foundation
import Imaging
import Sampling
import Tensors
import Testing

/// The words of a POSIX shell line, as far as a PNG's Command needs: blanks split, single quotes
/// and backslashes quote.
func shellWords(_ line: String) -> [String] {
    var words: [String] = [], word = "", inWord = false, quoted = false, escaped = false
    for c in line {
        if escaped { word.append(c); escaped = false; continue }
        if quoted {
            if c == "'" { quoted = false } else { word.append(c) }
        } else if c == "'" {
            quoted = true; inWord = true
        } else if c == "\\" {
            escaped = true; inWord = true
        } else if c == " " || c == "\t" {
            if inWord { words.append(word) }
            (word, inWord) = ("", false)
        } else {
            word.append(c); inWord = true
        }
    }
    if inWord { words.append(word) }
    return words
}

@Suite("Sample --seeds: saved grids drawn again from the command line")
final class SampleSeedsTests {
    let tiny = fixtures.appendingPathComponent("pipeline/tiny").path
    let model: LoadedModel
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-seeds-\(UUID().uuidString)")

    init() throws {
        model = try ModelStore.load(fixtures.appendingPathComponent("pipeline/tiny"))
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: tmp) }

    func path(_ name: String) -> String { tmp.appendingPathComponent(name).path }

    /// The value of `key` in a PNG's text.
    func value(_ key: String, in text: [PNGText]) -> String? { text.first { $0.key == key }?.value }

    /// Runs a PNG's Command (`ddim sample … --out sample.png`) with the output at `out`, on this
    /// process's OpenBLAS kernels: `ddim` (live or not) re-runs itself on a better core than the
    /// one OpenBLAS picks for a CPU it does not know, which this test process keeps, and the two
    /// kernels round differently.
    func runCommand(_ command: String, out: String) throws -> Run {
        var words = shellWords(command)
        #expect(words.prefix(2) == ["ddim", "sample"] && words.suffix(2) == ["--out", "sample.png"], "\(command)")
        words[words.count - 1] = out
        return try Run(Array(words.dropFirst()) + ["-q"], environment: ["OPENBLAS_CORETYPE": Threads.coreName])
    }

    @Test("a live run's saved grid (seeds 5, 6; η = 0.5; trailing) is drawn bit for bit by the Command it records")
    func liveGridReproduced() throws {
        let settings = LiveSettings(steps: 7, noise: .eta(0.5), spacing: .trailing, seed: 5, batch: 2)
        var run = LiveRun(model: model, settings: settings)
        drain(&run)
        #expect(run.snapshot.state == .done)
        for picture in [LivePicture.predicted, .sample] {
            let saved = path("live-\(picture).png")
            try run.snapshot.writeGrid(picture, model: model, to: saved)
            let text = try PNGReader().readText(saved)
            #expect(value("Seeds", in: text) == "5,6" && value("Seed", in: text) == "5" && value("Batch", in: text) == "2")
            #expect(value("Step", in: text) == "7/7" && value("Not reproduced", in: text) == nil)
            let command = try #require(value("Command", in: text))
            #expect(command.contains("--seeds 5,6") && command.contains("--eta 0.5") && command.contains("--spacing trailing"), "\(command)")
            let again = path("again-\(picture).png")
            let r = try runCommand(command, out: again)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(try PNGReader().read(again) == (try PNGReader().read(saved)))
            // and the command line's PNG records the same command
            #expect(try value("Command", in: PNGReader().readText(again)) == command)
        }
    }

    @Test("--seeds a,b is the live tiles' x₀ bit for bit; --seed a --batch 2 (one generator) is not")
    func seedsAreTheLiveTiles() throws {
        var run = LiveRun(model: model, settings: LiveSettings(steps: 5, noise: .eta(1), spacing: .leading, seed: 3, batch: 2))
        drain(&run)
        let perSample = try model.sample(SampleRequest(steps: 5, noise: .eta(1), seeds: [3, 4], spacing: .leading)).sample
        #expect(perSample == run.snapshot.sample)
        let pipeline = try model.sample(SampleRequest(steps: 5, noise: .eta(1), seed: 3, batch: 2, spacing: .leading)).sample
        #expect(pipeline.maxAbsDifference(perSample) > 0.01)
        // a tile depends on its seed alone, not on the batch around it
        let alone = try model.sample(SampleRequest(steps: 5, noise: .eta(1), seeds: [4], spacing: .leading)).sample
        // (to rounding: the batch's size changes how the kernels block their sums)
        #expect(alone.maxAbsDifference(perSample.slice(1).reshaped([1] + model.sampleShape())) <= 1e-3)
    }

    @Test("a save mid-run, or after a mid-run re-plan, records no Command but says why")
    func partialRunsSayWhy() throws {
        var run = LiveRun(model: model, settings: LiveSettings(steps: 6, noise: .eta(0), spacing: .leading, seed: 0, batch: 1), paused: true)
        run.apply(.stepOnce)
        drain(&run)
        var text = try run.snapshot.pngText(.predicted, model: model)
        #expect(!text.contains { $0.0 == "Command" } && text.contains { $0 == ("Step", "1/6") })
        #expect(text.contains { $0.0 == "Not reproduced" && $0.1.contains("step 1 of 6") })
        #expect(text.contains { $0.0 == "Run command" && $0.1.contains("--steps 6") })
        run.apply(.setSettings(steps: 3, noise: .eta(0), spacing: .leading))
        run.apply(.setPaused(false))
        drain(&run)
        #expect(run.snapshot.state == .done)
        text = try run.snapshot.pngText(.sample, model: model)
        #expect(!text.contains { $0.0 == "Command" } && text.contains { $0.0 == "Not reproduced" && $0.1.contains("plan changed") })
    }

    @Test("x̂₀ of the last step is not x₀ when ᾱ after it is not 1: that view records no Command, x_t does")
    func predictedIsNotX0() throws {
        let folder = tmp.appendingPathComponent("alpha-not-one")
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("pipeline/tiny"), to: folder)
        let config = folder.appendingPathComponent("scheduler/scheduler_config.json")
        let json = try String(contentsOf: config, encoding: .utf8)
        try json.replacingOccurrences(of: "\"steps_offset\"", with: "\"set_alpha_to_one\": false, \"steps_offset\"")
            .write(to: config, atomically: true, encoding: .utf8)
        let m = try ModelStore.load(folder)
        #expect(m.schedule.finalAlphaBar < 1)
        var run = LiveRun(model: m, settings: LiveSettings(steps: 4, noise: .eta(0), spacing: .leading, seed: 1, batch: 2))
        drain(&run)
        let predicted = try run.snapshot.pngText(.predicted, model: m), sample = try run.snapshot.pngText(.sample, model: m)
        #expect(!predicted.contains { $0.0 == "Command" } && predicted.contains { $0.0 == "Not reproduced" && $0.1.contains("not x₀") })
        #expect(sample.contains { $0.0 == "Command" } && !sample.contains { $0.0 == "Not reproduced" })
    }

    @Test("sample's own Command draws its PNG again: one generator (--seed --batch, σ̂, --no-clip) and --seeds")
    func headlessCommand() throws {
        for (args, expected) in [
            (["--seed", "7", "--batch", "3", "--eta", "hat", "--no-clip"], "--steps 4 --eta hat --seed 7 --batch 3 --no-clip"),
            (["--seeds", "9, 2,9"], "--steps 4 --seeds 9,2,9"),
        ] {
            let out = path("first.png"), again = path("again.png")
            let r = try Run(["sample", "--model", tiny, "--steps", "4", "--out", out, "-q"] + args,
                            environment: ["OPENBLAS_CORETYPE": Threads.coreName])
            #expect(r.status == 0, "\(r.stderr)")
            let command = try #require(try value("Command", in: PNGReader().readText(out)))
            #expect(command == "ddim sample --model \(model.folder.path) \(expected) --out sample.png")
            #expect(try runCommand(command, out: again).status == 0)
            #expect(try PNGReader().read(again) == (try PNGReader().read(out)))
        }
    }

    @Test("a run from a saved x_T records --latent and the seed of its η-noise in its Command, which draws it again")
    func latentCommand() throws {
        let latent = path("x_T.safetensors"), out = path("from-latent.png"), again = path("from-latent-again.png")
        try LatentFile.write(Tensor.concatenate([model.latent(seed: 1), model.latent(seed: 8)]), to: latent)
        let environment = ["OPENBLAS_CORETYPE": Threads.coreName]
        let r = try Run(["sample", "--model", tiny, "--steps", "3", "--eta", "1", "--seed", "2", "--latent", latent, "--out", out, "-q"],
                        environment: environment)
        #expect(r.status == 0, "\(r.stderr)")
        let text = try PNGReader().readText(out)
        let command = try #require(value("Command", in: text))
        #expect(command.hasSuffix("--steps 3 --eta 1 --latent \(latent) --seed 2 --out sample.png") && value("Latent", in: text) == latent, "\(command)")
        #expect(try runCommand(command, out: again).status == 0)
        #expect(try PNGReader().read(again) == (try PNGReader().read(out)))
    }

    /// Flags `--seeds` refuses, and what the error line says.
    static let refusals: [([String], String)] = [
        (["--seeds", "1,2", "--seed", "0"], "--seeds and --seed do not go together"),
        (["--seeds", "1,2", "-b", "2"], "--seeds and --batch do not go together"),
        (["--seeds", "1,2", "--latent", "x.safetensors"], "--seeds and --latent do not go together"),
        (["--seeds", ""], "--seeds is empty"),
        (["--seeds", "1,x"], "--seeds: 'x' is not a seed"),
        (["--seeds=1,-1"], "--seeds: '-1' is not a seed"),
        (["--seeds", "1,,2"], "--seeds: '' is not a seed"),
        (["--seeds", "18446744073709551616"], "is not a seed"),
        (["--seeds", tooMany], "--seeds gives 4097 seeds; at most 4096"),
    ]

    /// 4097 seeds, one more than --seeds takes.
    static let tooMany: String = (0..<4097).map { String($0) }.joined(separator: ",")

    @Test("--seeds with --seed, --batch or --latent, or a bad list: one line naming the flags, exit 64, no PNG", arguments: refusals)
    func refused(extra: [String], message: String) throws {
        let out = path("refused.png")
        let r = try Run(["sample", "--model", tiny, "--steps", "2", "--out", out] + extra)
        let line = r.errorLine
        #expect(r.status == 64, "\(r.stderr)")
        #expect(line.contains(message), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("shell words: quotes and backslashes")
    func words() {
        #expect(shellWords(#"ddim sample --model '/a b/it'\''s' x\ y"#) == ["ddim", "sample", "--model", "/a b/it's", "x y"])
    }
}
