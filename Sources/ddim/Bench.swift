import ArgumentParser
import Engine
import Foundation
import Imaging
import Tensors
import UNet

/// `ddim bench`: milliseconds per UNet forward, median of runs.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the UNet forward pass: median ms per forward and GFLOP/s.")

    @OptionGroup var model: ModelOptions

    @Option(name: .shortAndLong, help: "Batch size of each forward.")
    var batch = 1

    @Option(name: .long, help: "Timed runs (after one warm-up).")
    var runs = 10

    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false

    @Flag(name: .long, help: "Also time each kind of operation (3×3 conv, 1×1 conv, group norm, attention, …).")
    var profile = false

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be 1 or more (got \(batch))") }
        guard runs >= 1 else { throw ValidationError("--runs must be 1 or more (got \(runs))") }
    }

    func run() throws {
        let m = try model.load()
        let shape = [batch] + m.sampleShape()
        var noise = Tensor(shape: shape)
        for i in 0..<noise.count { noise.data[i] = Float(sin(Double(i) * 12.9898)) }
        let t = [Float](repeating: 500, count: batch)
        _ = try m.unet(noise, timesteps: t)
        var times: [Double] = []
        var ops = OpProfile()
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            if profile { _ = try m.unet.forward(noise, timesteps: t, profile: &ops) } else { _ = try m.unet(noise, timesteps: t) }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        times.sort()
        let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
        let flops = m.unet.flops(height: shape[2], width: shape[3]) * Double(batch)
        let gflops = flops / (median / 1e3) / 1e9
        if json {
            var object: [String: Any] = [
                "model": m.name, "batch": batch, "runs": runs, "median_ms": median, "min_ms": times[0],
                "gflop_per_forward": flops / 1e9, "gflops": gflops, "blas": blasDescription,
            ]
            if profile { object["profile_ms"] = Dictionary(uniqueKeysWithValues: ops.seconds.map { ($0.key.rawValue, $0.value * 1e3 / Double(runs)) }) }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            try StandardOutput.print(String(decoding: data, as: UTF8.self))
            return
        }
        try StandardOutput.print("\(m.name): batch \(batch), \(shape[1])×\(shape[2])×\(shape[3]), \(blasDescription)")
        try StandardOutput.print(String(format: "%.2f ms per forward (median of %d, min %.2f), %.1f GFLOP/s", median, runs, times[0], gflops))
        if profile {
            let total = ops.total
            for kind in OpKind.allCases {
                guard let s = ops.seconds[kind] else { continue }
                try StandardOutput.print(String(format: "  %-13@ %8.2f ms  %5.1f %%", kind.rawValue, s * 1e3 / Double(runs), 100 * s / total))
            }
        }
    }
}
