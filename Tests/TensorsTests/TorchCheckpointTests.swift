import Files
import Foundation
import Tensors
import Testing

private let pickleFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/pickle")

// MARK: - Checkpoints built byte by byte

/// A pickle written opcode by opcode (protocol 2, as torch.save writes).
struct PickleBytes {
    var bytes: [UInt8] = [0x80, 0x02]

    mutating func op(_ code: UInt8) { bytes.append(code) }
    mutating func global(_ module: String, _ name: String) { bytes += [0x63] + Array("\(module)\n\(name)\n".utf8) }
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        bytes += [0x58] + withUnsafeBytes(of: UInt32(utf8.count).littleEndian, Array.init) + utf8
    }
    mutating func int(_ i: Int) {
        if let small = Int32(exactly: i) {
            bytes += [0x4A] + withUnsafeBytes(of: small.littleEndian, Array.init)
        } else {
            bytes += [0x8A, 8] + withUnsafeBytes(of: Int64(i).littleEndian, Array.init)
        }
    }
    mutating func ints(_ values: [Int]) {
        op(0x28)
        values.forEach { int($0) }
        op(0x74)
    }
    mutating func stop() { op(0x2E) }
}

/// One tensor of a crafted state dict.
struct TensorSpec {
    var name: String
    var storageType = "FloatStorage"
    var key = "0"
    var numel: Int
    var offset = 0
    var size: [Int]
    var stride: [Int]
}

/// `torch.save`'s pickle of an OrderedDict of `tensors` (the legacy format's ids when `legacy`).
func stateDictPickle(_ tensors: [TensorSpec], legacy: Bool = false) -> [UInt8] {
    var p = PickleBytes()
    p.global("collections", "OrderedDict")
    p.op(0x29)
    p.op(0x52)
    p.op(0x28)
    for t in tensors {
        p.string(t.name)
        p.global("torch._utils", "_rebuild_tensor_v2")
        p.op(0x28)
        p.op(0x28)
        p.string("storage")
        p.global("torch", t.storageType)
        p.string(t.key)
        p.string("cpu")
        p.int(t.numel)
        if legacy { p.op(0x4E) }
        p.op(0x74)
        p.op(0x51)
        p.int(t.offset)
        p.ints(t.size)
        p.ints(t.stride)
        p.op(0x89)
        p.global("collections", "OrderedDict")
        p.op(0x29)
        p.op(0x52)
        p.op(0x74)
        p.op(0x52)
    }
    p.op(0x75)
    p.stop()
    return p.bytes
}

/// A zip archive of stored entries (CRCs left 0: the reader does not check them).
func storedZip(_ entries: [(String, [UInt8])]) -> [UInt8] {
    func u16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
    func u32(_ v: Int) -> [UInt8] { u16(v & 0xFFFF) + u16(v >> 16 & 0xFFFF) }
    var out: [UInt8] = [], central: [UInt8] = []
    for (name, data) in entries {
        let n = Array(name.utf8)
        central += u32(0x0201_4B50) + u16(20) + u16(20) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0)
            + u32(data.count) + u32(data.count) + u16(n.count) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0) + u32(out.count) + n
        out += u32(0x0403_4B50) + u16(20) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0) + u32(data.count) + u32(data.count)
            + u16(n.count) + u16(0) + n + data
    }
    let start = out.count
    out += central
    out += u32(0x0605_4B50) + u16(0) + u16(0) + u16(entries.count) + u16(entries.count) + u32(central.count) + u32(start) + u16(0)
    return out
}

func floatBytes(_ values: [Float]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }

/// A zip checkpoint of `pickle` with storage "0" holding `values`.
func zipCheckpoint(_ pickle: [UInt8], values: [Float] = (0..<6).map(Float.init), extra: [(String, [UInt8])] = []) -> [UInt8] {
    storedZip([("archive/data.pkl", pickle), ("archive/byteorder", Array("little".utf8)), ("archive/data/0", floatBytes(values))] + extra)
}

/// The one-line message of opening `bytes` as a checkpoint named `name`, or nil if accepted.
func refusal(_ bytes: [UInt8], name: String = "crafted.bin") -> String? {
    do {
        let file = try TorchCheckpointFile(bytes: bytes, path: name)
        for n in file.names { _ = try file.tensor(n) }
        return nil
    } catch {
        return "\(error)"
    }
}

