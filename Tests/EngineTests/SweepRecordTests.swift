import Foundation
import Testing

/// A sweep folder records what made it (issue #16: a rerun with another seed kept the old images
/// and rewrote sweep.json to say otherwise).
@Suite("Sweep records")
struct SweepRecordTests {
    let tiny = fixtures.appendingPathComponent("pipeline/tiny").path
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-sweeprec-\(UUID().uuidString)").path

    func sweep(_ extra: [String]) throws -> Run {
        try Run(["sweep", "--model", tiny, "--steps", "2", "--eta", "0", "--n", "2", "--batch", "2", "--out-dir", dir, "-q"] + extra)
    }

    func record() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/sweep.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func image(_ cell: String, _ i: Int) -> Data? { FileManager.default.contents(atPath: "\(dir)/\(cell)/\(String(format: "%05d", i)).png") }

    @Test("a rerun with another seed is refused and changes nothing; --redo replaces the images and the record")
    func otherSeed() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try sweep(["--seed", "1"]).status == 0)
        let before = try #require(image("s2-e0", 0))
        let settings = try #require(try record()["settings"] as? [String: Any])
        #expect(settings["first_seed"] as? Int == 1 && (settings["model_fingerprint"] as? String)?.hasPrefix("fnv1a64:") == true)

        let other = try sweep(["--seed", "2"])
        #expect(other.status == 1 && other.errorLine.contains("holds a sweep of other settings (seed 1 → 2)"), "\(other.stderr)")
        #expect(image("s2-e0", 0) == before)
        #expect((try record()["settings"] as? [String: Any])?["first_seed"] as? Int == 1)

        let redo = try sweep(["--seed", "2", "--redo"])
        #expect(redo.status == 0, "\(redo.stderr)")
        #expect(image("s2-e0", 0) != before)
        #expect((try record()["settings"] as? [String: Any])?["first_seed"] as? Int == 2)
    }

    @Test("another model (same name, other weights) is refused")
    func otherModel() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try sweep([]).status == 0)
        // a copy of the tiny pipeline whose scheduler differs by one β: same folder name, other content
        let copies = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-copy-\(UUID().uuidString)").path
        let copy = copies + "/tiny"
        try FileManager.default.createDirectory(atPath: copies, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: copies) }
        try FileManager.default.copyItem(atPath: tiny, toPath: copy)
        let schedulerPath = copy + "/scheduler/scheduler_config.json"
        var scheduler = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: schedulerPath))) as? [String: Any])
        scheduler["beta_end"] = 0.021
        try JSONSerialization.data(withJSONObject: scheduler).write(to: URL(fileURLWithPath: schedulerPath))
        let r = try Run(["sweep", "--model", copy, "--steps", "2", "--eta", "0", "--n", "2", "--out-dir", dir, "-q"])
        #expect(r.status == 1 && r.errorLine.contains("model content"), "\(r.stderr)")
    }

    @Test("cells accumulate in the record across runs; a larger --n extends; an interrupted run's record already names its settings")
    func accumulate() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try sweep([]).status == 0)
        #expect(try sweep(["--steps", "3", "--n", "3"]).status == 0)
        let cells = try #require(try record()["cells"] as? [[String: Any]])
        #expect(cells.map { $0["folder"] as? String } == ["s2-e0", "s3-e0"])
        #expect(cells.map { $0["samples"] as? Int } == [2, 3])
        // the old scorer's fields are still there
        #expect(try record()["model"] as? String == "tiny")

        // images without a record (say, a run of an older ddim): refused, not mixed
        try FileManager.default.removeItem(atPath: dir + "/sweep.json")
        let stray = try sweep([])
        #expect(stray.status == 1 && stray.errorLine.contains("has no sweep.json"), "\(stray.stderr)")
        let redo = try sweep(["--redo"])
        #expect(redo.status == 0, "\(redo.stderr)")
    }

    @Test("interrupted by a signal after the first cell: the record names the settings and the finished cell")
    func interrupted() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Run(["sweep", "--model", tiny, "--steps", "2,1000", "--eta", "0", "--n", "64", "--batch", "64", "--out-dir", dir, "-q"],
                        signal: (SIGTERM, after: 1.0))
        #expect(r.reason == .uncaughtSignal && r.status == SIGTERM)
        let rec = try record()
        #expect((rec["settings"] as? [String: Any])?["first_seed"] as? Int == 0)
        #expect((rec["cells"] as? [[String: Any]])?.compactMap { $0["folder"] as? String }.contains("s2-e0") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") } == [])
    }
}
