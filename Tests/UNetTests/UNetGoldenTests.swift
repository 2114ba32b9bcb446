import Files
import Foundation
import Testing
import Tensors
import UNet

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

/// The UNet fixture cases written by scripts/make_fixtures.py (random weights, PyTorch outputs).
let unetCases = ["ddpm_style", "diffusers_defaults", "scale_shift", "legacy_attention", "misc",
                 // the variants in public use (issue #20; docs/models.md)
                 "training_example", "resnet_updown_classes", "class_timestep", "learned_variance", "non_square", "guided"]

func loadCase(_ name: String) throws -> UNet2DModel {
    let dir = fixtures.appendingPathComponent("unet/\(name)")
    return try UNet2DModel(configURL: dir.appendingPathComponent("config.json"),
                           weightsURL: dir.appendingPathComponent("diffusion_pytorch_model.safetensors"))
}

@Suite("UNet2DModel against PyTorch")
struct UNetGoldenTests {
    /// Max abs error ≤ 1e-4 against diffusers' float32 forward (Tests/Fixtures/README.md).
    @Test("forward matches diffusers", arguments: unetCases)
    func forward(name: String) throws {
        let model = try loadCase(name)
        let io = try SafeTensorsFile(url: fixtures.appendingPathComponent("unet/\(name)/io.safetensors"))
        let sample = try io.tensor("sample"), want = try io.tensor("output")
        let labels = io.entries["class_labels"] == nil ? nil : try io.tensor("class_labels").data.map { Int($0) }
        let got = try model(sample, timesteps: try io.tensor("timestep").data, classLabels: labels)
        #expect(got.shape == want.shape)
        let err = got.maxAbsDifference(want)
        let scale = want.data.map(abs).max() ?? 0
        #expect(err <= 1e-4, "\(name): max abs error \(err) (outputs up to \(scale))")
    }

