import ArgumentParser
import Engine
import Foundation
import Imaging
import Sampling
import Tensors
import Output

/// `ddim compare`: one x_T, one column per step count (or η) — DDIM's consistency, side by side.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sample one x_T at several step counts (or η values) and lay the results side by side.",
        discussion: """
            Columns are every S of --steps times every η of --eta (steps first); rows are the samples \
            of the batch. Column k equals `ddim sample --seed SEED --batch B --steps S_k --eta η_k`. \
            With η = 0 the columns agree in content (the paper's consistency, §5.3); with η = 1 they \
            do not. Prints each column's MSE and PSNR against the last column (images in [−1, 1]).
            """)

    @OptionGroup var model: ModelOptions

    @OptionGroup var grid: GridOptions<Compare>

    @Option(name: .long, help: "Seed of x_T (and of the η-noise).")
    var seed: UInt64 = 0

    @Option(name: .shortAndLong, help: "Rows: samples per column.")
    var batch = 1

    @Option(name: .shortAndLong, help: ArgumentHelp("The comparison grid (PNG).", valueName: "png"))
    var out: String

    @OptionGroup var report: JSONOption

    func validate() throws {
        guard (1...256).contains(batch) else { throw ValidationError("--batch must be between 1 and 256 (got \(batch))") }
        guard grid.cells.count <= 64 else { throw ValidationError("at most 64 columns (--steps × --eta)") }
        var plan = OutputPlan()
        try plan.file(out, flag: "--out")
    }

    func run() throws {
        var m = try model.load()
        try ImageExport.checkPicture(channels: m.unet.config.inChannels)
        try grid.check(&m)
        try checkMemory(m)
        let columns = grid.cells.map { ComparisonColumn(steps: $0.steps, noise: $0.noise) }
        let bar = ProgressBar(enabled: !report.json && isatty(2) == 1)
        let total = columns.map(\.steps).reduce(0, +)
        var done = 0
        let results = try m.compare(seed: seed, batch: batch, columns: columns, spacing: grid.timesteps.spacing) { _, p in
            done += 1
            bar.update(done, of: total, timestep: p.timestep, seconds: p.elapsed.milliseconds / 1e3)
        }
        bar.finish()
        // rows = samples, columns = settings
        var tiles: [RGBImage] = []
        let perColumn = try results.map { try ImageExport.images($0) }
        for b in 0..<batch { tiles += perColumn.map { $0[b] } }
        let picture = try ImageGrid.compose(tiles, columns: columns.count)
        var text = SampleRequest(steps: columns[0].steps, noise: columns[0].noise, seed: seed, batch: batch, spacing: grid.timesteps.spacing).parameterText(model: m)
        text.removeAll { $0.0 == "Steps" || $0.0 == "Eta" }
        text.append(("Columns", columns.map(\.label).joined(separator: "; ")))
        try PNGWriter().write(picture, to: out, text: text.map { PNGText($0.0, $0.1) })

        let reference = results[results.count - 1]
        let rows = zip(columns, results).map { column, x0 -> (ComparisonColumn, Double) in
            let errors = meanSquaredErrors(x0, reference)
            return (column, errors.reduce(0, +) / Double(errors.count))
        }
        if report.json {
            let object: [String: Any] = [
                "model": m.name, "seed": seed, "batch": batch, "out": out, "reference": columns[columns.count - 1].label,
                "columns": rows.map { ["steps": $0.0.steps, "eta": $0.0.noise.label, "mse_to_reference": $0.1] },
            ]
            try StandardOutput.print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        try StandardOutput.print("\(m.name), seed \(seed), \(batch) sample(s) per column → \(out)")
        try StandardOutput.print("column            MSE to \(columns[columns.count - 1].label)    PSNR")
        for (column, mse) in rows {
            let psnr = peakSignalToNoise(mse: mse)
            try StandardOutput.print(column.label.padding(toLength: 18, withPad: " ", startingAt: 0)
                  + String(format: "%10.5f", mse) + (psnr.isFinite ? String(format: "  %6.1f dB", psnr) : "       —"))
        }
    }
}

extension Compare: GridDefaults {
    static let steps = [10, 20, 50, 100]
    static let etas = [EtaArgument(level: .eta(0))]
}
