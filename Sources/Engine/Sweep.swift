import Foundation
import Imaging
import Sampling
import Tensors

/// One cell of the paper's Table 1 grid: S steps at one noise level.
public struct SweepCell: Sendable, Equatable {
    /// DDIM steps S.
    public var steps: Int
    /// η or σ̂.
    public var noise: NoiseLevel

    /// A cell.
    public init(steps: Int, noise: NoiseLevel) { (self.steps, self.noise) = (steps, noise) }

    /// The cell's folder name: `s50-e0`, `s10-e0.2`, `s1000-ehat`.
    public var folderName: String { "s\(steps)-e\(noise.label)" }
}

/// What a sweep did in one cell.
public struct SweepReport: Sendable, Codable, Equatable {
    /// S, η (as its label) and the cell's folder.
    public var steps: Int, eta: String, folder: String
    /// Samples in the folder, samples made by this run, and the seconds it spent.
    public var samples: Int, made: Int
    public var seconds: Double
}

extension LoadedModel {
    /// Samples `count` images in every cell into `folder/<cell>/00000.png…`. Sample i of every cell
    /// starts from the same x_T: its own torch generator seeded `firstSeed + i` (x_T, then its
    /// η-noise), so a cell is reproducible on its own and independent of `batch`. Batches whose
    /// files all exist are skipped, so an interrupted sweep resumes. Writes `folder/sweep.json`.
    public func sweep(
        cells: [SweepCell], count: Int, firstSeed: UInt64, batch: Int, into folder: String, spacing: TimestepSpacing? = nil,
        progress: (_ cell: Int, _ done: Int) throws -> Void = { _, _ in }
    ) throws -> [SweepReport] {
        try ImageExport.checkPicture(channels: sampleShape()[0])
        var reports: [SweepReport] = []
        let clock = ContinuousClock()
        for (k, cell) in cells.enumerated() {
            let cellFolder = (folder as NSString).appendingPathComponent(cell.folderName)
            let request = SampleRequest(steps: cell.steps, noise: cell.noise, seed: firstSeed, batch: count, spacing: spacing)
            var text = request.parameterText(model: self)
            text.append(("Seeds", "\(firstSeed)+i (one torch generator per sample)"))
            var made = 0
            let start = clock.now
            for first in stride(from: 0, to: count, by: batch) {
                let n = min(batch, count - first)
                let names = (first..<(first + n)).map { (cellFolder as NSString).appendingPathComponent(String(format: "%05d.png", $0)) }
                if names.allSatisfy({ FileManager.default.fileExists(atPath: $0) }) {
                    try progress(k, first + n)
                    continue
                }
                let shape = [n] + sampleShape()
                try unet.checkInput(shape: shape)
                var sampler = try Sampler(model: unet, scheduler: ddim, shape: shape, steps: cell.steps, noise: cell.noise,
                                          spacing: spacing, source: PerSampleNoise(firstSeed: firstSeed &+ UInt64(first), count: n))
                let x0 = try sampler.run().sample
                try ImageExport.writeEach(x0, to: cellFolder, first: first, text: text)
                made += n
                try progress(k, first + n)
            }
            let seconds = (clock.now - start).milliseconds / 1e3
            reports.append(SweepReport(steps: cell.steps, eta: cell.noise.label, folder: cell.folderName, samples: count, made: made,
                                       seconds: seconds))
        }
        let manifest = SweepManifest(model: name, count: count, firstSeed: firstSeed,
                                     spacing: (spacing ?? scheduler.timestepSpacing).rawValue, cells: reports)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let url = URL(fileURLWithPath: folder).appendingPathComponent("sweep.json")
        let json: Data
        do {
            json = try encoder.encode(manifest)
        } catch {
            throw ImagingError.cannotWrite(path: url.path, reason: "\(error)")
        }
        try AtomicFile.write(Array(json), to: url.path)
        return reports
    }
}

/// `sweep.json`: what a sweep made, for the scorer.
struct SweepManifest: Encodable {
    let model: String, count: Int, firstSeed: UInt64, spacing: String
    let cells: [SweepReport]

    enum CodingKeys: String, CodingKey {
        case model, count, firstSeed = "first_seed", spacing, cells
    }
}
