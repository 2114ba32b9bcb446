import ArgumentParser
import Engine
import Foundation
import Imaging
import Tensors
import UNet
import Output

/// `ddim bench`: milliseconds per UNet forward, median of runs.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the UNet forward pass: median ms per forward and GFLOP/s.")

    @OptionGroup var model: ModelOptions

    @Option(name: .shortAndLong, help: "Batch size of each forward.")
    var batch = 1

    @Option(name: .long, help: "Timed runs (after one warm-up).")
    var runs = 10

    @OptionGroup var report: JSONOption

    @Flag(name: .long, help: "Also time each kind of operation (3×3 conv, 1×1 conv, group norm, attention, …).")
    var profile = false

    @Option(name: .long, help: "Stride-1 3×3 convolutions: winograd (the default; DDIM_CONV=im2col in the environment changes it) or im2col. The other one's output is also computed once, and the largest difference printed.")
    var conv: ConvChoice?

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be 1 or more (got \(batch))") }
        guard runs >= 1 else { throw ValidationError("--runs must be 1 or more (got \(runs))") }
    }

    func run() throws {
        var policy = ConvPolicy(environment: ProcessInfo.processInfo.environment)
        if let conv { policy.algorithm = conv == .winograd ? .winograd : .im2col }
        let m = try model.load(policy: policy, defaultClass: true)
        // a guided run's step is one forward of 2B: the class's half and the null class's
        let guided = m.stepsGuided
        let forwardBatch = guided ? 2 * batch : batch
        var labels = (m.classLabel ?? m.nullClass).map { [Int](repeating: $0, count: batch) }
        if guided, let null = m.nullClass { labels = (labels ?? []) + [Int](repeating: null, count: batch) }
        try checkMemory(m)
        let shape = [forwardBatch] + m.sampleShape()
        var x = Tensor(shape: shape)
        for i in 0..<x.count { x.data[i] = Float(sin(Double(i) * 12.9898)) }
        let t = [Float](repeating: 500, count: forwardBatch)
        // the other algorithm's output once, for the numerical difference of the fast path
        let chosen = policy.algorithm
        let other = try m.unet.forward(x, timesteps: t, classLabels: labels, algorithm: chosen == .winograd ? .im2col : .winograd)
        let output = try m.unet(x, timesteps: t, classLabels: labels)
        let difference = output.maxAbsDifference(other)
        let scale = output.data.reduce(0) { max($0, abs($1)) }
        var times: [Double] = []
        var ops = OpProfile()
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            if profile { _ = try m.unet.forward(x, timesteps: t, classLabels: labels, profile: &ops) } else { _ = try m.unet(x, timesteps: t, classLabels: labels) }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        times.sort()
        let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
        let flops = m.unet.flops(height: shape[2], width: shape[3]) * Double(forwardBatch)
        let gflops = flops / (median / 1e3) / 1e9
        if report.json {
            var object: [String: Any] = [
                "model": m.name, "batch": batch, "forward_batch": forwardBatch, "runs": runs, "median_ms": median, "min_ms": times[0],
                "gflop_per_forward": flops / 1e9, "gflops": gflops, "blas": blasDescription, "kernels": Threads.kernelPath, "precision": m.precision.rawValue,
                "conv": "\(chosen)", "conv_max_abs_difference": Double(difference), "output_max_abs": Double(scale),
            ]
            if profile { object["profile_ms"] = Dictionary(uniqueKeysWithValues: ops.seconds.map { ($0.key.rawValue, $0.value * 1e3 / Double(runs)) }) }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            try StandardOutput.print(String(decoding: data, as: UTF8.self))
            return
        }
        try StandardOutput.print("\(m.name): batch \(batch)\(guided ? " guided (w \(LoadedModel.label(guidance: m.guidance))): one forward of \(forwardBatch), the class's and the null class's" : ""), \(shape[1])×\(shape[2])×\(shape[3]), \(blasDescription)")
        try StandardOutput.print(String(format: "%.2f ms per forward (median of %d, min %.2f), %.1f GFLOP/s", median, runs, times[0], gflops))
        try StandardOutput.print(String(format: "3×3 convolutions by %@%@; the other algorithm's output differs by at most %.2g (outputs up to %.2g)",
                                        "\(chosen)", m.precision == .bf16 && chosen == .winograd ? " in bf16" : "", difference, scale))
        if profile {
            let total = ops.total
            for kind in OpKind.allCases {
                guard let s = ops.seconds[kind] else { continue }
                try StandardOutput.print(String(format: "  %-13@ %8.2f ms  %5.1f %%", kind.rawValue, s * 1e3 / Double(runs), 100 * s / total))
            }
        }
    }
}

/// `--conv`: the algorithm of stride-1 3×3 convolutions.
enum ConvChoice: String, ExpressibleByArgument, CaseIterable {
    case winograd, im2col
}
