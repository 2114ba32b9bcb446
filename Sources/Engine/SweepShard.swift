import Foundation

/// Part `index` of `count` of a sweep's work (`ddim sweep --shard I/N`), for array jobs: N copies
/// of one command, each drawing its own part of every cell into one shared folder.
///
/// A cell's samples are drawn in batches of `--batch`: batch j holds samples j·B … j·B + B − 1.
/// Shard i draws the batches j with (j + h(cell)) mod N = i, where h is a fixed hash of the cell's
/// folder name, so every shard gets an equal share of every cell (and the extra batches of cells
/// that do not divide evenly fall to different shards), whatever other cells the command lists.
/// Each batch is drawn whole, exactly as an unsharded run draws it, so a sample is the same file,
/// byte for byte, whichever shard or run draws it.
public struct SweepShard: Sendable, Equatable, CustomStringConvertible {
    /// i, counted from 0.
    public let index: Int
    /// N ≥ 1.
    public let count: Int

    /// The largest N taken (far more than any array job has tasks).
    public static let maxCount = 100_000

    /// Shard `index` of `count`, checked: 0 ≤ index < count ≤ ``maxCount``.
    public init(index: Int, count: Int) throws(SweepShardError) {
        guard (1...Self.maxCount).contains(count) else {
            throw SweepShardError(description: "--shard: the shard count must be between 1 and \(Self.maxCount) (got \(count))")
        }
        guard (0..<count).contains(index) else {
            throw SweepShardError(description: "--shard \(index)/\(count): the index counts from 0, so it must be between 0 and \(count - 1)")
        }
        (self.index, self.count) = (index, count)
    }

    /// "i/N".
    public var description: String { "\(index)/\(count)" }

    /// The shard's own record in the sweep folder's `shards/`: `shard-0003-of-0004.json`.
    public var recordName: String { String(format: "shard-%04d-of-%04d.json", index, count) }

    /// Whether this shard draws batch `batch` of the cell whose folder is `cell`.
    public func owns(batch: Int, cell: String) -> Bool {
        (batch + Self.offset(cell)) % count == index
    }

    /// h(cell): FNV-1a 64 of the folder name, as a non-negative Int below 2³¹; the same on every
    /// machine and run.
    static func offset(_ cell: String) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in cell.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return Int(h % 0x8000_0000)
    }

    /// Reads a `--shard` value: `I/N`, or `auto` (and `auto/N`) from an array-job engine's
    /// environment:
    /// - Slurm (`sbatch --array`): `SLURM_ARRAY_TASK_ID`, with `SLURM_ARRAY_TASK_MIN`,
    ///   `_MAX` and `_STEP` for the position in the range and `SLURM_ARRAY_TASK_COUNT` as a check
    ///   (an array of ids not evenly spaced, like `--array=1,4,5`, is refused: it has no position).
    /// - A Kubernetes Indexed Job: `JOB_COMPLETION_INDEX`, which gives no count: `auto/N` must.
    /// An N given with `auto/N` is the count (Slurm's is then checked against it).
    public static func parse(_ spec: String, environment: [String: String]) throws(SweepShardError) -> SweepShard {
        let parts = spec.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2, let first = parts.first else { throw badSpec(spec) }
        var given: Int?
        if parts.count == 2 {
            guard let n = Int(parts[1]), !parts[1].hasPrefix("+") else { throw badSpec(spec) }
            given = n
        }
        if first == "auto" { return try fromEnvironment(environment, count: given, spec: spec) }
        guard let i = Int(first), !first.hasPrefix("+"), let n = given else { throw badSpec(spec) }
        return try SweepShard(index: i, count: n)
    }

    private static func badSpec(_ spec: String) -> SweepShardError {
        SweepShardError(description: "--shard \(spec): expected I/N (shard I of N, counting from 0, like 0/4), auto or auto/N")
    }

    private static func fromEnvironment(_ env: [String: String], count given: Int?, spec: String) throws(SweepShardError) -> SweepShard {
        func number(_ name: String) throws(SweepShardError) -> Int? {
            guard let text = env[name] else { return nil }
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= 0 else {
                throw SweepShardError(description: "--shard \(spec): \(name)=\(text) is not a whole number ≥ 0")
            }
            return value
        }
        if let id = try number("SLURM_ARRAY_TASK_ID") {
            let low = try number("SLURM_ARRAY_TASK_MIN") ?? 0
            let step = max(try number("SLURM_ARRAY_TASK_STEP") ?? 1, 1)
            guard id >= low, (id - low) % step == 0 else {
                throw SweepShardError(description: "--shard \(spec): SLURM_ARRAY_TASK_ID=\(id) is not in the range from SLURM_ARRAY_TASK_MIN=\(low) by \(step)")
            }
            let tasks = try number("SLURM_ARRAY_TASK_COUNT")
            var span: Int?
            if let high = try number("SLURM_ARRAY_TASK_MAX"), high >= low { span = (high - low) / step + 1 }
            if let tasks, let span, tasks != span {
                throw SweepShardError(description: "--shard \(spec): the array's ids are not an evenly spaced range (SLURM_ARRAY_TASK_COUNT=\(tasks), but MIN..MAX by STEP spans \(span)); use --array=0-\(tasks - 1) or give --shard I/N")
            }
            guard let count = given ?? span ?? tasks else {
                throw SweepShardError(description: "--shard \(spec): SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_MAX nor SLURM_ARRAY_TASK_COUNT says how many tasks; give --shard auto/N")
            }
            if let given, let slurm = span ?? tasks, given != slurm {
                throw SweepShardError(description: "--shard \(spec): the Slurm array has \(slurm) tasks, not \(given)")
            }
            return try SweepShard(index: (id - low) / step, count: count)
        }
        if let index = try number("JOB_COMPLETION_INDEX") {
            guard let count = given else {
                throw SweepShardError(description: "--shard \(spec): JOB_COMPLETION_INDEX=\(index) gives the index but not the count; give --shard auto/N with the job's completions")
            }
            return try SweepShard(index: index, count: count)
        }
        if env["SLURM_JOB_ID"] != nil {
            throw SweepShardError(description: "--shard \(spec): this Slurm job is not an array job (no SLURM_ARRAY_TASK_ID); submit it with sbatch --array=0-N-1")
        }
        throw SweepShardError(description: "--shard \(spec): no array-job index in the environment (SLURM_ARRAY_TASK_ID from sbatch --array, JOB_COMPLETION_INDEX from a Kubernetes Indexed Job); give --shard I/N")
    }
}

/// A `--shard` value that names no shard, with one line saying why.
public struct SweepShardError: Error, CustomStringConvertible {
    /// The line, naming the flag and the value or variable at fault.
    public let description: String
}
