import Foundation
import Sampling
import Tensors

/// What one headless run asks for.
public struct SampleRequest: Sendable {
    /// Number of DDIM steps S.
    public var steps: Int
    /// σ's rule: η or the paper's σ̂.
    public var noise: NoiseLevel
    /// Seed of the torch-compatible generator (x_T first, then one draw per step when η > 0);
    /// with ``seeds``, the first sample's.
    public var seed: UInt64
    /// Samples in the batch; with ``seeds``, their count (a sampler draws one per seed).
    public var batch: Int
    /// Timestep spacing; nil means the scheduler config's.
    public var spacing: TimestepSpacing?
    /// One seed per sample, each its own torch-compatible generator (``PerSampleNoise``, as the
    /// live sampler's tiles); nil: one generator seeded ``seed`` for the whole batch (DDIMPipeline).
    public private(set) var seeds: [UInt64]?

    /// A request; the defaults are deterministic DDIM at 50 steps.
    public init(steps: Int = 50, noise: NoiseLevel = .eta(0), seed: UInt64 = 0, batch: Int = 1, spacing: TimestepSpacing? = nil) {
        (self.steps, self.noise, self.seed, self.batch, self.spacing) = (steps, noise, seed, batch, spacing)
    }

    /// A request for one sample per seed, each drawn by its own generator (x_T, then its η-noise):
    /// sample i is the live sampler's tile with seed `seeds[i]`, whatever the batch around it.
    public init(steps: Int = 50, noise: NoiseLevel = .eta(0), seeds: [UInt64], spacing: TimestepSpacing? = nil) {
        self.init(steps: steps, noise: noise, seed: seeds.first ?? 0, batch: seeds.count, spacing: spacing)
        self.seeds = seeds
    }

    /// The noise of the run: one generator per sample with ``seeds``, else one for the batch.
    public var noiseSource: any NoiseSource {
        if let seeds { PerSampleNoise(seeds: seeds) } else { TorchRandom(seed: seed) }
    }

    /// The parameters as PNG text: Software, Model, Steps, Eta, Seed, Batch (and Seeds, one per
    /// sample, with ``seeds``; Class, Guidance and Precision where they apply), Spacing, Clip.
    public func parameterText(model: LoadedModel) -> [(String, String)] {
        var text = [
            ("Software", "ddim"), ("Model", model.name), ("Steps", "\(steps)"), ("Eta", noise.label),
            ("Seed", "\(seed)"), ("Batch", "\(batch)"),
        ]
        if let seeds { text.append(("Seeds", Self.list(seeds))) }
        if let label = model.classLabel { text.append(("Class", "\(label)")) }
        if model.nullClass != nil, model.classLabel != nil { text.append(("Guidance", LoadedModel.label(guidance: model.guidance))) }
        if model.precision != .float32 { text.append(("Precision", model.precision.rawValue)) }
        text += [
            ("Spacing", (spacing ?? model.scheduler.timestepSpacing).rawValue),
            ("Clip", model.scheduler.clipSample ? String(format: "%g", model.scheduler.clipSampleRange) : "off"),
        ]
        return text
    }

    /// The PNG text of this request's samples: ``parameterText(model:)``, Latent for a run from
    /// the x_T in `latent`, and Command, the `ddim sample` line that draws the same pictures again
    /// (``command(model:latent:folder:)``; a grid, or with `folder` one PNG per sample).
    public func sampleText(model: LoadedModel, latent: String? = nil, folder: Bool = false) -> [(String, String)] {
        parameterText(model: model) + (latent.map { [("Latent", $0)] } ?? [])
            + [("Command", command(model: model, latent: latent, folder: folder))]
    }

    /// "0,1,2".
    static func list(_ seeds: [UInt64]) -> String { seeds.map(String.init).joined(separator: ",") }
}

extension NoiseLevel {
    /// "0.5" for η = 0.5, "hat" for σ̂.
    public var label: String {
        switch self {
        // exactly what ran: Swift's shortest round-trip text ("0.2", "1e+19"), integers bare
        case .eta(let e): e == e.rounded() && abs(e) < 1e6 ? String(Int(e)) : "\(e)"
        case .ddpmLarge: "hat"
        }
    }
}

extension LoadedModel {
    /// Refuses, before any sampling, a noise level too large for the plan of `steps`
    /// (``DDIMScheduler/check(noise:plan:)``); for commands that run several settings.
    public func check(noise: NoiseLevel, steps: Int, spacing: TimestepSpacing?) throws {
        try ddim.check(noise: noise, plan: try ddim.timesteps(steps: steps, spacing: spacing))
    }

    /// The DDIM update over this model's schedule and scheduler settings.
    public var ddim: DDIMScheduler { DDIMScheduler(schedule: schedule, config: scheduler) }

    /// A sampler seeded as diffusers' DDIMPipeline is: x_T = randn((B, C, H, W)) from
    /// `torch.manual_seed(seed)`, then the η-noise from the same generator; with per-sample
    /// seeds, as DDIMPipeline with a list of generators (``PerSampleNoise``).
    public func sampler(for r: SampleRequest) throws -> Sampler {
        // one sample per seed, whatever `batch` was set to since
        let shape = [r.seeds?.count ?? r.batch] + sampleShape()
        try unet.checkInput(shape: shape)
        return try Sampler(model: denoiser, scheduler: ddim, shape: shape, steps: r.steps,
                           noise: r.noise, spacing: r.spacing, source: r.noiseSource)
    }

    /// Runs a whole request; `progress` sees every step and may cancel.
    public func sample(_ r: SampleRequest, progress: (StepProgress) throws -> SamplerControl = { _ in .continue }) throws -> SamplerOutcome {
        var s = try sampler(for: r)
        return try s.run(progress: progress)
    }
}
