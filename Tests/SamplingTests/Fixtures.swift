import Foundation
import Sampling
import Tensors

/// The shared golden files, found from this file's path.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func load<T: Decodable>(_ type: T.Type, _ path: String) throws -> T {
        let data = try Data(contentsOf: root.appendingPathComponent(path))
        return try JSONDecoder().decode(T.self, from: data)
    }
}

/// `Tests/Fixtures/randn.json` (scripts/make_fixtures.py, real torch).
struct RandnFixture: Decodable, Sendable {
    struct Draw: Decodable, Sendable {
        var shape: [Int]
        var values: [Double]
    }
    struct Case: Decodable, Sendable {
        var seed: UInt64
        var mt19937_first: [UInt32]
        var draws: [Draw]
    }
    var generator: String
    var cases: [Case]
}

/// `Tests/Fixtures/scheduler/cases.json` (scripts/make_fixtures.py, diffusers' DDIMScheduler).
struct SchedulerFixture: Decodable, Sendable {
    struct Step: Decodable, Sendable {
        var t: Int
        var sample: [Double]
        var model_output: [Double]
        var variance_noise: [Double]?
        var prev_sample: [Double]
        var pred_original_sample: [Double]
        var prev_t_diffusers: Int
        var prev_t_plan: Int
        var prev_sample_plan: [Double]
    }
    struct Case: Decodable, Sendable {
        var name: String
        var scheduler_config: SchedulerConfig
        var num_inference_steps: Int
        var eta: Double
        var use_clipped_model_output: Bool
        var timesteps: [Int]
        var final_alpha_cumprod: Double
        var alphas_cumprod: [Double]
        var shape: [Int]
        var steps: [Step]
    }
    var generator: String
    var cases: [Case]
}

extension Tensor {
    init(shape: [Int], doubles: [Double]) {
        self.init(shape: shape, data: doubles.map { Float($0) })
    }
}

/// The largest |a − b| / max(1, |b|) over two equal-length arrays: an absolute error for values
/// up to 1, a relative one above (float32 keeps ~7 digits of a large x̂₀ = x_t/√ᾱ_t).
func maxScaledDiff(_ a: [Float], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "lengths \(a.count) vs \(b.count)")
    return zip(a, b).map { abs(Double($0) - $1) / max(1, abs($1)) }.max() ?? 0
}

/// The largest |a − b| over two equal-length arrays.
func maxAbsDiff(_ a: [Float], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "lengths \(a.count) vs \(b.count)")
    return zip(a, b).map { abs(Double($0) - $1) }.max() ?? 0
}

/// `torch.manual_seed(seed); torch.randn(shape)`.
func randn(seed: UInt64, _ shape: [Int]) -> Tensor {
    var g = TorchRandom(seed: seed)
    return g.normal(shape: shape)
}
