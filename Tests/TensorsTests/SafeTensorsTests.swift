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
struct SafeTensorsTests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-st-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }

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
        #expect(e?.reason == "header is not valid JSON")
        let missing = dir.appendingPathComponent("missing.safetensors")
        let m = #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(url: missing) }
        #expect(m?.reason == "no such file")
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
}
