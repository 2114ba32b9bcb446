import Files
import Foundation
import Sampling
import Tensors
import UNet

/// A model ready to sample: the UNet, its scheduler settings and the noise schedule.
public struct LoadedModel: Sendable {
    /// A short display name (the folder's name, or "digits" for the embedded model).
    public let name: String
    /// The folder it was read from.
    public let folder: URL
    /// ε_θ (or x₀ / v) network.
    public let unet: UNet2DModel
    /// The scheduler settings (DDPM defaults when the folder has none).
    public var scheduler: SchedulerConfig
    /// βₜ → ᾱₜ.
    public let schedule: NoiseSchedule
    /// The files the model was read from (config, weights, scheduler config), for ``fingerprint()``.
    public var files: [URL] = []
    /// The class every sample is drawn as, for a class-conditional model (`--class-label`;
    /// ``checkClassLabel()``); nil for an unconditional one.
    public var classLabel: Int?
    /// The classifier-free guidance weight w for a model with a null class (`--guidance`;
    /// ``Denoiser/output(_:timestep:)``): 1 draws the class as trained, more pushes towards it.
    public var guidance: Float = 1
    /// The weights file read, and its format ("safetensors", "PyTorch zip checkpoint", …).
    public var weights: (file: URL, format: String)?
    /// For a model from the hub, `org/name@COMMIT`: what `--model` names in a command line that
    /// reproduces a run (the folder is a snapshot in the cache); nil for a local folder.
    public var reference: String?

    /// (channels, height, width) of one sample: the config's sample_size, or `fallbackSize`.
    public func sampleShape(fallbackSize: Int = 32) -> [Int] {
        let size = unet.config.sampleSize ?? [fallbackSize, fallbackSize]
        return [unet.config.inChannels, size[0], size[1]]
    }
}