@Suite("PyTorch checkpoints (.bin)")
struct TorchCheckpointTests {
    @Test("every tensor of zip.bin and legacy.bin equals expected.safetensors, bit for bit", arguments: [
        ("zip.bin", "PyTorch zip checkpoint"), ("legacy.bin", "PyTorch legacy checkpoint"),
    ])
    func fixtureTensors(file: String, format: String) throws {
        let truth = try SafeTensorsFile(url: pickleFixtures.appendingPathComponent("expected.safetensors"))
        let bin = try TorchCheckpointFile(url: pickleFixtures.appendingPathComponent(file))
        #expect(bin.formatName == format)
        #expect(bin.names == truth.names)
        #expect(bin.names.count > 100)
        for name in truth.names {
            let want = try truth.tensor(name), got = try bin.tensor(name)
            #expect(got.shape == want.shape, "\(name)")
            #expect(got.data.map(\.bitPattern) == want.data.map(\.bitPattern), "\(name)")
        }
        // the layouts the fixture was made with (scripts/make_fixtures.py, pickle_state_dict)
        #expect(bin.entries["time_embedding.linear_1.weight"]?.strides == [1, 16])
        #expect(bin.entries["down_blocks.0.resnets.0.conv1.weight"]?.strides == [36, 1, 12, 4])
        #expect(bin.entries["conv_norm_out.bias"]?.storageOffset == 4)
        #expect(bin.entries["conv_norm_out.bias"]?.storage == bin.entries["conv_norm_out.weight"]?.storage)
        #expect(bin.entries["conv_out.weight"]?.dtype == .f16)
        #expect(bin.entries["conv_in.weight"]?.dtype == .bf16)
        #expect(truth.entries["conv_out.weight"]?.dtype == .f16)
    }

    @Test("a file in memory reads as the same file on disk")
    func memory() throws {
        let url = pickleFixtures.appendingPathComponent("zip.bin")
        let disk = try TorchCheckpointFile(url: url)
        let memory = try TorchCheckpointFile(bytes: [UInt8](try Data(contentsOf: url)), path: "mem.bin")
        #expect(memory.entries == disk.entries)
        let name = "time_embedding.linear_1.weight"
        #expect(try memory.tensor(name).data == disk.tensor(name).data)
        #expect(throws: TorchCheckpointError.self) { try disk.tensor(name, shape: [4, 16]) }
        #expect(throws: TorchCheckpointError.self) { try disk.tensor("nope") }
        #expect(try WeightFile.open(url).formatName == "PyTorch zip checkpoint")
    }

    @Test("a crafted checkpoint is read: a transposed view, an offset view, a float16 storage, legacy ids")
    func crafted() throws {
        let specs = [
            TensorSpec(name: "a", numel: 6, size: [2, 3], stride: [3, 1]),
            TensorSpec(name: "t", numel: 6, size: [3, 2], stride: [1, 3]),
            TensorSpec(name: "o", numel: 6, offset: 2, size: [2, 2], stride: [1, 2]),
            TensorSpec(name: "h", storageType: "HalfStorage", key: "1", numel: 2, size: [2], stride: [1]),
        ]
        let halves: [UInt8] = [0x00, 0x3C, 0x00, 0xC0]  // 1.0, −2.0
        let file = try TorchCheckpointFile(bytes: zipCheckpoint(stateDictPickle(specs), extra: [("archive/data/1", halves)]), path: "c.bin")
        #expect(try file.tensor("a").data == [0, 1, 2, 3, 4, 5])
        #expect(try file.tensor("t").data == [0, 3, 1, 4, 2, 5])
        #expect(try file.tensor("o").data == [2, 4, 3, 5])
        #expect(try file.tensor("h").data == [1, -2])
    }

    @Test("refused, naming the file and the global, never run", arguments: [
        ("os", "system"), ("builtins", "eval"), ("subprocess", "Popen"), ("torch", "load"), ("torch.serialization", "_get_layout"),
    ])
    func globals(module: String, name: String) throws {
        var p = PickleBytes()
        p.global(module, name)
        p.string("touch /tmp/ddim-pwned")
        p.op(0x85)
        p.op(0x52)
        p.stop()
        let message = try #require(refusal(zipCheckpoint(p.bytes)))
        #expect(message.hasPrefix("crafted.bin: data.pkl: global \(module).\(name) is not allowed"), "\(message)")
        #expect(!message.contains("\n"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/ddim-pwned"))
        // the same through STACK_GLOBAL (protocol 4)
        var q = PickleBytes(bytes: [0x80, 0x04])
        q.string(module)
        q.string(name)
        q.op(0x93)
        q.op(0x29)
        q.op(0x52)
        q.stop()
        #expect(refusal(zipCheckpoint(q.bytes))?.contains("global \(module).\(name) is not allowed") == true)
    }

    @Test("refused, naming the opcode", arguments: [
        (UInt8(0x69), "INST (0x69)"), (0x81, "NEWOBJ (0x81)"), (0x92, "NEWOBJ_EX (0x92)"), (0x42, "BINBYTES (0x42)"), (0xFF, "0xFF (unknown)"),
    ])
    func opcodes(code: UInt8, name: String) {
        var p = PickleBytes()
        p.op(code)
        p.stop()
        let message = refusal(zipCheckpoint(p.bytes))
        #expect(message?.hasPrefix("crafted.bin: data.pkl: opcode \(name) is not one a state dict needs") == true, "\(message ?? "accepted")")
    }

