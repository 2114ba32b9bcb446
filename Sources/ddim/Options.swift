import ArgumentParser
import Engine
import Foundation
import Hub
import Imaging
import Sampling
import Tensors
import Output

/// `--model DIR|org/name[@revision]`: which model to run (the embedded digits model when absent).
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "A diffusers model folder (config.json + diffusion_pytorch_model.safetensors or .bin) or pipeline folder (model_index.json, unet/, scheduler/), or a Hugging Face hub name org/name[@revision] (google/ddpm-cifar10-32), read from the hub cache diffusers uses (HF_HUB_CACHE, HF_HOME) and downloaded into it when missing (HF_HUB_OFFLINE=1: never; HF_TOKEN, HF_ENDPOINT honoured). A path that exists is always a folder. Default: the embedded digits model.",
        valueName: "dir|org/name"))
    var model: String?

    @Option(name: .long, help: "Threads of each forward pass (default: all cores).")
    var threads: Int?

    @Option(name: .customLong("class-label"), help: ArgumentHelp(
        "The class to draw, for a class-conditional model (num_class_embeds): 0…classes − 1. Required by the headless commands for such a model, unless it was trained for guidance (a null class: then without it the samples are unconditional); the live sampler starts at 0, or unconditional.",
        valueName: "n"))
    var classLabel: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Classifier-free guidance weight w for a model with a null class: ε = ε_∅ + w·(ε_c − ε_∅); 1 = the class as trained, 0 = unconditional, more = more like the class (0…30). (default: 1)",
        valueName: "w"))
    var guidance: Float?

    @Option(name: .long, help: ArgumentHelp(
        "Arithmetic of the convolutions' products (Winograd and GEMM): fp32, or bf16 — both operands rounded to bfloat16, sums in float, on CPUs with AVX-512 BF16 only: faster (docs/performance.md: 1.4× a cifar10-32 or celebahq-256 forward on a Zen 5, little for small models), planes in half the memory; the first and last convolutions stay in float. Samples are close to fp32's, not the same (the embedded model: 0.5/255 apart on average, digit-FID unchanged). DDIM_PRECISION=bf16 asks the same. (default: fp32)",
        valueName: "fp32|bf16"))
    var precision: ConvPolicy.Precision?

    func validate() throws {
        if let precision, !precision.supported { throw Self.unsupported("--precision \(precision.rawValue)") }
        if let threads, !(1...64).contains(threads) {
            throw ValidationError("--threads must be between 1 and 64, the most ddim's pool runs (got \(threads))")
        }
        if let guidance, !LoadedModel.guidanceRange.contains(guidance) {
            throw ValidationError("--guidance must be between 0 and 30 (got \(guidance))")
        }
    }

    /// The refusal of a precision this CPU (or DDIM_KERNELS) does not run, `asked` naming how it was asked for.
    static func unsupported(_ asked: String) -> ValidationError {
        ValidationError("\(asked) needs AVX-512 BF16 (avx512_bf16 in /proc/cpuinfo) and ddim's AVX-512 kernels: this CPU lacks them, or DDIM_KERNELS asks for others; fp32 runs everywhere")
    }

    /// Loads the chosen model (and sets the thread count), its convolutions under `policy`
    /// (by default the environment's: `DDIM_CONV`, `DDIM_WINOGRAD`, `DDIM_PRECISION`; `--precision`
    /// over it), with `--class-label`
    /// checked against it. `defaultClass`: a class-conditional model without `--class-label`
    /// draws class 0 (the live sampler, `ddim bench`) rather than being refused.
    func load(policy given: ConvPolicy = ConvPolicy(environment: ProcessInfo.processInfo.environment), defaultClass: Bool = false) throws -> LoadedModel {
        if let threads { setThreads(threads) }
        var policy = given
        if let precision { policy.precision = precision }
        guard policy.precision.supported else { throw Self.unsupported("DDIM_PRECISION=\(policy.precision.rawValue)") }
        var m: LoadedModel
        if let model {
            var progress: (@Sendable (HubProgress) -> Void)?
            if isatty(2) == 1 {
                let bar = DownloadProgress()
                progress = { event in bar.report(event) }
            }
            m = try ModelStore.load(model: model, environment: ProcessInfo.processInfo.environment,
                                    progress: progress, policy: policy)
        } else {
            m = try ModelStore.loadDefault(policy: policy)
        }
        // a guided model (null class) starts unconditional; another class-conditional one at class 0
        m.classLabel = classLabel ?? (defaultClass && m.classCount != nil && m.nullClass == nil ? 0 : nil)
        m.guidance = guidance ?? 1
        try m.checkClassLabel(live: defaultClass)
        return m
    }
}

