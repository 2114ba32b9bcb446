import Files
import Foundation
import Imaging
import Output

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
    /// The guidance weight w of a model with a null class (absent for others).
    var guidance: Float? = nil
    /// Samples per forward pass: a sample's last bits depend on the batch it is drawn in (BLAS
    /// blocks differ), so every image of a folder is drawn in the same batches. Absent from
    /// records made before it was kept, which take any.
    var batch: Int? = nil
    /// The Winograd products' arithmetic when not fp32 ("bf16"; absent for fp32, and from
    /// records made before it was kept).
    var precision: String? = nil

    enum CodingKeys: String, CodingKey {
        case model, modelFingerprint = "model_fingerprint", firstSeed = "first_seed", spacing, clip, classLabel = "class_label", guidance, batch
        case precision
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
        if guidance != other.guidance {
            out.append("guidance \(other.guidance.map(LoadedModel.label(guidance:)) ?? "none") → \(guidance.map(LoadedModel.label(guidance:)) ?? "none")")
        }
        if precision != other.precision { out.append("precision \(other.precision ?? "fp32") → \(precision ?? "fp32")") }
        if let batch, let old = other.batch, batch != old {
            out.append("batch \(old) → \(batch), which would change the last bits of some samples")
        }
        return out
    }

    /// Whether a folder recording `other` may take this run's images.
    func matches(_ other: SweepSettings) -> Bool { differences(from: other).isEmpty }
}

/// `sweep.json`: what made the folder (``SweepSettings``) and every cell it holds, for the scorer
/// and for reruns.
struct SweepManifest: Codable {
    var settings: SweepSettings
    /// Samples per cell asked for by the last run.
    var count: Int
    /// Every cell made in this folder, in the order made.
    var cells: [SweepReport]
    /// The shards whose records (`shards/`) the last unsharded run (the merge) found.
    var shards: [SweepShardRecord.Summary]? = nil

    /// The largest record read back (real ones are kilobytes).
    static let readLimit = ReadLimit(bytes: 16 << 20, what: "a sweep.json")

    enum CodingKeys: String, CodingKey {
        case settings, count, cells, shards
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
        shards = try c.decodeIfPresent([SweepShardRecord.Summary].self, forKey: .shards)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(settings, forKey: .settings)
        try c.encode(count, forKey: .count)
        try c.encode(cells, forKey: .cells)
        try c.encodeIfPresent(shards, forKey: .shards)
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
        try AtomicFile.write(try SweepJSON.encode(self, for: path), to: path)
    }

    /// The record at `path` only if there is none yet (of several shards starting at once, one
    /// writes it); false when one was there.
    func create(at path: String) throws -> Bool {
        try AtomicFile.create(try SweepJSON.encode(self, for: path), at: path)
    }

    private static func reason(_ error: any Error) -> String {
        if case DecodingError.keyNotFound(let key, _) = error { return "no field \(key.stringValue)" }
        return "not the JSON of a sweep record"
    }
}

/// `shards/shard-I-of-N.json`: what one shard of a sweep did, written by that shard alone (so
/// shards running at once never write the same file), first when it starts and again after each
/// cell. The merge reads them to say which shards finished and where they ran.
struct SweepShardRecord: Codable {
    /// "i/N".
    var shard: String
    var settings: SweepSettings
    /// Samples per cell the shard's command asked for.
    var count: Int
    /// Where it ran: the host name and ddim's kernel path (avx512, avx2, portable), which can
    /// change a sample's last bits.
    var host: String, kernels: String
    /// Whether it went through every cell of its command.
    var finished: Bool
    /// Its cells: `made` counts the samples this shard drew.
    var cells: [SweepReport]

    /// The largest record read back.
    static let readLimit = ReadLimit(bytes: 16 << 20, what: "a shard record")

    /// One line of the merge's summary.
    struct Summary: Codable, Equatable {
        var shard: String, host: String, kernels: String
        var finished: Bool
        var made: Int
        var seconds: Double
    }

    /// Its summary.
    var summary: Summary {
        Summary(shard: shard, host: host, kernels: kernels, finished: finished,
                made: cells.reduce(0) { $0 + $1.made }, seconds: cells.reduce(0) { $0 + $1.seconds })
    }

    /// The record, atomically.
    func write(to path: String) throws {
        try AtomicFile.write(try SweepJSON.encode(self, for: path), to: path)
    }

    /// Every readable shard record in `folder` (`shard-*.json`), by name; unreadable ones are
    /// returned as warnings naming the file.
    static func readAll(in folder: String) -> (records: [SweepShardRecord], unreadable: [String]) {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { $0.hasPrefix("shard-") && $0.hasSuffix(".json") }.sorted()
        var records: [SweepShardRecord] = [], unreadable: [String] = []
        for name in names {
            let path = OutputPath.join(folder, name)
            do {
                let bytes = try InputFile.contents(of: path, limit: readLimit)
                records.append(try JSONDecoder().decode(SweepShardRecord.self, from: Data(bytes)))
            } catch {
                unreadable.append(OutputPath.display(path))
            }
        }
        return (records, unreadable)
    }
}

/// The JSON of the sweep's records: pretty, keys sorted (diffable, stable).
enum SweepJSON {
    static func encode(_ value: some Encodable, for path: String) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { return Array(try encoder.encode(value)) } catch { throw ImagingError.cannotWrite(path: path, reason: "\(error)") }
    }
}