/// Reads diffusers model folders.
///
/// Two layouts are understood:
/// - a model folder: `config.json` + `diffusion_pytorch_model.safetensors` (or the PyTorch checkpoint
///   `diffusion_pytorch_model.bin`) (+ `scheduler_config.json`);
/// - a pipeline folder: `model_index.json`, `unet/` (the above) and `scheduler/scheduler_config.json`.
/// Without a scheduler config, DDPM's defaults apply (linear βₜ 1e-4…0.02, T = 1000, clip_sample).
public enum ModelStore {
    /// Loads the model in `folder`, its convolutions under `policy`; errors name the file and what is wrong.
    public static func load(_ folder: URL, name: String? = nil, policy: ConvPolicy = ConvPolicy()) throws -> LoadedModel {
        Memory.keepFreedBuffers()
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: folder.path, isDirectory: &isDir) else {
            throw ModelError(file: folder.path, "no such folder")
        }
        guard isDir.boolValue else { throw ModelError(file: folder.path, "not a folder (pass the model's folder, not a file)") }
        var unetDir = folder
        var schedulerURL = folder.appendingPathComponent("scheduler_config.json")
        // a pipeline's model_index.json with unet/ beside it; the google/ddpm-* repositories' first
        // revisions had model_index.json beside a top-level config.json: read as a model folder
        if fm.fileExists(atPath: folder.appendingPathComponent("model_index.json").path),
           fm.fileExists(atPath: folder.appendingPathComponent("unet").path)
            || !fm.fileExists(atPath: folder.appendingPathComponent("config.json").path) {
            unetDir = folder.appendingPathComponent("unet")
            schedulerURL = folder.appendingPathComponent("scheduler/scheduler_config.json")
        }
        let config = unetDir.appendingPathComponent("config.json")
        guard fm.fileExists(atPath: config.path) else {
            throw ModelError(file: config.path, "no such file (a diffusers model folder has config.json and diffusion_pytorch_model.safetensors, or model_index.json with unet/ and scheduler/)")
        }
        let weights = try weightsFile(in: unetDir)
        // the scheduler first: a bad one is found before the weights are read
        var scheduler = SchedulerConfig()
        let hasSchedulerFile = fm.fileExists(atPath: schedulerURL.path)
        if hasSchedulerFile { scheduler = try SchedulerConfig.load(from: schedulerURL) }
        let schedule: NoiseSchedule
        do {
            schedule = try NoiseSchedule(config: scheduler)
        } catch let error as SchedulerConfigError where hasSchedulerFile {
            throw SchedulerConfigError.inFile(schedulerURL.path, error)
        }
        let unetConfig = try UNetConfig.load(from: config)
        // DDIM needs the output in the sample's channels: ε, x₀ or v (plus a learned variance)
        guard unetConfig.outChannels == unetConfig.inChannels || unetConfig.predictsVariance else {
            throw ModelError(file: config.path, "out_channels = \(unetConfig.outChannels) with in_channels = \(unetConfig.inChannels): DDIM samples a model whose output has the sample's channels (ε, x₀ or v) or twice them (ε and a learned variance)")
        }
        // a model whose weights, or one sample at its size, cannot fit is refused before a weight is read
        let shape = [unetConfig.inChannels] + (unetConfig.sampleSize ?? [32, 32])
        try MemoryBudget.check(RunMemory("one sample of \(name ?? folder.lastPathComponent) (\(shape.map(String.init).joined(separator: "×")))", batch: 1),
                               config: unetConfig, policy: policy, sampleShape: shape, loading: true)
        let source = try WeightFile.open(weights)
        let unet = try UNet2DModel(config: unetConfig, weights: source, policy: policy)
        var model = LoadedModel(name: name ?? folder.lastPathComponent, folder: folder, unet: unet, scheduler: scheduler, schedule: schedule)
        model.files = [config, weights] + (hasSchedulerFile ? [schedulerURL] : [])
        model.weights = (weights, source.formatName)
        return model
    }

    /// The weights of a UNet folder, in this order: safetensors, its fp16 variant, the PyTorch
    /// checkpoint `diffusion_pytorch_model.bin` (and its fp16 variant).
    static func weightsFile(in dir: URL) throws -> URL {
        let fm = FileManager.default
        for name in ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors",
                     "diffusion_pytorch_model.bin", "diffusion_pytorch_model.fp16.bin"] {
            let url = dir.appendingPathComponent(name)
            if fm.fileExists(atPath: url.path) { return url }
        }
        throw ModelError(file: dir.appendingPathComponent("diffusion_pytorch_model.safetensors").path,
                         "no such file (nor diffusion_pytorch_model.bin)")
    }
}

extension UNet2DModel: DenoisingModel {
    /// The network's output at one timestep for the whole batch.
    public func output(_ x: Tensor, timestep: Int) throws -> Tensor {
        try self(x, timesteps: [Float](repeating: Float(timestep), count: x.shape[0]))
    }
}

extension LoadedModel {
    /// What identifies the model's content: FNV-1a (64 bits) over its files' bytes, each file's
    /// length first — `fnv1a64:0123456789abcdef`. Two folders with the same files agree; a changed
    /// weight, config or schedule does not. Reads every file once (~1 GB/s).
    func fingerprint() throws -> String {
        // FNV-1a: h ← (h ⊕ byte)·1099511628211, from 14695981039346656037
        var hash: UInt64 = 14_695_981_039_346_656_037
        func mix(_ byte: UInt8) { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        for url in files {
            let file = try InputFile(url.path)
            withUnsafeBytes(of: UInt64(file.count).littleEndian) { $0.forEach(mix) }
            var offset = 0
            while offset < file.count {
                let n = min(chunk.count, file.count - offset)
                try chunk.withUnsafeMutableBytes { try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<n]), at: offset) }
                for i in 0..<n { mix(chunk[i]) }
                offset += n
            }
        }
        return "fnv1a64:" + String(hash, radix: 16).leftPadded(to: 16)
    }
}

extension String {
    /// The string with zeros in front up to `width` characters.
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