/// The parameters of one DDIM run.
struct SamplingOptions: ParsableArguments {
    // optional, so that a command can tell a flag given from its default (`sample --seeds`, and
    // the live sampler's config file, which flags override)
    @Option(name: [.customShort("s"), .customLong("steps")], help: ArgumentHelp("Number of DDIM steps S (1…T). (default: 50)", valueName: "steps"))
    var givenSteps: Int?

    @Option(name: [.customShort("e"), .customLong("eta")], help: ArgumentHelp(
        "Noise per step: η ≥ 0 (0 = deterministic DDIM, 1 = DDPM-like; at most where σ_t reaches √(1 − ᾱ_{t−1}), ≥ 1), or 'hat' for the paper's σ̂. (default: 0)", valueName: "eta"))
    var givenEta: EtaArgument?

    /// `--steps`, 50 when not given.
    var steps: Int { givenSteps ?? 50 }
    /// `--eta`, 0 when not given.
    var eta: EtaArgument { givenEta ?? EtaArgument(level: .eta(0)) }

    @Option(name: .customLong("seed"), help: ArgumentHelp("Seed of the torch-compatible noise (x_T and the η-noise). (default: 0)", valueName: "seed"))
    var givenSeed: UInt64?

    @Option(name: [.customShort("b"), .customLong("batch")], help: ArgumentHelp("Samples per run. (default: 1)", valueName: "batch"))
    var givenBatch: Int?

    /// `--seed`, 0 when not given.
    var seed: UInt64 { givenSeed ?? 0 }
    /// `--batch`, 1 when not given.
    var batch: Int { givenBatch ?? 1 }

    @OptionGroup var timesteps: SpacingOption

    /// `--spacing`, when given.
    var spacing: TimestepSpacing? { timesteps.spacing }

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be 1 or more (got \(steps))") }
        guard (1...4096).contains(batch) else { throw ValidationError("--batch must be between 1 and 4096 (got \(batch))") }
    }
}

/// The help of a command's ``PNGOutputs``: what its `--out` PNG holds, what `--out-dir` is for.
protocol PNGOutputHelp {
    static var out: String { get }
    static var outDir: String { get }
}

/// `--out PNG` (all images in one picture) and `--out-dir DIR` (one PNG per image, 00000.png, …).
struct PNGOutputs<Help: PNGOutputHelp>: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp(Help.out, valueName: "png"))
    var out: String?

    @Option(name: .long, help: ArgumentHelp(Help.outDir, valueName: "dir"))
    var outDir: String?

    /// Adds both outputs to `plan`, the folder's `count` numbered files with it.
    func plan(_ plan: inout OutputPlan, count: Int) throws {
        try plan.file(out, flag: "--out")
        try plan.folder(outDir, flag: "--out-dir", names: (0..<count).map { String(format: "%05d.png", $0) })
    }
}

/// The default grid of a ``GridOptions`` command.
protocol GridDefaults {
    static var steps: [Int] { get }
    static var etas: [EtaArgument] { get }
}

/// The (S, η) grid of `compare` and `sweep`: `--steps` × `--eta`, with `--spacing` and `--no-clip`.
struct GridOptions<Defaults: GridDefaults>: ParsableArguments {
    @Option(name: .shortAndLong, help: "Step counts, comma-separated.")
    var steps = CommaList(Defaults.steps)

    @Option(name: .shortAndLong, help: ArgumentHelp("Noise levels, comma-separated: η ≥ 0 or 'hat' (σ̂).", valueName: "etas"))
    var eta = CommaList(Defaults.etas)

    @OptionGroup var timesteps: SpacingOption

    @OptionGroup var clip: ClipOption

    /// The grid's cells, every η for each S in turn.
    var cells: [(steps: Int, noise: NoiseLevel)] { steps.values.flatMap { s in eta.values.map { (s, $0.level) } } }

    /// Applies `--no-clip` to `model` and checks every cell against it (steps within 1…T, each
    /// η with its S and spacing).
    func check(_ model: inout LoadedModel) throws {
        clip.apply(to: &model)
        try checkSteps(steps.values, trainTimesteps: model.schedule.trainTimesteps)
        for c in cells { try model.check(noise: c.noise, steps: c.steps, spacing: timesteps.spacing) }
    }
}

/// `--json`: the command's report as one JSON object on standard output.
struct JSONOption: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false
}

/// `--spacing`: how the S timesteps are chosen among the T of training.
struct SpacingOption: ParsableArguments {
    @Option(name: .long, help: "Timestep spacing: leading (diffusers' default), trailing, linspace or quad. Default: the scheduler config's.")
    var spacing: TimestepSpacing?
}

/// `--no-clip`: the paper's sampler, x̂₀ left unclipped whatever the scheduler config says.
struct ClipOption: ParsableArguments {
    @Flag(name: .long, help: "Do not clip x̂₀ (the scheduler config's clip_sample): the paper's sampler, which keeps S = 1000 consistent with small S.")
    var noClip = false

