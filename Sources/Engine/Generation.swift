import Foundation
import Sampling
import Tensors

/// What one headless run asks for.
public struct SampleRequest: Sendable {
    /// Number of DDIM steps S.
    public var steps: Int
    /// σ's rule: η or the paper's σ̂.
    public var noise: NoiseLevel
    /// Seed of the torch-compatible generator (x_T first, then one draw per step when η > 0).
    public var seed: UInt64
    /// Samples in the batch.
    public var batch: Int
    /// Timestep spacing; nil means the scheduler config's.
    public var spacing: TimestepSpacing?

    /// A request; the defaults are deterministic DDIM at 50 steps.
    public init(steps: Int = 50, noise: NoiseLevel = .eta(0), seed: UInt64 = 0, batch: Int = 1, spacing: TimestepSpacing? = nil) {
        (self.steps, self.noise, self.seed, self.batch, self.spacing) = (steps, noise, seed, batch, spacing)
    }

    /// The parameters as PNG text: "steps=50 eta=0 seed=0 spacing=leading".
    public func parameterText(model: LoadedModel) -> [(String, String)] {
        [
            ("Software", "ddim"), ("Model", model.name), ("Steps", "\(steps)"), ("Eta", noise.label),
            ("Seed", "\(seed)"), ("Batch", "\(batch)"),
            ("Spacing", (spacing ?? model.scheduler.timestepSpacing).rawValue),
            ("Clip", model.scheduler.clipSample ? String(format: "%g", model.scheduler.clipSampleRange) : "off"),
        ]
    }
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
    /// `torch.manual_seed(seed)`, then the η-noise from the same generator.
    public func sampler(for r: SampleRequest) throws -> Sampler {
        try unet.checkInput(shape: [r.batch] + sampleShape())
        return try Sampler(model: unet, scheduler: ddim, shape: [r.batch] + sampleShape(), steps: r.steps,
                           noise: r.noise, spacing: r.spacing, source: TorchRandom(seed: r.seed))
    }

    /// Runs a whole request; `progress` sees every step and may cancel.
    public func sample(_ r: SampleRequest, progress: (StepProgress) throws -> SamplerControl = { _ in .continue }) throws -> SamplerOutcome {
        var s = try sampler(for: r)
        return try s.run(progress: progress)
    }
}
