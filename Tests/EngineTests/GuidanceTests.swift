import Engine
import Foundation
import Imaging
import Sampling
import Tensors
import Testing

/// Classifier-free guidance (issue #23): a model with a null class (`_ddim_null_class`), sampled
/// with ε̃ = ε_∅ + w·(ε_c − ε_∅). The golden is diffusers' UNet2DModel and DDIMScheduler with the
/// guided loop written out (`scripts/make_fixtures.py`, `unet/guided`: class 1, w 2.5, seed 0,
/// batch 2, 10 steps, η 0.5).
@Suite("Classifier-free guidance")
struct GuidanceTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/unet/guided")
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-guidance-\(UUID().uuidString)")

    func model(label: Int?, w: Float) throws -> LoadedModel {
        var m = try ModelStore.load(Self.folder)
        (m.classLabel, m.guidance) = (label, w)
        try m.checkClassLabel()
        return m
    }

    @Test("the guided sampler matches the guided loop in diffusers within 2/255 a pixel")
    func parity() throws {
        let m = try model(label: 1, w: 2.5)
        #expect(m.nullClass == 3 && m.drawableClasses == [0, 1, 2])
        let outcome = try m.sample(SampleRequest(steps: 10, noise: .eta(0.5), seed: 0, batch: 2))
        let golden = try SafeTensorsFile(url: Self.folder.appendingPathComponent("ddim_guided.safetensors")).tensor("images")
        #expect(golden.shape == outcome.sample.shape)
        let pictures = try ImageExport.images(outcome.sample)
        var worst = 0
        let plane = golden.shape[2] * golden.shape[3]
        for (b, picture) in pictures.enumerated() {
            for i in 0..<plane {
                let want = Int((golden.data[b * plane + i] * 255).rounded())
                worst = max(worst, abs(want - Int(picture.pixels[i])))
            }
        }
        #expect(worst <= 2, "largest pixel difference \(worst)/255")
    }

    @Test("w = 1 is the class's own ε, w = 0 the null class's, any other w their combination; no class is unconditional")
    func combination() throws {
        var noise = TorchRandom(seed: 9)
        let x = noise.normal(shape: [2, 1, 8, 8])
        let t = 420
        let cond = try model(label: 2, w: 1).denoiser.output(x, timestep: t)
        var unconditional = try ModelStore.load(Self.folder)
        unconditional.classLabel = nil
        let null = try unconditional.denoiser.output(x, timestep: t)
        #expect(cond.maxAbsDifference(null) > 1e-3, "the class changes ε")
        #expect(try model(label: 2, w: 0).denoiser.output(x, timestep: t).maxAbsDifference(null) == 0)
        for w: Float in [0.5, 2.5, 7] {
            let guided = try model(label: 2, w: w).denoiser.output(x, timestep: t)
            var want = Tensor(shape: x.shape)
            // ε̃ = ε_∅ + w·(ε_c − ε_∅)
            for i in 0..<want.count { want.data[i] = null.data[i] + w * (cond.data[i] - null.data[i]) }
            // one batch of 4 against two of 2: the GEMMs may round differently
            #expect(guided.maxAbsDifference(want) < 1e-4 * max(1, w), "w \(w)")
        }
    }

    @Test("refused, saying why: w without a null class, w without a class (headless), the null class as a label, w out of range")
    func refusals() throws {
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let out = work.appendingPathComponent("g.png").path
        let guided = Self.folder.path
        let classes = Self.folder.deletingLastPathComponent().appendingPathComponent("resnet_updown_classes").path
        let plain = Self.folder.deletingLastPathComponent().appendingPathComponent("non_square").path
        let cases: [([String], Int32, String)] = [
            (["--model", guided, "--guidance", "2"], 1, "--guidance 2 needs --class-label 0…2: without a class the samples are unconditional"),
            (["--model", guided, "--class-label", "3"], 1, "--class-label 3 is the model's null class (unconditional)"),
            (["--model", guided, "--class-label", "4"], 1, "--class-label 4 is not one of the model's 3 classes (0…2)"),
            (["--model", classes, "--class-label", "1", "--guidance", "2"], 1, "this model has no null class (config.json _ddim_null_class)"),
            (["--model", plain, "--guidance", "2"], 1, "this model is not class-conditional, so there is nothing to guide towards"),
            (["--model", guided, "--class-label", "1", "--guidance", "31"], 64, "--guidance must be between 0 and 30"),
            (["--model", guided, "--class-label", "1", "--guidance", "nan"], 64, "--guidance"),
        ]
        for (args, status, says) in cases {
            let r = try Run(["sample"] + args + ["--steps", "2", "--out", out, "-q"])
            #expect(r.status == status && r.stderr.contains(says), "\(args): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("recorded: the PNG's Class and Guidance, a Command that draws the same picture again; no class draws unconditionally")
    func records() throws {
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let out = work.appendingPathComponent("g.png").path
        let r = try Run(["sample", "--model", Self.folder.path, "--class-label", "2", "--guidance", "2.5", "--steps", "4", "--seed", "3",
                         "--out", out, "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        let text = try PNGReader().readText(out)
        #expect(text.contains(PNGText("Class", "2")) && text.contains(PNGText("Guidance", "2.5")))
        let command = try #require(text.first { $0.key == "Command" }?.value)
        #expect(command.contains("--class-label 2 --guidance 2.5"), "\(command)")
        // the Command again (its --out replaced) gives the same pixels
        var args = command.split(separator: " ").dropFirst().map(String.init)
        let again = work.appendingPathComponent("again.png").path
        args[args.count - 1] = again
        #expect(try Run(args + ["-q"]).status == 0)
        #expect(try PNGReader().read(again).pixels == PNGReader().read(out).pixels)

        // no class: unconditional, no Class or Guidance recorded, and not the guided picture
        let free = work.appendingPathComponent("free.png").path
        #expect(try Run(["sample", "--model", Self.folder.path, "--steps", "4", "--seed", "3", "--out", free, "-q"]).status == 0)
        let freeText = try PNGReader().readText(free)
        #expect(!freeText.contains { $0.key == "Class" || $0.key == "Guidance" })
        #expect(try PNGReader().read(free).pixels != PNGReader().read(out).pixels)
    }

    @Test("ddim bench times a guided step as what it is: one forward of 2B")
    func bench() throws {
        for (w, forward) in [("2", 6), ("1", 3)] {
            let r = try Run(["bench", "--model", Self.folder.path, "--class-label", "1", "--guidance", w, "--batch", "3", "--runs", "1", "--json"])
            #expect(r.status == 0, "\(r.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            #expect(report["batch"] as? Int == 3 && report["forward_batch"] as? Int == forward, "w \(w): \(report)")
        }
    }

    @Test("a sweep records w; a sweep of another w into its folder is refused")
    func sweep() throws {
        defer { try? FileManager.default.removeItem(at: work) }
        let dir = work.appendingPathComponent("sweep").path
        func run(_ w: String) throws -> Run {
            try Run(["sweep", "--model", Self.folder.path, "--class-label", "1", "--guidance", w, "--steps", "2", "--eta", "0",
                     "--n", "2", "--batch", "2", "--out-dir", dir, "-q"])
        }
        #expect(try run("2").status == 0)
        let record = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/sweep.json"))) as? [String: Any])
        #expect((record["settings"] as? [String: Any])?["guidance"] as? Double == 2)
        let other = try run("3")
        #expect(other.status == 1 && other.errorLine.contains("guidance 2 → 3"), "\(other.stderr)")
    }

    @Test("the live sampler's w: set mid-run it takes effect from the next step (x_t kept, marked on the bar), as the headless run switched there")
    func live() throws {
        var m = try model(label: 0, w: 1)
        var run = LiveRun(model: m, settings: LiveSettings(steps: 6, noise: .eta(0), spacing: .leading, seed: 5, batch: 1))
        #expect(run.snapshot.settings.guidance == 1)
        for _ in 0..<3 { _ = run.step() }
        let xt = run.snapshot.sample
        run.apply(.setGuidance(4))
        #expect(run.snapshot.sample == xt && run.snapshot.planChanges == [3] && run.snapshot.settings.guidance == 4)
        drain(&run)
        var sampler = try Sampler(model: m.denoiser, scheduler: m.ddim, shape: [1] + m.sampleShape(), steps: 6,
                                  noise: .eta(0), spacing: .leading, source: PerSampleNoise(firstSeed: 5, count: 1))
        for _ in 0..<3 { _ = try sampler.step() }
        m.guidance = 4
        sampler.model = m.denoiser
        while try sampler.step() != nil {}
        #expect(run.snapshot.sample.maxAbsDifference(sampler.sample) == 0)
        // and "any" (no class) from a guided run: unconditional from there
        run.apply(.setClass(nil))
        #expect(run.snapshot.settings.classLabel == nil)
    }
}
