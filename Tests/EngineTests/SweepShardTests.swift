import Engine
import Foundation
import Testing

/// `--shard I/N` and `--shard auto`: which shard a spec and an array job's environment name, and
/// how the batches of a cell are shared out (issue #22).
@Suite("Sweep shards")
struct SweepShardTests {
    @Test("I/N: shard I of N, counted from 0; every malformed spec refused naming --shard")
    func explicit() throws {
        let s = try SweepShard.parse("2/4", environment: [:])
        #expect(s.index == 2 && s.count == 4 && s.description == "2/4" && s.recordName == "shard-0002-of-0004.json")
        #expect(try SweepShard.parse("0/1", environment: [:]) == SweepShard(index: 0, count: 1))
        for bad in ["4/4", "5/4", "-1/4", "a/4", "2", "2/0", "1/2/3", "+1/4", "1/+4", "", "/", "auto/x", "auto/0", "1/100001"] {
            #expect {
                _ = try SweepShard.parse(bad, environment: [:])
            } throws: { error in
                (error as? SweepShardError)?.description.hasPrefix("--shard") == true
            }
        }
    }

    func auto(_ env: [String: String], _ spec: String = "auto") throws -> SweepShard {
        try SweepShard.parse(spec, environment: env)
    }

    func refusal(_ env: [String: String], _ spec: String = "auto") -> String {
        do {
            _ = try auto(env, spec)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    @Test("auto: Slurm's array ranges (any MIN, STEP), checked against SLURM_ARRAY_TASK_COUNT")
    func slurm() throws {
        // sbatch --array=4-7
        #expect(try auto(["SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_MAX": "7", "SLURM_ARRAY_TASK_COUNT": "4"])
                == SweepShard(index: 1, count: 4))
        // --array=0-6:2 → ids 0, 2, 4, 6
        #expect(try auto(["SLURM_ARRAY_TASK_ID": "6", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "6", "SLURM_ARRAY_TASK_STEP": "2"])
                == SweepShard(index: 3, count: 4))
        // the count alone
        #expect(try auto(["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"]) == SweepShard(index: 3, count: 4))
        // auto/N agreeing with Slurm
        #expect(try auto(["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2"], "auto/2") == SweepShard(index: 1, count: 2))

        // --array=1,4,5: no position in a range
        #expect(refusal(["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "5", "SLURM_ARRAY_TASK_COUNT": "3"])
                .contains("not an evenly spaced range"))
        #expect(refusal(["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "6", "SLURM_ARRAY_TASK_STEP": "2"])
                .contains("SLURM_ARRAY_TASK_ID=3 is not in the range"))
        #expect(refusal(["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4"], "auto/8").contains("has 4 tasks, not 8"))
        #expect(refusal(["SLURM_ARRAY_TASK_ID": "1"]).contains("give --shard auto/N"))
        #expect(refusal(["SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "4"]).contains("SLURM_ARRAY_TASK_ID=x is not a whole number"))
        #expect(refusal(["SLURM_JOB_ID": "12"]).contains("not an array job"))
    }

    @Test("auto: a Kubernetes Indexed Job's JOB_COMPLETION_INDEX with the count given; nothing to read is refused")
    func kubernetes() throws {
        #expect(try auto(["JOB_COMPLETION_INDEX": "3"], "auto/5") == SweepShard(index: 3, count: 5))
        #expect(refusal(["JOB_COMPLETION_INDEX": "3"]).contains("give --shard auto/N"))
        #expect(refusal(["JOB_COMPLETION_INDEX": "5"], "auto/5").contains("between 0 and 4"))
        #expect(refusal([:]).contains("no array-job index in the environment"))
    }

    @Test("every batch of a cell belongs to exactly one shard, shares within one batch of each other")
    func partition() throws {
        let cells = ["s10-e0", "s20-e0.2", "s100-ehat", "s1000-e1"]
        for n in 1...7 {
            let shards = try (0..<n).map { try SweepShard(index: $0, count: n) }
            for cell in cells {
                for batches in [1, 3, 23, 40] {
                    let owners = (0..<batches).map { j in shards.filter { $0.owns(batch: j, cell: cell) }.count }
                    #expect(owners.allSatisfy { $0 == 1 }, "N \(n) cell \(cell)")
                    let shares = shards.map { s in (0..<batches).filter { s.owns(batch: $0, cell: cell) }.count }
                    #expect((shares.max() ?? 0) - (shares.min() ?? 0) <= 1, "N \(n) cell \(cell): \(shares)")
                }
            }
        }
        // a cell's odd batch falls to different shards in different cells
        let four = try (0..<4).map { try SweepShard(index: $0, count: 4) }
        let firsts = Set(cells.map { cell in four.firstIndex { $0.owns(batch: 0, cell: cell) } })
        #expect(firsts.count > 1)
    }
}
