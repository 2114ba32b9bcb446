import Files
import Foundation
import Testing
import Tensors

/// A safetensors file built by hand from a header object and raw data bytes.
func writeRaw(header: String, data: [UInt8], headerLength: UInt64? = nil, to url: URL) throws {
    let json = Array(header.utf8)
    var bytes = [UInt8]()
    let n = headerLength ?? UInt64(json.count)
    for i in 0..<8 { bytes.append(UInt8((n >> (8 * UInt64(i))) & 0xFF)) }
    bytes += json
    bytes += data
    try Data(bytes).write(to: url)
}

@Suite("SafeTensors reader")
final class SafeTensorsTests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-st-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: dir) }

    @Test("F32 round trip through the writer")
    func roundTrip() throws {
        let url = dir.appendingPathComponent("a.safetensors")
        let t = Tensor(shape: [2, 3], data: [1, -2, 3.5, 0, 1e-8, -7])
        try SafeTensorsWriter.write(["w": t, "b": Tensor(shape: [1], data: [9])], metadata: ["k": "v"], to: url)
        let f = try SafeTensorsFile(url: url)
        #expect(try f.tensor("w") == t)
        #expect(f.metadata["k"] == "v")
        #expect(f.names == ["b", "w"])
    }

    @Test("F16 and BF16 are converted to Float")
    func halfTypes() throws {
        let url = dir.appendingPathComponent("h.safetensors")
        // F16: 1.0 = 0x3C00, −2.5 = 0xC100; BF16: 1.0 = 0x3F80, 0.15625 = 0x3E20
        let data: [UInt8] = [0x00, 0x3C, 0x00, 0xC1, 0x80, 0x3F, 0x20, 0x3E]
        try writeRaw(header: #"{"a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}, "b": {"dtype": "BF16", "shape": [2], "data_offsets": [4, 8]}}"#,
                     data: data, to: url)
        let f = try SafeTensorsFile(url: url)
        #expect(try f.tensor("a").data == [1, -2.5])
        #expect(try f.tensor("b").data == [1, 0.15625])
    }

    @Test("broken files give one clear error naming the file and tensor", arguments: [
        ("header length past the end", #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, 4, UInt64(1000), "runs past the end"),
        ("offsets out of range", #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#, 4, nil, "tensor 'a': data_offsets"),
        ("size mismatch", #"{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#, 8, nil, "tensor 'a': 8 bytes for shape [3]"),
        ("unsupported dtype", #"{"a": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}"#, 8, nil, "dtype I64 is not supported"),
        ("overflowing shape", #"{"a": {"dtype": "F32", "shape": [1099511627776, 1099511627776], "data_offsets": [0, 8]}}"#, 8, nil, "overflows"),
    ] as [(String, String, Int, UInt64?, String)])
    func broken(name: String, header: String, bytes: Int, length: UInt64?, message: String) throws {
        let url = dir.appendingPathComponent("bad.safetensors")
        try writeRaw(header: header, data: [UInt8](repeating: 0, count: bytes), headerLength: length, to: url)
        let error = #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(url: url) }
        #expect(error?.description.contains(url.path) == true)
        #expect(error?.description.contains(message) == true, "\(name): \(error?.description ?? "")")
    }

    @Test("short, non-JSON and missing files")
    func notSafeTensors() throws {
        let short = dir.appendingPathComponent("short.safetensors")
        try Data([1, 2, 3]).write(to: short)
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(url: short) }
        let text = dir.appendingPathComponent("text.safetensors")
        try Data("\u{4}\0\0\0\0\0\0\0nope".utf8).write(to: text)
        let e = #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(url: text) }
        #expect(e?.reason == "header: expected an object, found nope at byte 0 of the header")
        let missing = dir.appendingPathComponent("missing.safetensors")
        #expect(throws: FileError.cannotOpen(path: missing.path, reason: "No such file or directory")) { try SafeTensorsFile(url: missing) }
        // a FIFO is refused at once (it used to block); so is a directory
        let fifo = dir.appendingPathComponent("fifo.safetensors")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        #expect(throws: FileError.notRegular(path: fifo.path, kind: "a FIFO")) { try SafeTensorsFile(url: fifo) }
        #expect(throws: FileError.notRegular(path: dir.path, kind: "a directory")) { try SafeTensorsFile(url: dir) }
    }

    @Test("a tensor asked for with the wrong shape names both shapes")
    func wrongShape() throws {
        let url = dir.appendingPathComponent("s.safetensors")
        try SafeTensorsWriter.write(["conv.weight": Tensor(shape: [2, 2])], to: url)
        let f = try SafeTensorsFile(url: url)
        let e = #expect(throws: SafeTensorsError.self) { try f.tensor("conv.weight", shape: [4]) }
        #expect(e?.reason == "tensor 'conv.weight' has shape [2, 2], expected [4]")
        let m = #expect(throws: SafeTensorsError.self) { try f.tensor("conv.bias", shape: [4]) }
        #expect(m?.reason == "tensor 'conv.bias' is missing (expected shape [4])")
    }

    // MARK: - Strict headers

    /// The reason a file with this header and `bytes` bytes of data is refused (nil: accepted).
    func refusal(_ header: String, bytes: Int = 8) throws -> String? {
        let url = dir.appendingPathComponent("strict.safetensors")
        try writeRaw(header: header, data: [UInt8](repeating: 0, count: bytes), to: url)
        do {
            _ = try SafeTensorsFile(url: url)
            return nil
        } catch let error as SafeTensorsError {
            #expect(error.file == url.path)
            return error.reason
        }
    }

    @Test("strict JSON: duplicates, non-integers, bad metadata are refused, naming the tensor or key", arguments: [
        (#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#,
         "header: duplicate key 'a' at byte 62 of the header"),
        (#"{"a": {"dtype": "F32", "shape": [2], "shape": [2], "data_offsets": [0, 8]}}"#, "tensor 'a': duplicate key 'shape' at byte 37 of the header"),
        (#"{"a": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}}"#, "tensor 'a': expected an integer, found 2.0 at byte 33 of the header"),
        (#"{"a": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}}"#, "tensor 'a': expected an integer, found 2.5 at byte 33 of the header"),
        (#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8e0]}}"#, "tensor 'a': expected an integer, found 8e0 at byte 57 of the header"),
        (#"{"a": {"dtype": "F32", "shape": [true, 2], "data_offsets": [0, 8]}}"#, "tensor 'a': expected an integer, found true at byte 33 of the header"),
        (#"{"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}"#, "tensor 'a': shape [-2] has a negative dimension"),
        (#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]}}"#, "tensor 'a': data_offsets [-8, 0] is not [begin, end] with 0 ≤ begin ≤ end"),
        (#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8, 8]}}"#, "tensor 'a': data_offsets has more than 2 values at byte 60 of the header"),
        (#"{"a": {"dtype": "F32", "shape": [2]}}"#, "tensor 'a': no data_offsets"),
        (#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8],}}"#, "tensor 'a': expected a key after ',', found '}' at byte 60 of the header"),
        (#"{"__metadata__": {"k": 1}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#, "__metadata__: the value of 'k' is not a string"),
        (#"[1]"#, "header: expected an object, found a list at byte 0 of the header"),
    ])
    func strictJSON(header: String, reason: String) throws {
        #expect(try refusal(header) == reason)
    }

    @Test("the tensors must tile the data exactly, as in the reference crate: no overlap, gap or leftover bytes", arguments: [
        (#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, 8,
         "tensor 'b': data_offsets [4, 8] overlap tensor 'a' [0, 8]"),
        (#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#, 8,
         "tensor 'b': data_offsets [0, 8] overlap tensor 'a' [0, 8]"),
        (#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}"#, 12,
         "bytes 4..<8 of the data after tensor 'a' belong to no tensor (tensor 'b' starts at 8)"),
        (#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, 8,
         "bytes 0..<4 of the data at the start of the data belong to no tensor (tensor 'a' starts at 4)"),
        (#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, 12, "8 bytes of data after the last tensor 'a' belong to no tensor"),
        (#"{}"#, 4, "4 bytes of data (with no tensor) belong to no tensor"),
    ])
    func layout(header: String, bytes: Int, reason: String) throws {
        #expect(try refusal(header, bytes: bytes) == reason)
    }

    @Test("what the reference crate accepts is read: padding, empty tensors, unknown keys, escapes, null metadata")
    func accepted() throws {
        #expect(try refusal(#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}      "#) == nil)
        #expect(try refusal(#"{"e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [0, 0]}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#) == nil)
        #expect(try refusal(#"{"__metadata__": null, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "x": {"y": [1.5, null]}}}"#) == nil)
        #expect(try refusal("{}", bytes: 0) == nil)
        let url = dir.appendingPathComponent("strict.safetensors")
        try writeRaw(header: #"{"a\/b\u00e9": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "__metadata__": {"k": "v\n"}}"#, data: [UInt8](repeating: 0, count: 8), to: url)
        let f = try SafeTensorsFile(url: url)
        #expect(f.names == ["a/bé"] && f.metadata == ["k": "v\n"])
        // shapes up to numpy's 64 dimensions
        let ones = Array(repeating: "1", count: 64).joined(separator: ",")
        #expect(try refusal(#"{"a": {"dtype": "F32", "shape": [\#(ones)], "data_offsets": [0, 4]}}"#, bytes: 4) == nil)
        #expect(try refusal(#"{"a": {"dtype": "F32", "shape": [\#(ones),1], "data_offsets": [0, 4]}}"#, bytes: 4)?
            .hasPrefix("tensor 'a': shape has more than 64 dimensions") == true)
    }

    @Test("a header over the cap is refused from its length alone")
    func headerCap() throws {
        let url = dir.appendingPathComponent("cap.safetensors")
        let header = #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#
        try writeRaw(header: header, data: [0, 0, 0, 0], headerLength: UInt64(SafeTensorsFile.maxHeaderBytes + 1), to: url)
        let e = #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(url: url) }
        #expect(e?.reason == "header length 16777217 exceeds the 16 MiB cap")
    }

    // MARK: - Reading tensors

    @Test("a file cut short after it was opened: one error naming the byte and the tensor, no SIGBUS")
    func truncatedWhileLoading() throws {
        let url = dir.appendingPathComponent("cut.safetensors")
        let a = Tensor(shape: [1000], data: (0..<1000).map(Float.init)), b = Tensor(shape: [2000], data: (0..<2000).map { -Float($0) })
        let bytes = try SafeTensorsWriter.encode(["a": a, "b": b])
        try Data(bytes).write(to: url)
        let f = try SafeTensorsFile(url: url)
        // the data of 'a' (sorted first) is whole, 'b' loses its last 1000 floats
        let cut = bytes.count - 4000
        #expect(truncate(url.path, off_t(cut)) == 0)
        #expect(try f.tensor("a") == a)
        let e = #expect(throws: SafeTensorsError.self) { try f.tensor("b") }
        #expect(e?.description == "\(url.path): file ended at byte \(cut) while reading tensor 'b'")
    }

    @Test("F16 and BF16 tensors larger than the conversion chunk; files and memory read alike")
    func largeHalves() throws {
        let n = 300_000
        let values = (0..<n).map { Float($0 % 256) - 128 }  // exact in both formats
        var data: [UInt8] = []
        for v in values { let h = Float16(v).bitPattern; data += [UInt8(h & 0xFF), UInt8(h >> 8)] }
        for v in values { let h = UInt16(v.bitPattern >> 16); data += [UInt8(h & 0xFF), UInt8(h >> 8)] }
        let header = #"{"h": {"dtype": "F16", "shape": [\#(n)], "data_offsets": [0, \#(2 * n)]}, "b": {"dtype": "BF16", "shape": [\#(n)], "data_offsets": [\#(2 * n), \#(4 * n)]}}"#
        let url = dir.appendingPathComponent("halves.safetensors")
        try writeRaw(header: header, data: data, to: url)
        let f = try SafeTensorsFile(url: url)
        #expect(try f.tensor("h").data == values)
        #expect(try f.tensor("b").data == values)
        let m = try SafeTensorsFile(bytes: try Data(contentsOf: url), path: "mem")
        #expect(try m.tensor("h").data == values && m.tensor("b").data == values)
    }

    @Test("the writer's files read back whatever the names and metadata hold")
    func writerRoundTrip() throws {
        let url = dir.appendingPathComponent("names.safetensors")
        let tensors = ["down/0.w\\\"é": Tensor(shape: [2, 1, 2], data: [1, 2, 3, 4]), "": Tensor(shape: [0], data: []), "x_T": Tensor(shape: [1], data: [.pi])]
        try SafeTensorsWriter.write(tensors, metadata: ["model": "a/b \"c\"\n", "steps": "50"], to: url)
        let f = try SafeTensorsFile(url: url)
        #expect(Set(f.names) == Set(tensors.keys))
        for (name, t) in tensors { #expect(try f.tensor(name) == t, "\(name)") }
        #expect(f.metadata == ["model": "a/b \"c\"\n", "steps": "50"])
    }
}
