import Files
import Foundation
import Imaging
import Sampling
import Tensors
import Output

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

/// What made a sweep folder: the settings every image of it depends on besides its cell (S, η)
/// and index. A rerun into the folder must have the same, or it would mix pictures of two sweeps
/// under one record.
struct SweepSettings: Sendable, Codable, Equatable {
    /// The model's name and content (``LoadedModel/fingerprint()``).
    var model: String, modelFingerprint: String
    /// Sample i's seed is firstSeed + i.
    var firstSeed: UInt64
    /// Timestep spacing and x̂₀ clipping ("off" or the range).
    var spacing: String, clip: String
    /// The class label of a class-conditional model (absent from the record for others).
    var classLabel: Int? = nil

    enum CodingKeys: String, CodingKey {
        case model, modelFingerprint = "model_fingerprint", firstSeed = "first_seed", spacing, clip, classLabel = "class_label"
    }

    /// The settings that differ from `other`, as "seed 0 → 1" phrases.
    func differences(from other: SweepSettings) -> [String] {
        var out: [String] = []
        if model != other.model { out.append("model \(other.model) → \(model)") }
        if modelFingerprint != other.modelFingerprint { out.append("model content \(other.modelFingerprint) → \(modelFingerprint)") }
        if firstSeed != other.firstSeed { out.append("seed \(other.firstSeed) → \(firstSeed)") }
        if spacing != other.spacing { out.append("spacing \(other.spacing) → \(spacing)") }
        if clip != other.clip { out.append("clip \(other.clip) → \(clip)") }
        if classLabel != other.classLabel {
            out.append("class \(other.classLabel.map(String.init) ?? "none") → \(classLabel.map(String.init) ?? "none")")
        }
        return out
    }
}

/// A sweep folder that another sweep made, refused before anything is sampled into it.
struct SweepFolderError: Error, CustomStringConvertible {
    /// One line naming the folder and what differs.
    let description: String
}

extension LoadedModel {
    /// Samples `count` images in every cell into `folder/<cell>/00000.png…`. Sample i of every cell
    /// starts from the same x_T: its own torch generator seeded `firstSeed + i` (x_T, then its
    /// η-noise), so a cell is reproducible on its own and independent of `batch`. Batches whose
    /// files all exist are skipped, so an interrupted sweep resumes.
    ///
    /// `folder/sweep.json` records the settings (``SweepSettings``) before the first image and
    /// every cell as it completes. A folder recording other settings, or holding cell images with
    /// no record, is refused (``SweepFolderError``) unless `redo`, which deletes the images of the
    /// cells it recorded and samples everything again.
    public func sweep(
        cells: [SweepCell], count: Int, firstSeed: UInt64, batch: Int, into folder: String, spacing: TimestepSpacing? = nil,
        redo: Bool = false, progress: (_ cell: Int, _ done: Int) throws -> Void = { _, _ in }
    ) throws -> [SweepReport] {
        try ImageExport.checkPicture(channels: sampleShape()[0])
        let settings = SweepSettings(
            model: name, modelFingerprint: try fingerprint(), firstSeed: firstSeed,
            spacing: (spacing ?? scheduler.timestepSpacing).rawValue,
            clip: scheduler.clipSample ? String(format: "%g", scheduler.clipSampleRange) : "off", classLabel: classLabel)
        let recordPath = OutputPath.join(folder, "sweep.json")
        var record = try SweepManifest.read(recordPath)
        if let old = record, old.settings != settings {
            guard redo else {
                throw SweepFolderError(description: "\(OutputPath.display(folder)) holds a sweep of other settings (\(settings.differences(from: old.settings).joined(separator: ", "))); give another --out-dir, or --redo to replace it")
            }
        }
        if record == nil, !redo, let stray = cells.first(where: { !Self.images(in: OutputPath.join(folder, $0.folderName)).isEmpty }) {
            throw SweepFolderError(description: "\(OutputPath.display(OutputPath.join(folder, stray.folderName))) holds images but \(OutputPath.display(folder)) has no sweep.json saying what made them; give another --out-dir, or --redo to replace them")
        }
        if redo {
            let stale = Set((record?.cells.map(\.folder) ?? []) + cells.map(\.folderName))
            for cell in stale.sorted() { try Self.removeImages(in: OutputPath.join(folder, cell)) }
            record = nil
        }
        var manifest = record ?? SweepManifest(settings: settings, count: count, cells: [])
        manifest.count = count
        // the record first: an interrupted sweep's folder already says what it holds
        try manifest.write(to: recordPath)

        var reports: [SweepReport] = []
        let clock = ContinuousClock()
        for (k, cell) in cells.enumerated() {
            let cellFolder = OutputPath.join(folder, cell.folderName)
            let request = SampleRequest(steps: cell.steps, noise: cell.noise, seed: firstSeed, batch: count, spacing: spacing)
            var text = request.parameterText(model: self)
            text.append(("Seeds", "\(firstSeed)+i (one torch generator per sample)"))
            var made = 0
            let start = clock.now
            for first in stride(from: 0, to: count, by: batch) {
                let n = min(batch, count - first)
                let names = (first..<(first + n)).map { OutputPath.join(cellFolder, String(format: "%05d.png", $0)) }
                if names.allSatisfy({ FileManager.default.fileExists(atPath: $0) }) {
                    try progress(k, first + n)
                    continue
                }
                let shape = [n] + sampleShape()
                try unet.checkInput(shape: shape)
                var sampler = try Sampler(model: denoiser, scheduler: ddim, shape: shape, steps: cell.steps, noise: cell.noise,
                                          spacing: spacing, source: PerSampleNoise(firstSeed: firstSeed &+ UInt64(first), count: n))
                let x0 = try sampler.run().sample
                try ImageExport.writeEach(x0, to: cellFolder, first: first, text: text)
                made += n
                try progress(k, first + n)
            }
            let seconds = (clock.now - start).milliseconds / 1e3
            let report = SweepReport(steps: cell.steps, eta: cell.noise.label, folder: cell.folderName,
                                     samples: Self.images(in: cellFolder).count, made: made, seconds: seconds)
            reports.append(report)
            manifest.cells.removeAll { $0.folder == report.folder }
            manifest.cells.append(report)
            try manifest.write(to: recordPath)
        }
        return reports
    }