    @Test("the storage types read are float32, float16 and bfloat16")
    func storageTypes() {
        let spec = TensorSpec(name: "n", storageType: "LongStorage", numel: 3, size: [3], stride: [1])
        #expect(refusal(zipCheckpoint(stateDictPickle([spec])))?.contains("global torch.LongStorage: only float32, float16 and bfloat16 tensors are read") == true)
    }

    @Test("refused: views outside their storage, absurd shapes, missing and oversized storages", arguments: [
        (TensorSpec(name: "w", numel: 6, size: [2, 2], stride: [6, 1]), "reaches element 7 of storage '0', which has 6"),
        (TensorSpec(name: "w", numel: 6, offset: 5, size: [2], stride: [1]), "reaches element 6 of storage '0', which has 6"),
        (TensorSpec(name: "w", numel: 6, size: [2, 3], stride: [1, 3]), "reaches element 7 of storage '0', which has 6"),
        (TensorSpec(name: "w", numel: 6, size: [Int(Int32.max), Int(Int32.max)], stride: [1, 1]), "more than its storage '0' holds (6)"),
        (TensorSpec(name: "w", numel: 6, size: [1 << 62, 4], stride: [1, 1]), "the element count overflows"),
        (TensorSpec(name: "w", numel: 1, size: [1_000_000, 1_000_000], stride: [0, 0]), "has 1000000000000 elements, more than its storage '0' holds (1): a broadcast or overlapping view"),
        (TensorSpec(name: "w", numel: 6, size: [4, 3], stride: [1, 1]), "more than its storage '0' holds (6)"),
        (TensorSpec(name: "w", numel: 6, size: [3, 1], stride: [1 << 62, 1]), "its extent overflows"),
        (TensorSpec(name: "w", numel: 6, size: [-1], stride: [1]), "negative"),
        (TensorSpec(name: "w", numel: 6, size: [Int](repeating: 1, count: 65), stride: [Int](repeating: 1, count: 65)), "65 dimensions"),
        (TensorSpec(name: "w", numel: 6, size: [2], stride: [1, 1]), "with strides"),
        (TensorSpec(name: "w", numel: 1 << 40, size: [2], stride: [1]), "larger than the file"),
        (TensorSpec(name: "w", key: "7", numel: 6, size: [2], stride: [1]), "storage '7' (of tensor 'w') is not in the archive"),
    ])
    func views(spec: TensorSpec, message: String) throws {
        let text = try #require(refusal(zipCheckpoint(stateDictPickle([spec]))))
        #expect(text.hasPrefix("crafted.bin: ") && text.contains(message), "\(text)")
        #expect(!text.contains("\n"))
    }

