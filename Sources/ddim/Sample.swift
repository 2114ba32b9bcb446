import ArgumentParser
import Engine
import Foundation
import Sampling

/// `ddim sample`: headless sampling to PNG.
struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sample with DDIM and write PNGs (a grid with --out, one file per sample with --out-dir).",
        discussion: """
            Seeded runs reproduce diffusers' DDIMPipeline: x_T = torch.randn((B, C, H, W)) after \
            torch.manual_seed(SEED), then one draw per step when η > 0. Pixels are \
            round(clamp(x/2 + 0.5, 0, 1)·255); the parameters go into the PNG's text chunks.
            """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("Write all samples as one PNG grid.", valueName: "png"))
    var out: String?

    @Option(name: .long, help: ArgumentHelp("Write one PNG per sample (00000.png, 00001.png, …).", valueName: "dir"))
    var outDir: String?

    @Flag(name: .shortAndLong, help: "No progress bar.")
    var quiet = false

    func validate() throws {
        guard (out == nil) != (outDir == nil) else { throw ValidationError("give exactly one of --out PNG or --out-dir DIR") }
        if let out {
            let parent = (out as NSString).deletingLastPathComponent
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: parent.isEmpty ? "." : parent, isDirectory: &isDir), isDir.boolValue else {
                throw ValidationError("--out \(out): the folder \(parent) does not exist")
            }
        }
    }

    func run() throws {
        let m = try model.load()
        try ImageExport.checkPicture(channels: m.unet.config.inChannels)
        let request = SampleRequest(steps: sampling.steps, noise: sampling.eta.level, seed: sampling.seed,
                                    batch: sampling.batch, spacing: sampling.spacing)
        let bar = ProgressBar(enabled: !quiet && isatty(2) == 1)
        let outcome = try m.sample(request) { p in
            bar.update(step: p.index + 1, of: p.count, timestep: p.timestep, seconds: p.elapsed.milliseconds / 1e3)
            return .continue
        }
        bar.finish()
        let text = request.parameterText(model: m)
        if let out {
            try ImageExport.writeGrid(outcome.sample, to: out, text: text)
        } else if let outDir {
            try ImageExport.writeEach(outcome.sample, to: outDir, text: text)
        }
    }
}

/// A one-line progress bar on stderr, redrawn in place.
final class ProgressBar {
    let enabled: Bool
    private var total = 0.0

    init(enabled: Bool) { self.enabled = enabled }

    func update(step: Int, of count: Int, timestep: Int, seconds: Double) {
        guard enabled else { return }
        total += seconds
        let width = 30
        let filled = count == 0 ? 0 : step * width / count
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let perStep = total / Double(step) * 1e3
        let eta = Double(count - step) * perStep / 1e3
        let line = "\r" + bar + String(format: " step %d/%d  t=%d  %.0f ms/step  ETA %.1fs ", step, count, timestep, perStep, eta)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
