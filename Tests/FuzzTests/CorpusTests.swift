import Foundation
import FuzzTargets
import Testing

let fuzzFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz")

/// `runThroughFile` writes each input in a folder of its own under the harness's scratch folder,
/// temporaryDirectory/ddim-fuzz-PID (FuzzTargets.swift), which it keeps for the process. This
/// suite is its only user and runs its cases in parallel: the folder goes once the whole suite is
/// done.
struct RemovesScratchFolder: SuiteTrait, TestScoping {
    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        defer { try? FileManager.default.removeItem(at: FileManager.default.temporaryDirectory.appendingPathComponent("ddim-fuzz-\(getpid())")) }
        try await function()
    }
}

extension Trait where Self == RemovesScratchFolder {
    static var removesScratchFolder: Self { Self() }
}

/// The fuzz harness's parsers on the committed seed corpora and on every input that once crashed
/// one of them (Tests/Fuzz/regressions/TARGET/): each must be accepted or refused with an error,
/// never trap. `make fuzz` runs the same code under libFuzzer (docs/reliability.md).
@Suite("Fuzz corpora and regressions replay", .removesScratchFolder)
struct CorpusTests {
    func files(_ folder: String, _ target: FuzzTarget) -> [URL] {
        let dir = fuzzFolder.appendingPathComponent(folder).appendingPathComponent(target.rawValue)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.sorted().map { dir.appendingPathComponent($0) }
    }

    @Test("seed corpora parse; the bad- seeds are refused", arguments: FuzzTarget.allCases)
    func seeds(target: FuzzTarget) throws {
        let seeds = files("corpus", target)
        #expect(!seeds.isEmpty)
        // real files of each kind are accepted; seeds named bad-… sit just across a rule
        // (a duplicate key, a shape of 2.0, overlapping offsets, …) and are refused
        for url in seeds {
            let bytes = [UInt8](try Data(contentsOf: url))
            let accepted = !url.lastPathComponent.hasPrefix("bad-")
            #expect(target.run(bytes) == accepted, "\(url.lastPathComponent) in memory")
            #expect(target.runThroughFile(bytes) == accepted, "\(url.lastPathComponent) through a file")
        }
    }

    @Test("past crashes are refused cleanly", arguments: FuzzTarget.allCases)
    func regressions(target: FuzzTarget) throws {
        for url in files("regressions", target) {
            let bytes = [UInt8](try Data(contentsOf: url))
            // both routes refuse (or accept) it alike
            #expect(target.run(bytes) == target.runThroughFile(bytes), "\(url.lastPathComponent)")
        }
    }

    @Test("mutated seeds (bytes cut, flipped, repeated) never trap", arguments: FuzzTarget.allCases)
    func mutations(target: FuzzTarget) throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        for url in files("corpus", target) {
            let seed = [UInt8](try Data(contentsOf: url))
            for round in 0..<40 {
                var bytes = seed
                switch round % 4 {
                case 0: bytes = Array(bytes.prefix(next() % max(1, bytes.count)))
                case 1: for _ in 0..<8 where !bytes.isEmpty { bytes[next() % bytes.count] ^= UInt8(truncatingIfNeeded: next()) }
                case 2: if !bytes.isEmpty { let i = next() % bytes.count; bytes.insert(contentsOf: bytes[i...].prefix(64), at: i) }
                default: for _ in 0..<4 where !bytes.isEmpty { bytes[next() % bytes.count] = [0, 0xFF, 0x22, 0x2D, 0x39][next() % 5] }
                }
                _ = target.run(bytes)
            }
        }
    }

    @Test("absurd sizes are refused before any allocation", arguments: [
        (FuzzTarget.scheduler, #"{"num_train_timesteps": 1000000000000}"#),
        (.scheduler, #"{"num_train_timesteps": 1000, "clip_sample_range": -1}"#),
        (.config, #"{"block_out_channels": [2000000000], "down_block_types": ["DownBlock2D"], "up_block_types": ["UpBlock2D"], "norm_num_groups": 1}"#),
        (.config, #"{"sample_size": 100000000}"#),
        (.safetensors, safetensors(#"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}"#)),
        (.safetensors, safetensors(#"{"a":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4]}}"#)),
    ])
    func absurd(target: FuzzTarget, text: String) {
        #expect(!target.run(Array(text.utf8)))
    }
}

/// A safetensors file with this JSON header and 4 bytes of data (as text: the header is ASCII).
func safetensors(_ header: String) -> String {
    var n = header.utf8.count
    var prefix = ""
    for _ in 0..<8 { prefix.append(Character(Unicode.Scalar(UInt8(n & 0xFF)))); n >>= 8 }
    return prefix + header + "\0\0\0\0"
}
