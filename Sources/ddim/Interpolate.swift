import ArgumentParser
import Engine
import Foundation
import Imaging
import Sampling
import Tensors

/// `ddim interpolate`: slerp between two x_T, sampled with η = 0 (paper §5.3, App. D.5).
struct Interpolate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Interpolate between two x_T on the sphere (slerp) and sample each frame deterministically (η = 0).",
        discussion: """
            The endpoints are the x_T of two seeds (as `ddim sample --seed` draws them) or two latent \
            files (`ddim invert --save-latent`), so two real images can be blended too. Frame i uses \
            α = i/(frames − 1): z(α) = sin((1−α)θ)/sin θ·z₁ + sin(αθ)/sin θ·z₂.
            """)

    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: ArgumentHelp("Two seeds, comma-separated: A,B.", valueName: "a,b"))
    var seeds: CommaList<UInt64>?

    @Option(name: .long, help: ArgumentHelp("Two latent files instead of seeds: A,B (batch of one each).", valueName: "a,b"))
    var latents: CommaList<String>?

    @Option(name: .shortAndLong, help: "Frames, endpoints included (2…256).")
    var frames = 11

    @Option(name: .shortAndLong, help: "DDIM steps S.")
    var steps = 50

    @OptionGroup var timesteps: SpacingOption

    @OptionGroup var clip: ClipOption

    @OptionGroup var output: PNGOutputs<Interpolate>

    @Flag(name: .shortAndLong, help: "No progress bar.")
    var quiet = false

    func validate() throws {
        guard (seeds == nil) != (latents == nil) else { throw ValidationError("give exactly one of --seeds A,B or --latents A,B") }
        if let seeds, seeds.values.count != 2 { throw ValidationError("--seeds takes two seeds, A,B (got \(seeds.values.count))") }
        if let latents, latents.values.count != 2 { throw ValidationError("--latents takes two files, A,B (got \(latents.values.count))") }
        guard (2...256).contains(frames) else { throw ValidationError("--frames must be between 2 and 256 (got \(frames))") }
        guard steps >= 1 else { throw ValidationError("--steps must be 1 or more (got \(steps))") }
        guard output.out != nil || output.outDir != nil else {
            throw ValidationError("give --out PNG (a strip) and/or --out-dir DIR")
        }
        var plan = OutputPlan()
        for file in latents?.values ?? [] { try plan.input(file, flag: "--latents") }
        try output.plan(&plan, count: frames)
    }

    func run() throws {
        var m = try model.load()
        clip.apply(to: &m)
        try ImageExport.checkPicture(channels: m.unet.config.inChannels)
        try checkSteps([steps], trainTimesteps: m.schedule.trainTimesteps)
        try checkMemory(m)
        let (a, b): (Tensor, Tensor)
        if let seeds {
            (a, b) = (m.latent(seed: seeds.values[0]), m.latent(seed: seeds.values[1]))
        } else {
            let files = latents?.values ?? []
            let loaded = try files.map { try LatentFile.read($0, sampleShape: m.sampleShape()) }
            for (file, x) in zip(files, loaded) where x.shape[0] != 1 {
                throw ValidationError("--latents \(file) holds \(x.shape[0]) samples; interpolation takes one per file")
            }
            (a, b) = (loaded[0], loaded[1])
        }
        let path = m.interpolationLatents(from: a, to: b, frames: frames)
        let bar = ProgressBar(enabled: !quiet && isatty(2) == 1)
        let x0 = try m.decode(path, steps: steps, spacing: timesteps.spacing) { p in
            bar.update(p.index + 1, of: p.count, timestep: p.timestep, seconds: p.elapsed.milliseconds / 1e3)
            return .continue
        }.sample
        bar.finish()
        var text = SampleRequest(steps: steps, noise: .deterministic, seed: 0, batch: frames, spacing: timesteps.spacing).parameterText(model: m)
        text.removeAll { $0.0 == "Seed" }
        text.append(("Interpolation", seeds.map { "slerp seeds \($0.values[0]) → \($0.values[1])" }
                     ?? "slerp latents \(latents?.values.joined(separator: " → ") ?? "")"))
        if let out = output.out {
            try PNGWriter().write(try ImageGrid.strip(try ImageExport.images(x0)), to: out, text: text.map { PNGText($0.0, $0.1) })
        }
        if let outDir = output.outDir { try ImageExport.writeEach(x0, to: outDir, text: text) }
    }
}

extension Interpolate: PNGOutputHelp {
    static let out = "The strip (PNG), frames left to right."
    static let outDir = "Also one PNG per frame in this folder (00000.png, …)."
}
