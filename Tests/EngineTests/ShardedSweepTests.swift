import Foundation
import Testing
import Tensors

/// `ddim sweep --shard` as array jobs run it: shards at once into one folder, a shard killed and
/// run again, the merge, refusals (issue #22).
@Suite("Sharded sweeps")
struct ShardedSweepTests {
    let tiny = fixtures.appendingPathComponent("pipeline/tiny").path
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-shards-\(UUID().uuidString)").path
    /// Four cells, 30 samples in batches of 4 (8 batches a cell, the last one of 2).
    let grid = ["--steps", "5,20", "--eta", "0,1", "--n", "30", "--batch", "4", "-q"]

    func sweep(_ dir: String, _ extra: [String] = [], signal: (Int32, after: Double)? = nil, environment: [String: String] = [:]) throws -> Run {
        try Run(["sweep", "--model", tiny] + grid + ["--out-dir", "\(root)/\(dir)"] + extra, signal: signal, environment: environment)
    }

    /// Every file under `dir`, relative, sorted.
    func files(_ dir: String) -> [String] {
        let base = "\(root)/\(dir)"
        let all = FileManager.default.enumerator(atPath: base)?.allObjects as? [String] ?? []
        return all.filter { path in
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: "\(base)/\(path)", isDirectory: &isDir) && !isDir.boolValue
        }.sorted()
    }

    /// The sample images under `dir` by relative path, with their bytes.
    func images(_ dir: String) -> [String: Data] {
        var out: [String: Data] = [:]
        for path in files(dir) where path.hasSuffix(".png") {
            out[path] = FileManager.default.contents(atPath: "\(root)/\(dir)/\(path)")
        }
        return out
    }

    func json(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(root)/\(path)"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Starts `ddim` with `arguments` without waiting.
    func start(_ arguments: [String]) throws -> Process {
        let p = Process()
        p.executableURL = ddimBinary
        p.arguments = arguments
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    @Test("three shards at once into one folder: every image byte-identical to an unsharded run, nothing stray; the merge draws nothing")
    func parallel() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try sweep("whole").status == 0)
        let reference = images("whole")
        #expect(reference.count == 4 * 30)

        let shards = try (0..<3).map { i in try start(["sweep", "--model", tiny] + grid + ["--out-dir", "\(root)/split", "--shard", "\(i)/3"]) }
        for p in shards { p.waitUntilExit() }
        #expect(shards.map(\.terminationStatus) == [0, 0, 0])
        // the union is the whole sweep, before any merge
        #expect(images("split") == reference)
        let expected = Set(reference.keys).union(["sweep.json", "shards/shard-0000-of-0003.json", "shards/shard-0001-of-0003.json", "shards/shard-0002-of-0003.json"])
        #expect(Set(files("split")) == expected, "\(files("split"))")
        let own = try json("split/shards/shard-0001-of-0003.json")
        #expect(own["finished"] as? Bool == true && own["shard"] as? String == "1/3")
        let made = (own["cells"] as? [[String: Any]])?.compactMap { $0["made"] as? Int } ?? []
        // 8 batches a cell over 3 shards: 2 or 3 batches, 6 to 12 samples, each
        #expect(made.count == 4 && made.allSatisfy { (6...12).contains($0) }, "\(made)")

        let merge = try sweep("split")
        #expect(merge.status == 0 && merge.stderr.isEmpty, "\(merge.stderr)")
        let summary = try json("split/sweep.json")
        #expect((summary["cells"] as? [[String: Any]])?.map { $0["made"] as? Int } == [0, 0, 0, 0])
        #expect((summary["cells"] as? [[String: Any]])?.map { $0["samples"] as? Int } == [30, 30, 30, 30])
        let listed = (summary["shards"] as? [[String: Any]])?.compactMap { $0["shard"] as? String }
        #expect(listed == ["0/3", "1/3", "2/3"])
        #expect(images("split") == reference)
    }

    @Test("a shard killed mid-cell: rerun, it draws only what is missing; a merge after a lost shard fills its share and says so")
    func killedShard() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try sweep("whole").status == 0)
        let reference = images("whole")

        // killed once its record says it started and its first images may be out (polled: a loaded
        // machine may take seconds to load the model)
        let shard = try start(["sweep", "--model", tiny] + grid + ["--out-dir", "\(root)/split", "--shard", "0/2", "--steps", "200"])
        let started = Date()
        while !FileManager.default.fileExists(atPath: "\(root)/split/shards/shard-0000-of-0002.json"), Date().timeIntervalSince(started) < 30 {
            usleep(20_000)
        }
        usleep(200_000)
        kill(shard.processIdentifier, SIGKILL)
        shard.waitUntilExit()
        #expect(shard.terminationReason == .uncaughtSignal, "the shard ended before it was killed: make its work longer")
        let record = try json("split/shards/shard-0000-of-0002.json")
        #expect(record["finished"] as? Bool == false)
        // SIGKILL cannot be handled: a write in flight may leave its temporary file, never a partial image
        let temporaries = files("split").filter { !($0.hasSuffix(".png") || $0.hasSuffix(".json")) }
        #expect(temporaries.allSatisfy { ($0 as NSString).lastPathComponent.hasPrefix(".") && $0.contains(".tmp-") }, "\(temporaries)")
        // one more, as a killed write leaves it, aged past the time any write takes: the next run removes it
        // (a loaded machine may have killed the shard before its first image: the cell folder made here then)
        try FileManager.default.createDirectory(atPath: "\(root)/split/s200-e0", withIntermediateDirectories: true)
        let cell = "s200-e0"
        let leftover = "\(root)/split/\(cell)/.00029.png.tmp-AbC123"
        #expect(FileManager.default.createFile(atPath: leftover, contents: Data([0x89, 0x50])))
        let young = "\(root)/split/\(cell)/.00028.png.tmp-XyZ789"
        #expect(FileManager.default.createFile(atPath: young, contents: Data([0x89])))
        for path in [leftover] + temporaries.map({ "\(root)/split/\($0)" }) {
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -600)], ofItemAtPath: path)
        }

        // the grid of the reference (S = 5, 20) into another folder: the killed run's S = 200 cells differ
        let again = try sweep("again", ["--shard", "0/2"])
        #expect(again.status == 0, "\(again.stderr)")
        // shard 1 never runs: the merge draws its share and says which shard left nothing
        let merge = try sweep("again")
        #expect(merge.status == 0 && merge.stderr.contains("Warning: shard 1/2 left no record; this run drew their share"), "\(merge.stderr)")
        #expect(images("again") == reference)

        // the killed shard rerun draws only what it had not written, then the other shard: the S = 200 folder is whole
        let left = images("split").count
        let rerun = try sweep("split", ["--shard", "0/2", "--steps", "200"])
        #expect(rerun.status == 0 && rerun.stderr.contains("temporary file"), "\(rerun.stderr)")
        #expect(!FileManager.default.fileExists(atPath: leftover), "an old temporary file is removed")
        #expect(FileManager.default.fileExists(atPath: young), "a young one may be another shard's write in flight: kept")
        try FileManager.default.removeItem(atPath: young)
        let rerunRecord = try json("split/shards/shard-0000-of-0002.json")
        #expect(rerunRecord["finished"] as? Bool == true)
        let drawn = (rerunRecord["cells"] as? [[String: Any]])?.compactMap { $0["made"] as? Int }.reduce(0, +) ?? -1
        #expect(drawn == images("split").count - left, "the rerun drew \(drawn) samples; \(left) were there")
        #expect(try sweep("split", ["--shard", "1/2", "--steps", "200"]).status == 0)
        let whole200 = try sweep("whole200", ["--steps", "200"])
        #expect(whole200.status == 0)
        #expect(images("split") == images("whole200"))
        #expect(files("split").allSatisfy { $0.hasSuffix(".png") || $0.hasSuffix(".json") }, "\(files("split"))")
    }

    @Test("refused: a shard of other settings into a sweep's folder, --redo with --shard, bad specs, auto outside an array job")
    func refusals() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try sweep("s", ["--shard", "0/2"]).status == 0)
        let before = images("s")
        let seed = try sweep("s", ["--shard", "1/2", "--seed", "1"])
        #expect(seed.status == 1 && seed.errorLine.contains("holds a sweep of other settings (seed 0 → 1)"), "\(seed.stderr)")
        let batch = try sweep("s", ["--shard", "1/2", "--batch", "5"])
        #expect(batch.status == 1 && batch.errorLine.contains("batch 4 → 5"), "\(batch.stderr)")
        if ConvPolicy.Precision.bf16.supported {
            // bf16 draws other pictures: a folder of fp32 ones refuses them
            let half = try sweep("s", ["--shard", "1/2", "--precision", "bf16"])
            #expect(half.status == 1 && half.errorLine.contains("precision fp32 → bf16"), "\(half.stderr)")
        }
        let merge = try sweep("s", ["--seed", "1"])
        #expect(merge.status == 1 && merge.errorLine.contains("seed 0 → 1"), "\(merge.stderr)")
        #expect(images("s") == before)

        let redo = try sweep("s", ["--shard", "1/2", "--redo"])
        #expect(redo.status == 64 && redo.errorLine.contains("--redo deletes every shard's images"), "\(redo.stderr)")
        for (spec, says) in [("2/2", "between 0 and 1"), ("1", "expected I/N"), ("x/2", "expected I/N"), ("1/0", "between 1 and")] {
            let r = try sweep("s", ["--shard", spec])
            #expect(r.status == 64 && r.errorLine.contains("--shard") && r.errorLine.contains(says), "\(spec): \(r.stderr)")
        }
        let unset = ["SLURM_ARRAY_TASK_ID", "SLURM_JOB_ID", "JOB_COMPLETION_INDEX"].filter { ProcessInfo.processInfo.environment[$0] != nil }
        if unset.isEmpty {
            let auto = try sweep("s", ["--shard", "auto"])
            #expect(auto.status == 64 && auto.errorLine.contains("no array-job index in the environment"), "\(auto.stderr)")
        }
        #expect(images("s") == before)
    }

    @Test("--shard auto under a Slurm array task's environment draws that task's shard")
    func autoSlurm() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let env = ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "2", "SLURM_ARRAY_TASK_MAX": "3", "SLURM_ARRAY_TASK_COUNT": "2"]
        let r = try Run(["sweep", "--model", tiny, "--steps", "5", "--eta", "0", "--n", "8", "--batch", "2", "--out-dir", "\(root)/auto", "--shard", "auto"],
                        environment: env)
        #expect(r.status == 0 && r.stdout.hasPrefix("shard 1/2 of "), "\(r.stdout) \(r.stderr)")
        #expect(files("auto").contains("shards/shard-0001-of-0002.json"))
        #expect(images("auto").count == 4)
    }
}
