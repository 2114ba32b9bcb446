import ArgumentParser
import Engine
import Foundation
import Sampling

/// `--model DIR`: which model to run (the embedded digits model when absent).
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "A diffusers model folder (config.json + diffusion_pytorch_model.safetensors) or pipeline folder (model_index.json, unet/, scheduler/). Default: the embedded digits model.",
        valueName: "dir"))
    var model: String?

    @Option(name: .long, help: "Threads of each forward pass (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be 1 or more (got \(threads))") }
    }

    /// Loads the chosen model (and sets the thread count).
    func load() throws -> LoadedModel {
        if let threads { setThreads(threads) }
        guard let model else { return try ModelStore.loadDefault() }
        return try ModelStore.load(URL(fileURLWithPath: model))
    }
}

/// The parameters of one DDIM run.
struct SamplingOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Number of DDIM steps S (1…T).")
    var steps = 50

    @Option(name: .shortAndLong, help: ArgumentHelp(
        "Noise per step: η ≥ 0 (0 = deterministic DDIM, 1 = DDPM-like), or 'hat' for the paper's σ̂.", valueName: "eta"))
    var eta: EtaArgument = EtaArgument(level: .eta(0))

    @Option(name: .long, help: "Seed of the torch-compatible noise (x_T and the η-noise).")
    var seed: UInt64 = 0

    @Option(name: .shortAndLong, help: "Samples per run.")
    var batch = 1

    @Option(name: .long, help: "Timestep spacing: leading (diffusers' default), trailing, linspace or quad. Default: the scheduler config's.")
    var spacing: TimestepSpacing?

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be 1 or more (got \(steps))") }
        guard (1...4096).contains(batch) else { throw ValidationError("--batch must be between 1 and 4096 (got \(batch))") }
    }
}

/// η as typed on the command line: a number ≥ 0 or "hat" (σ̂).
struct EtaArgument: ExpressibleByArgument, Sendable {
    let level: NoiseLevel

    init(level: NoiseLevel) { self.level = level }

    init?(argument: String) {
        if argument.lowercased() == "hat" || argument == "σ̂" { level = .ddpmLarge; return }
        guard let v = Float(argument), v.isFinite, v >= 0 else { return nil }
        level = .eta(v)
    }

    var defaultValueDescription: String { "0" }
}

extension TimestepSpacing: ExpressibleByArgument {}

/// A comma-separated list on the command line: `--steps 10,20,50`.
struct CommaList<Element: ExpressibleByArgument>: ExpressibleByArgument {
    let values: [Element]

    init(_ values: [Element]) { self.values = values }

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var values: [Element] = []
        for part in parts {
            guard let v = Element(argument: part) else { return nil }
            values.append(v)
        }
        guard !values.isEmpty else { return nil }
        self.values = values
    }

    var defaultValueDescription: String { values.map { "\($0)" }.joined(separator: ",") }
}

extension EtaArgument: CustomStringConvertible {
    var description: String { level.label }
}

/// Checks a list of step counts against 1…T.
func checkSteps(_ steps: [Int], trainTimesteps: Int) throws {
    if let bad = steps.first(where: { $0 < 1 || $0 > trainTimesteps }) {
        throw ValidationError("--steps \(bad) is outside 1…\(trainTimesteps) (the model's training timesteps)")
    }
}

/// Refuses an output path whose folder does not exist, before any sampling.
func checkOutputFolder(_ path: String, flag: String) throws {
    let parent = (path as NSString).deletingLastPathComponent
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: parent.isEmpty ? "." : parent, isDirectory: &isDir), isDir.boolValue else {
        throw ValidationError("\(flag) \(path): the folder \(parent) does not exist")
    }
}
