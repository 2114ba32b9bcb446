import ArgumentParser
import Engine
import Foundation
import Imaging
import Sampling
import Tensors
import Output

/// `ddim invert`: x₀ → x_T by the ODE run forward in t, then back (paper §5.4, Table 2).
struct Invert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode images to their x_T (deterministic DDIM run forward in t), sample back, and print the reconstruction MSE.",
        discussion: """
            Images must have the model's size; grey and RGB are converted to its channels. MSE is \
            measured on images in [−1, 1], as in the paper's Table 2. With several step counts \
            (--steps 10,20,50) one line per S is printed; --out, --strip and --save-latent need a single S.
            The saved x_T starts `ddim sample --latent FILE --steps S --no-clip` (the same S and \
            spacing give the reconstruction back exactly) or `ddim interpolate --latents A,B`.
            """)

    @OptionGroup var model: ModelOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("An image to invert (PNG); repeat for several.", valueName: "png"))
    var image: [String] = []

    @Option(name: .long, help: ArgumentHelp("Invert every PNG in this folder (sorted by name).", valueName: "dir"))
    var images: String?

    @Option(name: .long, help: ArgumentHelp("Use at most this many images of --images.", valueName: "n"))
    var limit: Int?

    @Option(name: .shortAndLong, help: "DDIM steps S, comma-separated for a table.")
    var steps = CommaList([100])

    @OptionGroup var timesteps: SpacingOption

    @Option(name: .shortAndLong, help: ArgumentHelp("The reconstruction(s), as one PNG grid.", valueName: "png"))
    var out: String?

    @Option(name: .long, help: ArgumentHelp("Original, x_T and reconstruction side by side, one row per image (PNG).", valueName: "png"))
    var strip: String?

    @Option(name: .long, help: ArgumentHelp("Write x_T as a safetensors file (tensor x_T, shape (B, C, H, W)).", valueName: "file"))
    var saveLatent: String?

    @Option(name: .shortAndLong, help: "Images per forward pass.")
    var batch = 16

    @OptionGroup var report: JSONOption

    @Flag(name: .shortAndLong, help: "No progress bar.")
    var quiet = false

    func validate() throws {
        guard !image.isEmpty || images != nil else { throw ValidationError("give --image PNG (repeatable) or --images DIR") }
        guard batch >= 1 else { throw ValidationError("--batch must be 1 or more (got \(batch))") }
        if let limit, limit < 1 { throw ValidationError("--limit must be 1 or more (got \(limit))") }
        if steps.values.count > 1 && (out != nil || strip != nil || saveLatent != nil) {
            throw ValidationError("--out, --strip and --save-latent need a single --steps value")
        }
        var plan = OutputPlan()
        for file in image { try plan.input(file, flag: "--image") }
        for (flag, path) in [("--out", out), ("--strip", strip), ("--save-latent", saveLatent)] {
            try plan.file(path, flag: flag)
        }
    }

    /// The image paths: --image ones, then the folder's PNGs.
    func paths() throws -> [String] {
        var list = image
        if let images {
            let names = try folderEntries(images, flag: "--images")
            let pngs = names.filter { $0.lowercased().hasSuffix(".png") }.sorted()
            guard !pngs.isEmpty else { throw ValidationError("--images \(images): no PNG files in the folder") }
            list += pngs.map { OutputPath.join(images, $0) }
        }
        if let limit { list = Array(list.prefix(limit)) }
        return list
    }

    func run() throws {
        let m = try model.load()
        try ImageExport.checkPicture(channels: m.unet.config.inChannels)
        try checkSteps(steps.values, trainTimesteps: m.schedule.trainTimesteps)
        try checkMemory(m)
        let files = try paths()
        let x0 = Tensor.concatenate(try files.map { try m.image(at: $0) })
        let bar = ProgressBar(enabled: !quiet && !report.json && isatty(2) == 1)
        var table: [(steps: Int, mse: [Double])] = []
        var last: InversionResult?
        for s in steps.values {
            var parts: [InversionResult] = []
            let total = 2 * s * ((files.count + batch - 1) / batch)
            var done = 0
            for first in stride(from: 0, to: files.count, by: batch) {
                let chunk = Tensor.concatenate((first..<min(first + batch, files.count)).map { x0.slice($0).reshaped([1] + m.sampleShape()) })
                parts.append(try m.invert(chunk, steps: s, spacing: timesteps.spacing) { _, _, _ in
                    done += 1
                    bar.update(done, of: total)
                })
            }
            bar.finish()
            let result = InversionResult(
                original: x0, latent: Tensor.concatenate(parts.map(\.latent)),
                reconstruction: Tensor.concatenate(parts.map(\.reconstruction)), mse: parts.flatMap(\.mse),
                timesteps: parts[0].timesteps)
            table.append((s, result.mse))
            last = result
        }
        guard let result = last else { return }
        var text = SampleRequest(steps: steps.values[0], noise: .deterministic, seed: 0, batch: files.count, spacing: timesteps.spacing).parameterText(model: m)
        text.removeAll { $0.0 == "Seed" }
        text.append(("Inverted", files.map { OutputPath.split($0).name }.joined(separator: ",")))
        if let out { try ImageExport.writeGrid(result.reconstruction, to: out, text: text) }
        if let strip {
            // x_T is shown as an image too: clamp(x/2 + ½) of unit-variance noise
            var tiles: [RGBImage] = []
            let (a, b, c) = (try ImageExport.images(result.original), try ImageExport.images(result.latent), try ImageExport.images(result.reconstruction))
            for i in 0..<files.count { tiles += [a[i], b[i], c[i]] }
            try PNGWriter().write(try ImageGrid.compose(tiles, columns: 3), to: strip, text: text.map { PNGText($0.0, $0.1) })
        }
        if let saveLatent {
            var meta = Dictionary(uniqueKeysWithValues: text)
            meta["Timesteps"] = result.timesteps.map(String.init).joined(separator: ",")
            try LatentFile.write(result.latent, to: saveLatent, metadata: meta)
        }
        let summary = table.map { row -> (Int, Double, Double, Double) in
            (row.steps, row.mse.reduce(0, +) / Double(row.mse.count), row.mse.min() ?? 0, row.mse.max() ?? 0)
        }
        if report.json {
            let object: [String: Any] = [
                "model": m.name, "images": files.count,
                "rows": summary.map { ["steps": $0.0, "mse": $0.1, "min": $0.2, "max": $0.3] },
                "per_image": files.count <= 16 ? Dictionary(uniqueKeysWithValues: zip(files, table[table.count - 1].mse)) : [:],
            ]
            try StandardOutput.print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        try StandardOutput.print("\(m.name): \(files.count) image(s), reconstruction MSE on [−1, 1]")
        try StandardOutput.print("    S        MSE        min        max     PSNR")
        for (s, mean, low, high) in summary {
            let psnr = peakSignalToNoise(mse: mean)
            try StandardOutput.print(String(format: "%5d  %9.6f  %9.6f  %9.6f  %5.1f dB", s, mean, low, high, psnr.isFinite ? psnr : 99))
        }
    }
}
