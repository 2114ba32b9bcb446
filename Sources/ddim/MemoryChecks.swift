import ArgumentParser
import Engine
import Foundation

// What each command's run sizes, checked against what the process may use before anything big
// is allocated (Engine's MemoryBudget): one `try checkMemory(m)` in each run(), after the model
// is loaded (loading checked the model itself at batch 1).

extension Sample {
    /// The batch (or --latent's samples), the kept trajectory and the pictures of the PNGs.
    func checkMemory(_ m: LoadedModel) throws {
        let batch = try latent.map { try LatentFile.sampleCount($0) } ?? seedList()?.count ?? sampling.batch
        var what = latent.map { "the \(batch) samples of --latent \($0) on \(m.sampleDescription)" } ?? m.describe(batch: batch)
        var pictures = batch
        if trajectory != nil {
            what += " with a trajectory of \(sampling.steps) steps"
            // the strip (≤ 100 columns of 2 rows per sample) and the animation's frames (2 tiles per sample a step)
            pictures += 2 * batch * (min(sampling.steps, 99) + 1) + 2 * batch * (sampling.steps + 1)
        }
        try m.checkMemory(RunMemory(what, batch: batch, keptSteps: trajectory == nil ? 0 : sampling.steps, pictures: pictures))
    }
}

extension Compare {
    /// One x_T, a column of the batch per setting, all kept for the grid.
    func checkMemory(_ m: LoadedModel) throws {
        let columns = grid.cells.count
        try m.checkMemory(RunMemory("\(m.describe(batch: batch)) × \(columns) columns", batch: batch, samples: batch * columns,
                                    pictures: batch * columns))
    }
}

extension Interpolate {
    /// Every frame in one batch.
    func checkMemory(_ m: LoadedModel) throws {
        try m.checkMemory(RunMemory("\(frames) frames of \(m.sampleDescription)", batch: frames))
    }
}

extension Invert {
    /// Batches of --batch images; every image's x₀, x_T and reconstruction kept, and the strip.
    func checkMemory(_ m: LoadedModel) throws {
        let count = try paths().count
        let perForward = min(batch, max(count, 1))
        try m.checkMemory(RunMemory("\(count) image(s) in \(m.describe(batch: perForward))", batch: perForward,
                                    samples: 2 * count, pictures: 4 * count))
    }
}

extension Sweep {
    /// Batches of --batch samples, each written before the next.
    func checkMemory(_ m: LoadedModel) throws {
        let perForward = min(batch, n)
        try m.checkMemory(RunMemory(m.describe(batch: perForward), batch: perForward))
    }
}

extension Bench {
    /// One batch, through both convolution algorithms once.
    func checkMemory(_ m: LoadedModel) throws {
        try m.checkMemory(RunMemory(m.describe(batch: batch), batch: batch, pictures: 0, bothAlgorithms: true))
    }
}

extension Live {
    /// The starting batch (`--batch`, else the config's), on the sampler's and the studio's threads.
    func checkMemory(_ m: LoadedModel, batch: Int) throws {
        try m.checkMemory(RunMemory(m.describe(batch: batch), batch: batch, live: true))
    }
}
