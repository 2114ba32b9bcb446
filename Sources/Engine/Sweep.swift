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

/// A sweep folder that another sweep made, refused before anything is sampled into it.
struct SweepFolderError: Error, CustomStringConvertible {
    /// One line naming the folder and what differs.
    let description: String
}

/// What a sweep did: a report per cell, and warnings for the user (a merge's notes on the
/// shards it found).
public struct SweepOutcome: Sendable {
    /// One per cell, in the order of the command's cells.
    public var reports: [SweepReport]
    /// Lines worth saying (shards that did not finish, shards on other kernels, unreadable records).
    public var warnings: [String]
}

extension LoadedModel {
    /// Samples `count` images in every cell into `folder/<cell>/00000.png…`. Sample i of every cell
    /// starts from the same x_T: its own torch generator seeded `firstSeed + i` (x_T, then its
    /// η-noise), and is drawn in batch ⌊i / `batch`⌋ of its cell, so a cell is reproducible on its
    /// own, byte for byte. Only the samples whose files are missing are drawn (a batch with any
    /// missing is drawn whole, its missing files written), so an interrupted sweep resumes.
    ///
    /// `folder/sweep.json` records the settings (``SweepSettings``) before the first image and
    /// every cell as it completes. A folder recording other settings, or holding cell images with
    /// no record, is refused (``SweepFolderError``) unless `redo`, which deletes the images of the
    /// cells it recorded and samples everything again.
    ///
    /// With a `shard`, only its batches are drawn (``SweepShard``); sweep.json is created if
    /// missing (by one shard only) and never rewritten, and the shard records itself in
    /// `folder/shards/`. Without one, the run is the merge: it draws whatever is missing and
    /// writes the summary, listing the shard records it found.
    public func sweep(
        cells: [SweepCell], count: Int, firstSeed: UInt64, batch: Int, into folder: String, spacing: TimestepSpacing? = nil,
        redo: Bool = false, shard: SweepShard? = nil,
        progress: (_ done: Int, _ total: Int, _ cell: Int) throws -> Void = { _, _, _ in }
    ) throws -> SweepOutcome {
        try ImageExport.checkPicture(channels: sampleShape()[0])
        if shard != nil, redo {
            throw SweepFolderError(description: "--redo deletes every shard's images: run it once without --shard, then start the shards")
        }
        let settings = SweepSettings(
            model: name, modelFingerprint: try fingerprint(), firstSeed: firstSeed,
            spacing: (spacing ?? scheduler.timestepSpacing).rawValue,
            clip: scheduler.clipSample ? String(format: "%g", scheduler.clipSampleRange) : "off", classLabel: classLabel,
            guidance: nullClass == nil ? nil : guidance, batch: batch,
            precision: precision == .float32 ? nil : precision.rawValue)
        let recordPath = OutputPath.join(folder, "sweep.json")
        var record = try SweepManifest.read(recordPath)
        if let old = record, !settings.matches(old.settings), !redo { throw Self.otherSweep(folder, settings, old.settings) }
        if record == nil, !redo, let stray = cells.first(where: { !Self.images(in: OutputPath.join(folder, $0.folderName)).isEmpty }) {
            throw SweepFolderError(description: "\(OutputPath.display(OutputPath.join(folder, stray.folderName))) holds images but \(OutputPath.display(folder)) has no sweep.json saying what made them; give another --out-dir, or --redo to replace them")
        }
        if redo {
            let stale = Set((record?.cells.map(\.folder) ?? []) + cells.map(\.folderName))
            for cell in stale.sorted() { try Self.removeImages(in: OutputPath.join(folder, cell)) }
            record = nil
        }
        // the record first: an interrupted sweep's folder already says what it holds
        var manifest = record ?? SweepManifest(settings: settings, count: count, cells: [])
        var shardRecord: SweepShardRecord?
        let shardFolder = OutputPath.join(folder, "shards")
        if let shard {
            // of shards starting at once one creates sweep.json; the others check theirs against it
            if record == nil {
                let created = try manifest.create(at: recordPath)
                if !created, let first = try SweepManifest.read(recordPath), !settings.matches(first.settings) {
                    throw Self.otherSweep(folder, settings, first.settings)
                }
            }
            try Self.makeFolder(shardFolder)
            shardRecord = SweepShardRecord(shard: shard.description, settings: settings, count: count, host: Self.hostName(),
                                           kernels: Threads.kernelPath, finished: false, cells: [])
            try shardRecord?.write(to: OutputPath.join(shardFolder, shard.recordName))
        } else {
            manifest.settings = settings
            manifest.count = count
            try manifest.write(to: recordPath)
        }

        // temporary files of writes cut short by SIGKILL (or a crash), which no handler could remove;
        // only old ones: a younger one may be another shard's write in flight
        var stale = 0
        for f in [folder, shardFolder] + cells.map({ OutputPath.join(folder, $0.folderName) }) {
            stale += Self.removeStaleTemporaries(in: f, olderThan: Self.staleAge)
        }

        // the batches to draw: every batch of every cell, or this shard's
        let batches = (count + batch - 1) / batch
        let mine = cells.map { cell in (0..<batches).filter { shard?.owns(batch: $0, cell: cell.folderName) ?? true } }
        let total = mine.joined().reduce(0) { $0 + min(batch, count - $1 * batch) }
        var done = 0
        var reports: [SweepReport] = []
        let clock = ContinuousClock()
        for (k, cell) in cells.enumerated() {
            let cellFolder = OutputPath.join(folder, cell.folderName)
            let request = SampleRequest(steps: cell.steps, noise: cell.noise, seed: firstSeed, batch: count, spacing: spacing)
            var text = request.parameterText(model: self)
            text.append(("Seeds", "\(firstSeed)+i (one torch generator per sample)"))
            var made = 0
            let start = clock.now
            for j in mine[k] {
                let first = j * batch
                let n = min(batch, count - first)
                let paths = (first..<(first + n)).map { OutputPath.join(cellFolder, String(format: "%05d.png", $0)) }
                let missing = paths.indices.filter { !FileManager.default.fileExists(atPath: paths[$0]) }
                if !missing.isEmpty {
                    let shape = [n] + sampleShape()
                    try unet.checkInput(shape: shape)
                    var sampler = try Sampler(model: denoiser, scheduler: ddim, shape: shape, steps: cell.steps, noise: cell.noise,
                                              spacing: spacing, source: PerSampleNoise(firstSeed: firstSeed &+ UInt64(first), count: n))
                    let pictures = try ImageExport.images(try sampler.run().sample)
                    try Self.makeFolder(cellFolder)
                    for i in missing {
                        try PNGWriter().write(pictures[i], to: paths[i], text: text.map { PNGText($0.0, $0.1) })
                    }
                    made += missing.count
                }
                done += n
                try progress(done, total, k)
            }
            let seconds = (clock.now - start).milliseconds / 1e3
            let report = SweepReport(steps: cell.steps, eta: cell.noise.label, folder: cell.folderName,
                                     samples: Self.images(in: cellFolder).count, made: made, seconds: seconds)
            reports.append(report)
            if let shard, var own = shardRecord {
                own.cells.append(report)
                own.finished = k == cells.count - 1
                try own.write(to: OutputPath.join(shardFolder, shard.recordName))
                shardRecord = own
            } else {
                manifest.cells.removeAll { $0.folder == report.folder }
                manifest.cells.append(report)
                try manifest.write(to: recordPath)
            }
        }
        if let shard, var own = shardRecord, !own.finished {
            // a command with no cells still finishes
            own.finished = true
            try own.write(to: OutputPath.join(shardFolder, shard.recordName))
        }
        var warnings: [String] = []
        if stale > 0 {
            warnings.append("removed \(stale) temporary file\(stale == 1 ? "" : "s") left by a run that was killed while writing")
        }
        if shard == nil {
            let (found, unreadable) = SweepShardRecord.readAll(in: shardFolder)
            warnings += unreadable.map { "\($0) is not a shard record this ddim can read; left out of the summary" }
            let unfinished = found.filter { !$0.finished }.map(\.shard)
            if !unfinished.isEmpty {
                warnings.append("shard\(unfinished.count == 1 ? "" : "s") \(unfinished.joined(separator: ", ")) did not finish; this run drew what they left")
            }
            // shards of an N whose records are not all there never started (or their folder was lost)
            let named = Set(found.map(\.shard))
            for n in Set(found.compactMap { Int($0.shard.split(separator: "/").last ?? "") }).sorted() {
                let absent = (0..<n).map { "\($0)/\(n)" }.filter { !named.contains($0) }
                if !absent.isEmpty {
                    warnings.append("shard\(absent.count == 1 ? "" : "s") \(absent.prefix(8).joined(separator: ", "))\(absent.count > 8 ? ", …" : "") left no record; this run drew their share")
                }
            }
            let kernels = Set(found.map(\.kernels) + [Threads.kernelPath])
            if kernels.count > 1 {
                warnings.append("the shards ran on \(kernels.sorted().joined(separator: " and ")) kernels: their images can differ from one machine's in the last bit of a pixel")
            }
            if !found.isEmpty {
                manifest.shards = found.map(\.summary)
                try manifest.write(to: recordPath)
            }
        }
        return SweepOutcome(reports: reports, warnings: warnings)
    }

