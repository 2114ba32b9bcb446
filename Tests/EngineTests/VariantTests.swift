import Engine
import Sampling
import Foundation
import Imaging
import Tensors
import Testing

/// The UNet2DModel variants in public use (issue #20, docs/models.md), sampled end to end: each
/// against DDIMPipeline's loop in diffusers (`scripts/make_fixtures.py`: seed 0, batch 2, 10
/// steps, η 0.5, with the class label; for a learned variance ε is the first half of the
/// output), and the class label on the command line.
@Suite("UNet2DModel variants, sampled")
struct VariantTests {
    static let fixtureRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/unet")

    /// (fixture, class label) pairs with a DDIM golden.
    static let cases: [(String, Int?)] = [("resnet_updown_classes", 3), ("class_timestep", 7), ("learned_variance", nil), ("non_square", nil)]

    @Test("DDIM on each variant matches diffusers' loop within 2/255 a pixel", arguments: cases)
    func matchesDiffusers(name: String, label: Int?) throws {
        let folder = Self.fixtureRoot.appendingPathComponent(name)
        var model = try ModelStore.load(folder)
        model.classLabel = label
        try model.checkClassLabel()
        let outcome = try model.sample(SampleRequest(steps: 10, noise: .eta(0.5), seed: 0, batch: 2))
        let pictures = try ImageExport.images(outcome.sample)
        let golden = try SafeTensorsFile(url: folder.appendingPathComponent("ddim.safetensors")).tensor("images")
        #expect(golden.shape == outcome.sample.shape)
        // the golden in [0, 1] as ddim maps pixels: round(x·255)
        var worst = 0
        let (c, h, w) = (golden.shape[1], golden.shape[2], golden.shape[3])
        for (b, picture) in pictures.enumerated() {
            for ch in 0..<c {
                for y in 0..<h {
                    for x in 0..<w {
                        let want = Int((golden.data[((b * c + ch) * h + y) * w + x] * 255).rounded())
                        let got = Int(picture.pixels[(y * w + x) * c + ch])
                        worst = max(worst, abs(want - got))
                    }
                }
            }
        }
        #expect(worst <= 2, "\(name): largest pixel difference \(worst)/255")
    }

    @Test("--class-label: required for a class-conditional model, in its range, refused for an unconditional one, recorded in the PNG")
    func classLabelOnTheCommandLine() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-variants-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let conditional = Self.fixtureRoot.appendingPathComponent("resnet_updown_classes").path
        let out = work.appendingPathComponent("c.png").path
        let missing = try Run(["sample", "--model", conditional, "--steps", "2", "--out", out, "-q"])
        #expect(missing.status == 1 && missing.stderr.contains("class-conditional (10 classes): give --class-label 0…9"), "\(missing.stderr)")
        let outside = try Run(["sample", "--model", conditional, "--steps", "2", "--class-label", "10", "--out", out, "-q"])
        #expect(outside.status == 1 && outside.stderr.contains("--class-label 10 is not one of the model's 10 classes"), "\(outside.stderr)")
        let unconditional = try Run(["sample", "--model", Self.fixtureRoot.appendingPathComponent("non_square").path, "--class-label", "1",
                                     "--steps", "2", "--out", out, "-q"])
        #expect(unconditional.status == 1 && unconditional.stderr.contains("not class-conditional"), "\(unconditional.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out), "no PNG from a refused run")

        let ok = try Run(["sample", "--model", conditional, "--steps", "3", "--class-label", "4", "--out", out, "-q"])
        #expect(ok.status == 0, "\(ok.stderr)")
        let text = try PNGReader().readText(out)
        #expect(text.contains(PNGText("Class", "4")))
        let command = try #require(text.first { $0.key == "Command" }?.value)
        #expect(command.contains("--class-label 4"))
        // the label changes the picture
        let other = work.appendingPathComponent("d.png").path
        #expect(try Run(["sample", "--model", conditional, "--steps", "3", "--class-label", "5", "--out", other, "-q"]).status == 0)
        #expect(try PNGReader().read(out).pixels != PNGReader().read(other).pixels)
    }

    @Test("ddim info names what was inferred: classes, resnet resampling, a learned variance")
    func info() throws {
        let classes = try Run(["info", "--model", Self.fixtureRoot.appendingPathComponent("resnet_updown_classes").path])
        #expect(classes.status == 0 && classes.stdout.contains("classes: 10 (an embedding table)"), "\(classes.stdout)")
        #expect(classes.stdout.contains("↓2 by a resnet") && classes.stdout.contains("↑2 by a resnet"))
        let variance = try Run(["info", "--model", Self.fixtureRoot.appendingPathComponent("learned_variance").path])
        #expect(variance.status == 0 && variance.stdout.contains("learned variance"), "\(variance.stdout)")
    }

    @Test("the live sampler's class: set mid-run it takes effect from the next step (x_t kept, marked on the bar); the result is the headless run's for a class switched at that step")
    func liveClass() throws {
        var model = try ModelStore.load(Self.fixtureRoot.appendingPathComponent("resnet_updown_classes"))
        model.classLabel = 2
        var run = LiveRun(model: model, settings: LiveSettings(steps: 6, noise: .eta(0), spacing: .leading, seed: 5, batch: 1))
        #expect(run.snapshot.settings.classLabel == 2)
        for _ in 0..<3 { _ = run.step() }
        let xt = run.snapshot.sample
        run.apply(.setClass(7))
        #expect(run.snapshot.sample == xt && run.snapshot.stepsDone == 3 && run.snapshot.planChanges == [3])
        drain(&run)
        // the same by hand: 3 steps as class 2, then 3 as class 7
        model.classLabel = 2
        var sampler = try Sampler(model: model.denoiser, scheduler: model.ddim, shape: [1] + model.sampleShape(), steps: 6,
                                  noise: .eta(0), spacing: .leading, source: PerSampleNoise(firstSeed: 5, count: 1))
        for _ in 0..<3 { _ = try sampler.step() }
        model.classLabel = 7
        sampler.model = model.denoiser
        while try sampler.step() != nil {}
        #expect(run.snapshot.sample.maxAbsDifference(sampler.sample) == 0)
        // and a run of class 7 throughout differs
        model.classLabel = 7
        let whole = try model.sample(SampleRequest(steps: 6, noise: .eta(0), seeds: [5]))
        #expect(whole.sample.maxAbsDifference(sampler.sample) > 1e-4)
    }

    @Test("a folder with model_index.json beside a top-level config.json (google/ddpm-*'s first layout) is read as a model folder")
    func indexBesideConfig() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-index-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Self.fixtureRoot.appendingPathComponent("ddpm_style"), to: work)
        defer { try? FileManager.default.removeItem(at: work) }
        try Data(#"{"_class_name": "DDPMPipeline", "unet": ["diffusers", "UNet2DModel"], "scheduler": ["diffusers", "DDPMScheduler"]}"#.utf8)
            .write(to: work.appendingPathComponent("model_index.json"))
        let model = try ModelStore.load(work)
        #expect(model.unet.config.blockOutChannels == [8, 16])
        // with a unet/ folder it is a pipeline again, and a missing unet/config.json is named
        try FileManager.default.createDirectory(at: work.appendingPathComponent("unet"), withIntermediateDirectories: true)
        let e = #expect(throws: (any Error).self) { try ModelStore.load(work) }
        #expect("\(e.map { "\($0)" } ?? "")".contains("unet/config.json"))
    }
}