    /// The sample images (`NNNNN.png`) in `folder`; none when it does not exist.
    static func images(in folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.count == 9 && $0.hasSuffix(".png") && $0.prefix(5).allSatisfy(\.isASCIIDigit) }.sorted()
    }

    /// Deletes the sample images of a cell folder (nothing else in it), and the folder if then empty.
    static func removeImages(in folder: String) throws {
        for name in images(in: folder) {
            let path = OutputPath.join(folder, name)
            guard unlink(path) == 0 || errno == ENOENT else {
                throw ImagingError.cannotWrite(path: path, reason: "cannot remove it for --redo: \(String(cString: strerror(errno)))")
            }
        }
        rmdir(folder)
    }
}

extension Character {
    /// 0–9.
    var isASCIIDigit: Bool { isASCII && isNumber }
}

/// `sweep.json`: what made the folder (``SweepSettings``) and every cell it holds, for the scorer
/// and for reruns.
struct SweepManifest: Codable {
    var settings: SweepSettings
    /// Samples per cell asked for by the last run.
    var count: Int
    /// Every cell made in this folder, in the order made.
    var cells: [SweepReport]

    /// The largest record read back (real ones are kilobytes).
    static let readLimit = ReadLimit(bytes: 16 << 20, what: "a sweep.json")

    enum CodingKeys: String, CodingKey {
        case settings, count, cells
        case model, firstSeed = "first_seed", spacing
    }

    init(settings: SweepSettings, count: Int, cells: [SweepReport]) {
        (self.settings, self.count, self.cells) = (settings, count, cells)
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        settings = try c.decode(SweepSettings.self, forKey: .settings)
        count = try c.decode(Int.self, forKey: .count)
        cells = try c.decode([SweepReport].self, forKey: .cells)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(settings, forKey: .settings)
        try c.encode(count, forKey: .count)
        try c.encode(cells, forKey: .cells)
        // the top-level fields the scorer (scripts/eval_digits.py) read before the settings existed
        try c.encode(settings.model, forKey: .model)
        try c.encode(settings.firstSeed, forKey: .firstSeed)
        try c.encode(settings.spacing, forKey: .spacing)
    }

    /// The record at `path`; nil when there is none. One that cannot be read is an error naming it
    /// (a record from before the settings were kept counts as other settings).
    static func read(_ path: String) throws -> SweepManifest? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let bytes = try InputFile.contents(of: path, limit: readLimit)
        do {
            return try JSONDecoder().decode(SweepManifest.self, from: Data(bytes))
        } catch {
            throw SweepFolderError(description: "\(OutputPath.display(path)) is not a sweep record this ddim can read (\(Self.reason(error))); give another --out-dir, or --redo to replace it")
        }
    }

    /// The record, atomically.
    func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json: Data
        do { json = try encoder.encode(self) } catch { throw ImagingError.cannotWrite(path: path, reason: "\(error)") }
        try AtomicFile.write(Array(json), to: path)
    }

    private static func reason(_ error: any Error) -> String {
        if case DecodingError.keyNotFound(let key, _) = error { return "no field \(key.stringValue)" }
        return "not the JSON of a sweep record"
    }
}