    /// The refusal of a folder that holds a sweep of other settings.
    private static func otherSweep(_ folder: String, _ settings: SweepSettings, _ old: SweepSettings) -> SweepFolderError {
        SweepFolderError(description: "\(OutputPath.display(folder)) holds a sweep of other settings (\(settings.differences(from: old).joined(separator: ", "))); give another --out-dir, or --redo to replace it")
    }

    /// Creates `folder` (and its parents) if missing.
    private static func makeFolder(_ folder: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw ImagingError.cannotWrite(path: folder, reason: "cannot create the folder")
        }
    }

    /// How old a temporary file must be to count as left behind: no write of a sample or a
    /// record takes that long.
    static let staleAge: Double = 300

    /// Removes the temporary files of ``AtomicFile`` (`.NAME.tmp-XXXXXX`) for sample images and
    /// records in `folder` last changed more than `age` seconds ago; returns how many.
    static func removeStaleTemporaries(in folder: String, olderThan age: Double) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var removed = 0
        let now = Date().timeIntervalSince1970
        for name in names where name.hasPrefix(".") && (name.contains(".png.tmp-") || name.contains(".json.tmp-")) {
            let path = OutputPath.join(folder, name)
            var info = stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            guard now - Double(info.st_mtim.tv_sec) > age else { continue }
            if unlink(path) == 0 { removed += 1 }
        }
        return removed
    }

    /// This machine's name, for the shard records.
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
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

