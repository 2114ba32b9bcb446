import Foundation
import Tensors
import Testing
import UNet

/// The tiny model of Tests/Fixtures/pickle: the same weights as torch.save's zip and legacy
/// formats and as safetensors (scripts/make_fixtures.py, make_pickle).
@Suite("UNet2DModel from PyTorch checkpoints")
struct PickleWeightsTests {
    let folder = fixtures.appendingPathComponent("pickle")

    func model(_ weights: String) throws -> UNet2DModel {
        try UNet2DModel(configURL: folder.appendingPathComponent("config.json"), weightsURL: folder.appendingPathComponent(weights))
    }

    @Test("a forward pass from zip.bin and legacy.bin equals the one from safetensors bit for bit, and diffusers' to 1e-4")
    func forward() throws {
        let io = try SafeTensorsFile(url: folder.appendingPathComponent("io.safetensors"))
        let sample = try io.tensor("sample"), t = try io.tensor("timestep").data, want = try io.tensor("output")
        let reference = try model("expected.safetensors")(sample, timesteps: t)
        #expect(reference.maxAbsDifference(want) <= 1e-4)
        for weights in ["zip.bin", "legacy.bin"] {
            let m = try model(weights)
            #expect(m.parameterCount == (try model("expected.safetensors")).parameterCount)
            let got = try m(sample, timesteps: t)
            #expect(got.shape == reference.shape)
            #expect(got.data.map(\.bitPattern) == reference.data.map(\.bitPattern), "\(weights)")
        }
    }

    @Test("the weights parameter takes any WeightSource")
    func source() throws {
        let config = try UNetConfig.load(from: folder.appendingPathComponent("config.json"))
        let file: any WeightSource = try TorchCheckpointFile(url: folder.appendingPathComponent("zip.bin"))
        _ = try UNet2DModel(config: config, weights: file)
        // a checkpoint for another config is refused with the tensor named
        let other = try UNetConfig.load(from: fixtures.appendingPathComponent("unet/ddpm_style/config.json"))
        let error = #expect(throws: (any Error).self) { try UNet2DModel(config: other, weights: file) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("zip.bin: tensor 'conv_in.weight' has shape [4, 3, 3, 3], expected [8, 3, 3, 3]"))
    }
}