    /// Turns the model's clipping off when `--no-clip` was given.
    func apply(to model: inout LoadedModel) {
        if noClip { model.scheduler.clipSample = false }
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

/// A bad output path, found before any sampling: "--out x/y.png: the folder x does not exist".
struct OutputError: Error, CustomStringConvertible {
    let description: String
}

/// The files a command will write, checked before any sampling is spent on them: each path must
/// resolve to something writable (``OutputPath``), and no two outputs may land on the same file
/// (the last write would silently win). When one of them is standard output (`-`, or a path that
/// is the same pipe or file), the command's report lines go to standard error instead.
struct OutputPlan {
    private var seen: [OutputIdentity: String] = [:]
    /// Existing files among the outputs, and the inputs, by inode.
    private var outputNodes: [FileNode: String] = [:], inputNodes: [FileNode: String] = [:]

    /// Adds an input file given by `flag`: no output may overwrite it (an input may be read twice).
    mutating func input(_ path: String?, flag: String) throws {
        guard let path, let node = FileNode(path) else { return }
        if let earlier = outputNodes[node] { throw Self.clash(earlier, "\(flag) \(path)") }
        inputNodes[node] = inputNodes[node] ?? "\(flag) \(path)"
    }

    /// Adds the file `path` given by `flag` (nothing when `path` is nil).
    mutating func file(_ path: String?, flag: String) throws {
        guard let path else { return }
        let destination: OutputDestination
        do { destination = try OutputPath.resolve(path) } catch {
            throw OutputError(description: "\(flag) \(OutputPath.display(path)): \(error.reason)")
        }
        try claim(destination, as: "\(flag) \(path)")
        // `-`, or a path that is standard output's own pipe or device (`/dev/stdout`)
        let identity = OutputIdentity(destination)
        if destination == .standardOutput || (identity != nil && identity == OutputIdentity(.standardOutput)) {
            StandardOutput.divertToStandardError()
        }
    }

    /// Adds the folder `path` given by `flag` (created when missing), into which the command
    /// writes `names`.
    mutating func folder(_ path: String?, flag: String, names: [String]) throws {
        guard let path else { return }
        guard !path.isEmpty else { throw OutputError(description: "\(flag): the path is empty") }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw OutputError(description: "\(flag) \(OutputPath.display(path)): it is a file, not a folder") }
            for name in names { try file(OutputPath.join(path, name), flag: flag) }
        } else if let missing = Self.firstMissingAncestorProblem(path) {
            throw OutputError(description: "\(flag) \(OutputPath.display(path)): \(missing)")
        }
    }

    /// Records a destination; two flags on one file are refused.
    private mutating func claim(_ destination: OutputDestination, as label: String) throws {
        guard let identity = OutputIdentity(destination) else { return }
        if let earlier = seen[identity] { throw Self.clash(earlier, label) }
        seen[identity] = label
        if case .file(let path) = destination, let node = FileNode(path) {
            if let earlier = outputNodes[node] ?? inputNodes[node] { throw Self.clash(earlier, label) }
            outputNodes[node] = label
        }
    }

    /// "--out x.png and --trajectory x.png name the same file".
    private static func clash(_ a: String, _ b: String) -> OutputError {
        OutputError(description: "\(OutputPath.display(a)) and \(OutputPath.display(b)) name the same file; give each its own")
    }

    /// Why a folder to be created cannot be: its nearest existing ancestor is not a folder.
    private static func firstMissingAncestorProblem(_ path: String) -> String? {
        var current = path
        while true {
            let parent = OutputPath.split(current).folder
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: parent, isDirectory: &isFolder) {
                guard isFolder.boolValue else { return "\(OutputPath.display(parent)) is a file, not a folder" }
                do { try OutputPath.checkWritable(folder: parent, user: path) } catch { return error.reason }
                return nil
            }
            if parent == current || parent == "." || parent == "/" { return nil }
            current = parent
        }
    }
}

/// The names in `folder`, read with `readdir` so that a name that is not UTF-8 is found and
/// refused by name (Foundation's listing gives it with U+FFFD, a path that opens nothing).
func folderEntries(_ folder: String, flag: String) throws -> [String] {
    guard let dir = opendir(folder) else {
        throw OutputError(description: "\(flag) \(OutputPath.display(folder)): cannot read the folder: \(String(cString: strerror(errno)))")
    }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> (String?, [UInt8]) in
            let bytes = Array(raw.prefix { $0 != 0 })
            return (String(validating: bytes, as: UTF8.self), bytes)
        }
        guard let text = name.0 else {
            // only a picture's name matters; other files are not read
            guard name.1.suffix(4).map({ $0 | 0x20 }) == Array(".png".utf8) else { continue }
            throw OutputError(description: "\(flag) \(OutputPath.display(folder)): the name \(escapedBytes(name.1)) is not valid UTF-8; rename the file")
        }
        if text != "." && text != ".." { names.append(text) }
    }
    return names
}