    @Test("profiling does not change the result and times every kind used")
    func profile() throws {
        let model = try loadCase("ddpm_style")
        let io = try SafeTensorsFile(url: fixtures.appendingPathComponent("unet/ddpm_style/io.safetensors"))
        let sample = try io.tensor("sample"), t = try io.tensor("timestep").data
        var profile = OpProfile()
        let a = try model.forward(sample, timesteps: t, profile: &profile)
        #expect(a == (try model(sample, timesteps: t)))
        for kind in [OpKind.conv3x3, .conv1x1, .norm, .attention, .linear] { #expect(profile.seconds[kind] != nil, "\(kind)") }
    }

    @Test("wrong input shapes are refused with the expected shape")
    func badInput() throws {
        let model = try loadCase("ddpm_style")
        let c = model.config.inChannels
        for shape in [[1, c + 1, 16, 16], [1, c, 15, 16], [c, 16, 16]] {
            let e = #expect(throws: ModelError.self) { try model(Tensor(shape: shape), timesteps: [1]) }
            #expect(e?.reason.contains("does not fit") == true)
        }
    }
}

@Suite("Model folder errors")
final class UNetErrorTests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-unet-\(UUID().uuidString)")
    init() throws { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: dir) }

    /// The ddpm_style config with one field replaced, written to a temporary file.
    func config(_ key: String, _ json: String) throws -> URL {
        let src = fixtures.appendingPathComponent("unet/ddpm_style/config.json")
        var dict = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: src)) as? [String: Any])
        dict[key] = try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed)
        let url = dir.appendingPathComponent("config-\(key).json")
        try JSONSerialization.data(withJSONObject: dict).write(to: url)
        return url
    }

    @Test("unsupported config values name the field and what is supported", arguments: [
        ("down_block_types", #"["CrossAttnDownBlock2D", "DownBlock2D"]"#, "down_block_types = CrossAttnDownBlock2D is not supported"),
        ("resnet_time_scale_shift", #""spatial""#, "resnet_time_scale_shift = spatial is not supported (supported: default, scale_shift)"),
        ("time_embedding_type", #""fourier""#, "time_embedding_type = fourier is not supported: it is the Gaussian-Fourier embedding of score-SDE"),
        ("num_class_embeds", "0", "num_class_embeds = 0 is not supported (supported: 1…100000 classes)"),
        ("class_embed_type", #""identity""#, "class_embed_type = identity is not supported: it takes a class vector"),
        ("class_embed_type", #""projection""#, "class_embed_type = projection is not supported: it projects a class vector"),
        ("downsample_type", #""fir""#, "downsample_type = fir is not supported (supported: conv, resnet)"),
        ("up_block_types", #"["UpBlock2D", "SkipUpBlock2D"]"#, "up_block_types = SkipUpBlock2D is not supported (supported: UpBlock2D, AttnUpBlock2D, ResnetUpsampleBlock2D)"),
        ("norm_num_groups", #""eight""#, "field norm_num_groups has the wrong type"),
        ("block_out_channels", "[16]", "down_block_types has 2 entries but block_out_channels has 1"),
        ("sample_size", "[8, 16, 4]", "sample_size = [8, 16, 4] is not supported (an integer or [height, width])"),
        ("sample_size", #"[8, "16"]"#, "field sample_size has the wrong type"),
        ("sample_size", "[8, 0]", "sample_size = [8, 0] is not supported"),
        ("sample_size", "8.5", "field sample_size has the wrong type"),
        // block_out_channels[0] = 8: γ(t)'s frequencies divide by 4 − freq_shift
        ("freq_shift", "4", "freq_shift = 4 is not supported (supported: less than block_out_channels[0] / 2 = 4"),
        ("freq_shift", "40", "freq_shift = 40 is not supported"),
    ])
    func unsupported(key: String, value: String, message: String) throws {
        let url = try config(key, value)
        let e = #expect(throws: ModelError.self) { try UNetConfig.load(from: url) }
        #expect(e?.file == url.path)
        #expect(e?.reason.contains(message) == true, "\(e?.reason ?? "no error")")
    }

    @Test("class labels: a class-conditional model needs one per sample, within its classes; an unconditional one takes none")
    func classLabels() throws {
        let conditional = try loadCase("resnet_updown_classes")
        let x = Tensor(shape: [2, 3, 16, 16])
        for (labels, message) in [(nil, "class-conditional (10 classes): give a class label 0…9"), ([1], "1 class labels for a batch of 2"),
                                  ([0, 10], "class label 10 is not one of the model's 10 classes (0…9)"),
                                  ([-1, 0], "class label -1 is not one of the model's 10 classes")] as [([Int]?, String)] {
            let e = #expect(throws: ModelError.self) { try conditional(x, timesteps: [1, 1], classLabels: labels) }
            #expect(e?.reason.contains(message) == true, "\(e?.reason ?? "no error")")
        }
        let plain = try loadCase("ddpm_style")
        let e = #expect(throws: ModelError.self) { try plain(Tensor(shape: [1, 3, 16, 16]), timesteps: [1], classLabels: [0]) }
        #expect(e?.reason.contains("not class-conditional") == true)
        // the label matters: two labels, two outputs
        let one = try conditional(x, timesteps: [500, 500], classLabels: [1, 2])
        #expect(one.slice(0).maxAbsDifference(one.slice(1)) > 1e-3)
    }

    @Test("sample_size: an integer is square, [height, width] is kept as given")
    func sampleSize() throws {
        #expect(try UNetConfig.load(from: config("sample_size", "[8, 16]")).sampleSize == [8, 16])
        #expect(try UNetConfig.load(from: config("sample_size", "12")).sampleSize == [12, 12])
        #expect(try UNetConfig.load(from: config("sample_size", "null")).sampleSize == nil)
    }

    @Test("freq_shift below half the embedding width gives a finite embedding at every timestep")
    func freqShift() throws {
        // the largest accepted shift (3 of 4) and a negative one embed finitely; 4 divides by 0
        for shift in [3, -3] {
            let c = try UNetConfig.load(from: config("freq_shift", "\(shift)"))
            let gamma = timestepEmbedding([0, 1, 500, 999], width: c.blockOutChannels[0], flipSinToCos: true, freqShift: c.freqShift)
            #expect(gamma.data.allSatisfy { $0.isFinite }, "freq_shift \(shift)")
        }
        let broken = timestepEmbedding([0, 1, 500, 999], width: 8, flipSinToCos: true, freqShift: 4)
        #expect(!broken.data.allSatisfy { $0.isFinite })
    }

    @Test("weights that do not fit the config: missing, misshapen and unexpected tensors")
    func weights() throws {
        let base = fixtures.appendingPathComponent("unet/ddpm_style")
        let file = try SafeTensorsFile(url: base.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        var all: [String: Tensor] = [:]
        for n in file.names { all[n] = try file.tensor(n) }
        let config = try UNetConfig.load(from: base.appendingPathComponent("config.json"))
        func attempt(_ tensors: [String: Tensor]) throws -> String {
            let url = dir.appendingPathComponent("w.safetensors")
            try SafeTensorsWriter.write(tensors, to: url)
            let e = #expect(throws: SafeTensorsError.self) { _ = try UNet2DModel(config: config, weights: SafeTensorsFile(url: url)) }
            return e?.reason ?? ""
        }
        var missing = all
        missing["conv_out.bias"] = nil
        #expect(try attempt(missing) == "tensor 'conv_out.bias' is missing (expected shape [\(config.outChannels)])")
        var wrong = all
        wrong["conv_in.bias"] = Tensor(shape: [3])
        #expect(try attempt(wrong).hasPrefix("tensor 'conv_in.bias' has shape [3], expected"))
        var extra = all
        extra["class_embedding.weight"] = Tensor(shape: [2, 2])
        #expect(try attempt(extra) == "unexpected tensor 'class_embedding.weight' for this config")
    }

    @Test("missing and malformed config files")
    func files() throws {
        let missing = dir.appendingPathComponent("nope.json")
        #expect(throws: FileError.cannotOpen(path: missing.path, reason: "No such file or directory")) { try UNetConfig.load(from: missing) }
        // a FIFO named config.json is refused at once (it used to block for ever), a huge file unread
        let fifo = dir.appendingPathComponent("config.json")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        #expect(throws: FileError.notRegular(path: fifo.path, kind: "a FIFO")) { try UNetConfig.load(from: fifo) }
        let huge = dir.appendingPathComponent("huge.json")
        try Data(repeating: 0x20, count: (1 << 20) + 1).write(to: huge)
        #expect(throws: FileError.tooLarge(path: huge.path, size: (1 << 20) + 1, limit: UNetConfig.fileLimit)) { try UNetConfig.load(from: huge) }
        let bad = dir.appendingPathComponent("bad.json")
        try Data("{ not json".utf8).write(to: bad)
        #expect(throws: ModelError(file: bad.path, "not valid JSON")) { try UNetConfig.load(from: bad) }
    }
}
