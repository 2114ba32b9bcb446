import ArgumentParser
import Engine
import Foundation
import Imaging
import Sampling
import Output

/// `ddim sweep`: samples for every (S, η) cell of the paper's Table 1.
struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sample N images for every (steps, η) cell into DIR/s<S>-e<η>/ — the paper's Table 1 grid.",
        discussion: """
            Sample i of every cell starts from the same x_T: its own torch generator seeded SEED + i \
            (x_T first, then its η-noise), drawn in batch ⌊i / BATCH⌋, so every image is reproducible \
            byte for byte. Only missing images are drawn: rerun the same command to resume, or with \
            more cells or a larger --n to extend. DIR/sweep.json records the settings (model and its \
            content, seed, batch, spacing, clipping) before the first image and every cell as it \
            completes; a rerun with other settings is refused (--redo replaces the folder's images \
            instead).

            Array jobs: --shard I/N draws only shard I's share of every cell (N copies of the command \
            into one shared folder, in any order, at once or not); --shard auto reads I and N from \
            Slurm's SLURM_ARRAY_TASK_* or a Kubernetes Indexed Job's JOB_COMPLETION_INDEX (auto/N). \
            Then the same command without --shard is the merge: it draws whatever a failed shard left \
            and writes the summary. docs/scale.md shows Slurm, Kubernetes and GNU parallel. \
            scripts/eval_digits.py --sweep DIR fills the table.
            """)

    @OptionGroup var model: ModelOptions

    @OptionGroup var grid: GridOptions<Sweep>

    @Option(name: .shortAndLong, help: "Samples per cell.")
    var n = 100

    @Option(name: .long, help: "Seed of sample 0 (sample i uses SEED + i).")
    var seed: UInt64 = 0

    @Option(name: .shortAndLong, help: "Samples per forward pass.")
    var batch = 50

    @Option(name: .long, help: ArgumentHelp("Output folder (created).", valueName: "dir"))
    var outDir: String

    @Option(name: .long, help: ArgumentHelp("Draw only shard I of N of every cell (I from 0), or read them from the array job: auto, auto/N.", valueName: "I/N|auto"))
    var shard: String?

    @Flag(name: .long, help: "Delete the images of the cells DIR/sweep.json records and sample every cell again, even when the folder holds a sweep of other settings.")
    var redo = false

    @Flag(name: .shortAndLong, help: "No progress lines.")
    var quiet = false

    func validate() throws {
        guard n >= 1 else { throw ValidationError("--n must be 1 or more (got \(n))") }
        guard (1...4096).contains(batch) else { throw ValidationError("--batch must be between 1 and 4096 (got \(batch))") }
        var plan = OutputPlan()
        try plan.folder(outDir, flag: "--out-dir", names: ["sweep.json"])
        if shard != nil, redo {
            throw ValidationError("--redo deletes every shard's images: run it once without --shard, then start the shards")
        }
        _ = try shardSpec()
    }

    /// The `--shard` value, read against this process's environment.
    func shardSpec() throws -> SweepShard? {
        guard let shard else { return nil }
        do {
            return try SweepShard.parse(shard, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        var m = try model.load()
        try grid.check(&m)
        try checkMemory(m)
        let cells = grid.cells.map { SweepCell(steps: $0.steps, noise: $0.noise) }
        do {
            try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        } catch {
            throw ValidationError("--out-dir \(outDir): cannot create the folder")
        }
        let bar = ProgressBar(enabled: !quiet && isatty(2) == 1, unit: "sample")
        let part = try shardSpec()
        let outcome = try m.sweep(cells: cells, count: n, firstSeed: seed, batch: batch, into: outDir, spacing: grid.timesteps.spacing,
                                  redo: redo, shard: part) { done, total, k in
            bar.update(done, of: total, label: cells[k].folderName)
        }
        bar.finish()
        for line in outcome.warnings { FileHandle.standardError.write(Data("Warning: \(line)\n".utf8)) }
        if !quiet {
            if let part { try StandardOutput.print("shard \(part) of \(OutputPath.display(outDir))") }
            for r in outcome.reports {
                try StandardOutput.print(r.folder.padding(toLength: 14, withPad: " ", startingAt: 0)
                      + String(format: "%5d samples (%d new) in %.1f s", r.samples, r.made, r.seconds))
            }
        }
    }
}

extension Sweep: GridDefaults {
    static let steps = [10, 20, 50, 100, 1000]
    static let etas = [0, 0.2, 0.5, 1].map { EtaArgument(level: .eta($0)) } + [EtaArgument(level: .ddpmLarge)]
}