    @Test("refused: storages whose bytes disagree, duplicate names, what is not a state dict")
    func structure() throws {
        let w = TensorSpec(name: "w", numel: 6, size: [6], stride: [1])
        #expect(refusal(zipCheckpoint(stateDictPickle([w]), values: [1, 2]))?.contains("storage '0' has 8 bytes for 6 elements of F32") == true)
        #expect(refusal(zipCheckpoint(stateDictPickle([w, w])))?.contains("tensor 'w' appears twice") == true)
        var list = PickleBytes()
        list.op(0x5D)
        list.stop()
        #expect(refusal(zipCheckpoint(list.bytes))?.contains("the pickle holds a list of 0, not a state dict") == true)
        var deep = PickleBytes()
        deep.op(0x29)
        for _ in 0..<40 { deep.op(0x85) }
        deep.stop()
        #expect(refusal(zipCheckpoint(deep.bytes))?.contains("nested more than 32 deep") == true)
        var memo = PickleBytes()
        memo.bytes += [0x68, 0x05]
        memo.stop()
        #expect(refusal(zipCheckpoint(memo.bytes))?.contains("memo entry 5 was never put") == true)
        var underflow = PickleBytes()
        underflow.op(0x52)
        #expect(refusal(zipCheckpoint(underflow.bytes))?.contains("stack underflow") == true)
        var big = PickleBytes()
        big.bytes += [0x58, 0xFF, 0xFF, 0xFF, 0x7F]
        #expect(refusal(zipCheckpoint(big.bytes))?.contains("a string of 2147483647 bytes") == true)
        var unended = PickleBytes()
        unended.op(0x4E)
        #expect(refusal(zipCheckpoint(unended.bytes))?.contains("the pickle ends inside") == true)
        let zip = zipCheckpoint(stateDictPickle([w]))
        #expect(refusal(Array(zip.prefix(zip.count - 30)))?.contains("crafted.bin: zip: no zip end-of-central-directory record") == true)
        #expect(refusal(Array("not a checkpoint".utf8))?.contains("not a PyTorch checkpoint") == true)
        #expect(refusal(storedZip([("archive/data.pkl", stateDictPickle([w])), ("archive/byteorder", Array("big".utf8)), ("archive/data/0", floatBytes([0, 1, 2, 3, 4, 5]))]))?
            .contains("byteorder is 'big'") == true)
        #expect(refusal(storedZip([("archive/other.pkl", [])]))?.contains("no ARCHIVE/data.pkl entry") == true)
    }

    @Test("a truncated file is refused with its name, in both formats and wherever it is cut", arguments: ["zip.bin", "legacy.bin"])
    func truncated(file: String) throws {
        let bytes = [UInt8](try Data(contentsOf: pickleFixtures.appendingPathComponent(file)))
        for cut in [10, 100, 1000, bytes.count / 2, bytes.count - 1] {
            let message = refusal(Array(bytes.prefix(cut)), name: file)
            #expect(message?.hasPrefix("\(file): ") == true, "cut at \(cut): \(message ?? "accepted")")
        }
    }

    @Test("the legacy format: its magic number, version, endianness and storage records are checked")
    func legacy() throws {
        let bytes = [UInt8](try Data(contentsOf: pickleFixtures.appendingPathComponent("legacy.bin")))
        var magic = bytes
        magic[5] ^= 1
        #expect(refusal(magic)?.contains("magic number is wrong") == true)
        #expect(refusal(bytes + [0])?.contains("1 bytes after the last storage") == true)
        // a crafted legacy file: magic, version 1001, sys_info, the state dict, the keys, the data
        func pickle(_ build: (inout PickleBytes) -> Void) -> [UInt8] {
            var p = PickleBytes()
            build(&p)
            p.stop()
            return p.bytes
        }
        let head = pickle { $0.bytes += [0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19] }
            + pickle { $0.int(1001) }
        func info(_ little: Bool) -> [UInt8] { pickle { $0.op(0x7D); $0.string("little_endian"); $0.op(little ? 0x88 : 0x89); $0.op(0x73) } }
        let sd = stateDictPickle([TensorSpec(name: "t", numel: 6, size: [3, 2], stride: [1, 3])], legacy: true)
        let keys = pickle { $0.op(0x5D); $0.string("0"); $0.op(0x61) }
        let data = withUnsafeBytes(of: Int64(6).littleEndian, Array.init) + floatBytes((0..<6).map(Float.init))
        let good = try TorchCheckpointFile(bytes: head + info(true) + sd + keys + data, path: "l.bin")
        #expect(good.format == .legacy)
        #expect(try good.tensor("t").data == [0, 3, 1, 4, 2, 5])
        #expect(refusal(head + info(false) + sd + keys + data)?.contains("big-endian") == true)
        let badCount = withUnsafeBytes(of: Int64(5).littleEndian, Array.init) + floatBytes((0..<6).map(Float.init))
        #expect(refusal(head + info(true) + sd + keys + badCount)?.contains("has 5 elements in the data, 6 in its id") == true)
        let noKeys = pickle { $0.op(0x5D) }
        #expect(refusal(head + info(true) + sd + noKeys)?.contains("storage '0' (of tensor 't') is not in the data") == true)
    }

    @Test("each bad- seed of the pickle fuzz corpus is refused for the rule it breaks", arguments: [
        ("bad-big-endian.bin", "byteorder is 'big'"),
        ("bad-deflated.bin", "is compressed (method 8)"),
        ("bad-global-eval.bin", "global builtins.eval is not allowed"),
        ("bad-global-os-system.bin", "global os.system is not allowed"),
        ("bad-huge-shape.bin", "a tensor of size [2147483647, 2147483647] has 4611686014132420609 elements, more than its storage '0' holds (6)"),
        ("bad-int64-storage.bin", "global torch.LongStorage: only float32"),
        ("bad-legacy-magic.bin", "magic number is wrong"),
        ("bad-legacy-short-data.bin", "run past the end of the file"),
        ("bad-missing-storage.bin", "storage '0' (of tensor 'a') is not in the archive"),
        ("bad-opcode-inst.bin", "opcode INST (0x69)"),
        ("bad-tensor-past-storage.bin", "a tensor of size [3, 3] has 9 elements, more than its storage '0' holds (6)"),
        ("bad-truncated.bin", "no zip end-of-central-directory record"),
    ])
    func badSeeds(seed: String, message: String) throws {
        let url = pickleFixtures.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz/corpus/pickle/\(seed)")
        let text = try #require(refusal([UInt8](try Data(contentsOf: url)), name: seed))
        #expect(text.hasPrefix("\(seed): ") && text.contains(message), "\(text)")
    }
}
