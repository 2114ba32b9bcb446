import Foundation
import Tensors
import Testing
import UNet

/// The config-only view of a model that the memory budget works from: every tensor named and
/// shaped before the weights are opened, and a forward's peak that is at least what the
/// skip connections alone hold.
@Suite("UNetConfig's tensors and memory")
struct UNetMemoryTests {
    /// The checkpoint's names and shapes, with the legacy attention names (query, key, value,
    /// proj_attn) read as diffusers' current ones.
    func checkpointShapes(_ file: SafeTensorsFile) -> [String: [Int]] {
        let legacy = [".query.": ".to_q.", ".key.": ".to_k.", ".value.": ".to_v.", ".proj_attn.": ".to_out.0."]
        var shapes: [String: [Int]] = [:]
        for (name, entry) in file.entries {
            var n = name
            for (old, new) in legacy { n = n.replacingOccurrences(of: old, with: new) }
            shapes[n] = entry.shape
        }
        return shapes
    }

    static let folders = unetCases.map { "unet/\($0)" } + ["pipeline/tiny/unet", "../../Sources/DefaultModel/digits"]

    @Test("parameterShapes names every tensor of real checkpoints, with its shape", arguments: folders)
    func shapes(folder: String) throws {
        let dir = fixtures.appendingPathComponent(folder)
        let config = try UNetConfig.load(from: dir.appendingPathComponent("config.json"))
        let file = try SafeTensorsFile(url: dir.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        let listed = config.parameterShapes
        #expect(Set(listed.map(\.name)).count == listed.count, "a name listed twice")
        let want = checkpointShapes(file)
        let got = Dictionary(uniqueKeysWithValues: listed.map { ($0.name, $0.shape) })
        #expect(Set(got.keys) == Set(want.keys), "missing: \(Set(want.keys).subtracting(got.keys).sorted()); extra: \(Set(got.keys).subtracting(want.keys).sorted())")
        for (name, shape) in got { #expect(shape == want[name], "\(name)") }
        #expect(config.parameterCount == (try UNet2DModel(config: config, weights: file)).parameterCount)
    }

    /// The digits model's architecture (block_out_channels 32, 64, 64; 1×32×32).
    func digits() throws -> UNetConfig {
        try UNetConfig.load(from: fixtures.appendingPathComponent("../../Sources/DefaultModel/digits/config.json"))
    }

    @Test("a forward's peak holds at least every skip at once, and at most a few times that")
    func peakAgainstSkips() throws {
        let c = try digits()
        for batch in [1, 16, 256] {
            // what the down path keeps for the up path: conv_in, each resnet (or attention) and
            // each downsample output, all alive when the up blocks start — 4 bytes a float
            var skips = c.blockOutChannels[0] * 32 * 32
            var side = 32
            for (i, channels) in c.blockOutChannels.enumerated() {
                skips += c.layersPerBlock * channels * side * side
                if i < c.blockOutChannels.count - 1 { side /= 2; skips += channels * side * side }
            }
            let skipBytes = 4 * batch * skips
            let peak = c.memory(batch: batch, height: 32, width: 32, threads: 2).forwardPeak
            #expect(peak >= skipBytes, "batch \(batch): peak \(peak) below the skips' \(skipBytes)")
            #expect(peak <= 4 * skipBytes + (16 << 20), "batch \(batch): peak \(peak) against the skips' \(skipBytes)")
        }
    }

    @Test("the peak grows with the batch about linearly, and with the picture's area")
    func scaling() throws {
        let c = try digits()
        let one = c.memory(batch: 64, height: 32, width: 32, threads: 2).forwardPeak
        let two = c.memory(batch: 128, height: 32, width: 32, threads: 2).forwardPeak
        #expect(Double(two) / Double(one) > 1.8 && Double(two) / Double(one) < 2.05, "\(one) → \(two)")
        let big = c.memory(batch: 64, height: 64, width: 64, threads: 2).forwardPeak
        #expect(Double(big) / Double(one) > 3.5, "\(one) → \(big) at 4× the pixels")
    }

    @Test("weights: the Winograd planes of the 3×3 layers count, a model's share of F(4×4) with its maps")
    func weights() throws {
        var c = try digits()
        let params = 4 * c.parameterCount
        let small = c.memory(batch: 1, height: 32, width: 32, threads: 1).weights
        // 3×3 weights become 16 or 36 planes of 9 (F(2×2) or F(4×4)): more than the checkpoint
        #expect(small > params && small < 4 * params, "\(small) for \(params) bytes of parameters")
        // at 8 px every level gets F(2×2) (16/9) and keeps the originals for im2col: fewer bytes than at 32 px (F(4×4), 36/9)
        c.sampleSize = [8, 8]
        let tiny = c.memory(batch: 1, height: 8, width: 8, threads: 1).weights
        #expect(tiny < small, "\(tiny) at 8 px against \(small) at 32 px")
    }
}
