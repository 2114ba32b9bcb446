import ArgumentParser
import Engine
import Foundation
import Graphics
import Imaging
import Sampling
import Output

/// `ddim sample`: headless sampling to PNG.
struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sample with DDIM and write PNGs (a grid with --out, one file per sample with --out-dir).",
        discussion: """
            Seeded runs reproduce diffusers' DDIMPipeline: x_T = torch.randn((B, C, H, W)) after \
            torch.manual_seed(SEED), then one draw per step when η > 0. Pixels are \
            round(clamp(x/2 + 0.5, 0, 1)·255). With --seeds each sample has its own generator, \
            as the live sampler's tiles do. The parameters go into the PNG's text chunks, among \
            them Command: the `ddim sample` line that draws the same picture again.
            """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var sampling: SamplingOptions

    @OptionGroup var output: PNGOutputs<Sample>

    @Option(name: .long, help: ArgumentHelp(
        "Start from this x_T (a safetensors file with a tensor x_T, as `ddim invert --save-latent` writes) instead of drawing it from --seed; the batch is the file's.",
        valueName: "file"))
    var latent: String?

    @Option(name: .long, help: ArgumentHelp(
        "One seed per sample, comma-separated (0,1,2,3): each sample draws its x_T and η-noise from its own torch-compatible generator, as the live sampler's tiles do; the batch is their count. Not with --seed, --batch or --latent.",
        valueName: "seeds"))
    var seeds: String?

    @Option(name: .long, help: ArgumentHelp(
        "Also write the run's path: a PNG strip of x̂₀ (top row) and x_t (bottom row) after each step (at most 99 steps shown, evenly spaced), and an animated PNG of x_t beside x̂₀ at every step, NAME.apng beside NAME.png.",
        valueName: "png"))
    var trajectory: String?

    @OptionGroup var clip: ClipOption

    @Flag(name: .shortAndLong, help: "No progress bar and no closing line with the sampling time.")
    var quiet = false

    @Flag(name: .long, help: "Also draw the grid on the terminal when done, in real pixels where it speaks a graphics protocol (--graphics), else in blocks.")
    var preview = false

    @Option(name: .long, help: ArgumentHelp(
        "How --preview draws: auto (ask the terminal), kitty, sixel, iterm or blocks; a forced protocol draws even when standard output is not a terminal.",
        valueName: "auto|kitty|sixel|iterm|blocks"))
    var graphics: GraphicsChoice = .auto

    func validate() throws {
        guard (output.out == nil) != (output.outDir == nil) else {
            throw ValidationError("give exactly one of --out PNG or --out-dir DIR")
        }
        if graphics != .auto && !preview {
            throw ValidationError("--graphics says how --preview draws; add --preview")
        }
        if preview && output.out == "-" {
            throw ValidationError("--preview draws on standard output, which --out - fills with the PNG; write the PNG to a file")
        }
        // every file this run writes, checked before any sampling
        let seedList = try self.seedList()
        var plan = OutputPlan()
        try plan.input(latent, flag: "--latent")
        try output.plan(&plan, count: seedList?.count ?? sampling.batch)
        if let trajectory {
            guard trajectory != "-" else { throw OutputError(description: "--trajectory writes two files (a strip and an animation); give it a file name, not -") }
            try plan.file(trajectory, flag: "--trajectory")
            try plan.file(Trajectory.animationPath(for: trajectory), flag: "--trajectory's animation")
        }
    }

    func run() throws {
        var m = try model.load()
        clip.apply(to: &m)
        try ImageExport.checkPicture(channels: m.unet.config.inChannels)
        try checkMemory(m)
        var request = SampleRequest(steps: sampling.steps, noise: sampling.eta.level, seed: sampling.seed,
                                    batch: sampling.batch, spacing: sampling.spacing)
        if let seeds = try seedList() {
            request = SampleRequest(steps: sampling.steps, noise: sampling.eta.level, seeds: seeds, spacing: sampling.spacing)
        }
        var sampler: Sampler
        if let latent {
            let xT = try LatentFile.read(latent, sampleShape: m.sampleShape())
            guard sampling.batch == 1 || sampling.batch == xT.shape[0] else {
                throw ValidationError("--batch \(sampling.batch) does not match the \(xT.shape[0]) sample(s) in --latent \(latent)")
            }
            request.batch = xT.shape[0]
            try m.unet.checkInput(shape: xT.shape)
            sampler = try Sampler(model: m.denoiser, scheduler: m.ddim, initialSample: xT, steps: request.steps, noise: request.noise,
                                  spacing: request.spacing, source: TorchRandom(seed: request.seed))
        } else {
            sampler = try m.sampler(for: request)
        }
        var path = Trajectory(start: sampler.sample)
        let bar = ProgressBar(enabled: !quiet && isatty(2) == 1)
        // the sampling time: from the start of the first step to the end of the last (what the
        // live sampler reports when a run is done, so the two throughputs compare)
        let clock = ContinuousClock()
        let start = clock.now
        let outcome = try sampler.run { p in
            bar.update(p.index + 1, of: p.count, timestep: p.timestep, seconds: p.elapsed.milliseconds / 1e3)
            if trajectory != nil { path.record(p) }
            return .continue
        }
        let seconds = (clock.now - start).milliseconds / 1e3
        bar.finish()
        let text = request.sampleText(model: m, latent: latent, folder: output.outDir != nil)
        // Every file first, then the report: a closed standard output loses no result.
        if let out = output.out {
            try ImageExport.writeGrid(outcome.sample, to: out, text: text)
        } else if let outDir = output.outDir {
            try ImageExport.writeEach(outcome.sample, to: outDir, text: text)
        }
        if preview {
            let pictures = try ImageExport.images(outcome.sample)
            try InlinePreview.show(try ImageGrid.compose(pictures, padding: pictures.count == 1 ? 0 : 2), choice: graphics, quiet: quiet)
        }
        if let trajectory {
            // the trajectory's pictures are not what Command draws
            let animation = try path.write(to: trajectory, text: text.filter { $0.0 != "Command" })
            if !quiet { try StandardOutput.print("trajectory: \(trajectory) (strip), \(animation) (animation)") }
        }
        if !quiet {
            let steps = sampler.stepsDone
            let line = String(format: "%d steps × %d samples in %.3f s  %.1f ms/step\n", steps, request.batch, seconds,
                              seconds * 1e3 / Double(max(steps, 1)))
            FileHandle.standardError.write(Data(line.utf8))
        }
    }
}

extension Sample {
    /// The most seeds `--seeds` takes: `--batch`'s limit.
    static let maxSeeds = 4096

    /// `--seeds` as numbers (nil when not given); a bad list, or `--seeds` with `--seed`,
    /// `--batch` or `--latent`, is one line naming the flags.
    func seedList() throws -> [UInt64]? {
        guard let seeds else { return nil }
        for (flag, given) in [("--seed", sampling.givenSeed != nil), ("--batch", sampling.givenBatch != nil), ("--latent", latent != nil)] where given {
            throw ValidationError("--seeds and \(flag) do not go together: --seeds gives each sample's seed, and the batch is their count")
        }
        let parts = seeds.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts != [""] else { throw ValidationError("--seeds is empty; give one seed per sample, comma-separated (0,1,2,3)") }
        let list = try parts.map { part in
            guard let seed = UInt64(part) else {
                throw ValidationError("--seeds: '\(part)' is not a seed (a whole number 0…\(UInt64.max)), in \(seeds)")
            }
            return seed
        }
        guard list.count <= Self.maxSeeds else {
            throw ValidationError("--seeds gives \(list.count) seeds; at most \(Self.maxSeeds) (--batch's limit)")
        }
        return list
    }
}

extension Sample: PNGOutputHelp {
    static let out = "Write all samples as one PNG grid (- for standard output)."
    static let outDir = "Write one PNG per sample (00000.png, 00001.png, …)."
}
