import Foundation

/// A problem with a safetensors file; the message names the file and, where it applies, the tensor.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// The file that was being read.
    public let file: String
    /// What is wrong, naming the tensor or field.
    public let reason: String
    /// "FILE: REASON".
    public var description: String { "\(file): \(reason)" }

    /// An error about `file`.
    public init(file: String, _ reason: String) { (self.file, self.reason) = (file, reason) }
}

/// A safetensors file, memory-mapped: an 8-byte little-endian header length, a JSON header
/// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}`, then the bytes.
///
/// Every entry is checked when the file is opened (offsets inside the data, sizes equal to
/// shape × dtype size, no overflow); tensors are converted to `Float` when asked for.
public final class SafeTensorsFile: @unchecked Sendable {
    /// Element types this reader converts to Float.
    public enum DType: String, Sendable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16"
        /// Bytes per element.
        public var size: Int { self == .f32 ? 4 : 2 }
    }

    /// One tensor's entry in the header.
    public struct Entry: Sendable {
        /// Element type as stored.
        public let dtype: DType
        /// Dimensions, outermost first.
        public let shape: [Int]
        /// Byte range inside the data section.
        public let range: Range<Int>
    }

    /// The largest header accepted (100 MB); real headers are kilobytes.
    public static let maxHeaderBytes = 100 << 20

    /// The path the file was read from (for messages).
    public let path: String
    /// Tensor entries by name.
    public let entries: [String: Entry]
    /// The free-form `__metadata__` strings.
    public let metadata: [String: String]
    /// The mapped bytes; `Data` (mapped) keeps them alive and immutable.
    private let bytes: Data
    private let dataStart: Int
    /// Whether `bytes` is a mapping of the file (then converted tensors' pages are handed back).
    private var mapped = false

    /// Opens and validates `url`. Throws `SafeTensorsError` naming the file and the tensor.
    public convenience init(url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { throw SafeTensorsError(file: url.path, "no such file") }
        let bytes: Data
        do {
            bytes = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw SafeTensorsError(file: url.path, "cannot read (\(error.localizedDescription))")
        }
        try self.init(bytes: bytes, path: url.path)
        mapped = true
    }

    /// Validates a safetensors file already in memory; `path` names it in errors.
    public init(bytes: Data, path: String) throws {
        self.path = path
        self.bytes = bytes
        let fail = { (reason: String) in SafeTensorsError(file: path, reason) }
        guard bytes.count >= 8 else { throw fail("file too short for a safetensors header (\(bytes.count) bytes)") }
        let headerLength = bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(Self.maxHeaderBytes) else { throw fail("header length \(headerLength) exceeds the \(Self.maxHeaderBytes)-byte cap") }
        guard Int(headerLength) <= bytes.count - 8 else {
            throw fail("header length \(headerLength) runs past the end of the file (\(bytes.count) bytes)")
        }
        dataStart = 8 + Int(headerLength)
        let dataCount = bytes.count - dataStart
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<dataStart))
        } catch {
            throw fail("header is not valid JSON")
        }
        guard let header = json as? [String: Any] else { throw fail("header is not a JSON object") }
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                for (k, v) in value as? [String: Any] ?? [:] { metadata[k] = v as? String ?? "\(v)" }
                continue
            }
            guard let info = value as? [String: Any] else { throw fail("tensor '\(name)': entry is not an object") }
            guard let dtypeName = info["dtype"] as? String else { throw fail("tensor '\(name)': missing dtype") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw fail("tensor '\(name)': dtype \(dtypeName) is not supported (F32, F16, BF16)")
            }
            guard let dims = info["shape"] as? [Any], let shape = Self.integers(dims), shape.allSatisfy({ $0 >= 0 }) else {
                throw fail("tensor '\(name)': shape is not a list of non-negative integers")
            }
            guard let offs = info["data_offsets"] as? [Any], let o = Self.integers(offs), o.count == 2, o[0] >= 0, o[0] <= o[1] else {
                throw fail("tensor '\(name)': data_offsets is not [begin, end]")
            }
            guard o[1] <= dataCount else {
                throw fail("tensor '\(name)': data_offsets \(o) run past the end of the data (\(dataCount) bytes)")
            }
            var elements = 1
            for d in shape {
                let (p, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw fail("tensor '\(name)': shape \(shape) overflows") }
                elements = p
            }
            let (byteCount, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, byteCount == o[1] - o[0] else {
                throw fail("tensor '\(name)': \(o[1] - o[0]) bytes for shape \(shape) of \(dtypeName) (expected \(byteCount))")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: o[0]..<o[1])
        }
        self.entries = entries
        self.metadata = metadata
    }

    private static func integers(_ values: [Any]) -> [Int]? {
        var out: [Int] = []
        for v in values {
            guard let n = v as? NSNumber, n.doubleValue == n.doubleValue.rounded(), n.doubleValue.magnitude < 9e15 else {
                return nil
            }
            out.append(n.intValue)
        }
        return out
    }

    /// The names of all tensors, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// The tensor `name` converted to Float; throws if absent.
    public func tensor(_ name: String) throws -> Tensor {
        guard let e = entries[name] else { throw SafeTensorsError(file: path, "tensor '\(name)' is missing") }
        let n = e.shape.reduce(1, *)
        var out = [Float](repeating: 0, count: n)
        bytes.withUnsafeBytes { raw in
            let src = raw.start + dataStart + e.range.lowerBound
            out.withUnsafeMutableBufferPointer { dst in
                switch e.dtype {
                case .f32:
                    memcpy(dst.start, src, n * 4)
                case .f16:
                    for i in 0..<n {
                        dst[i] = Float(Float16(bitPattern: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    }
                case .bf16:
                    // bfloat16 is the top half of an IEEE float32.
                    for i in 0..<n {
                        dst[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
                    }
                }
            }
            if mapped { Self.release(src, count: e.range.count) }
        }
        return Tensor(shape: e.shape, data: out)
    }

    /// Hands the whole pages of a converted tensor's bytes back to the kernel (`MADV_PAGEOUT`):
    /// the file's pages otherwise stay in the process's resident set beside their Float copy
    /// (celebahq-256: 455 MB of the 1.59 GB peak at load). The bytes are not changed — read
    /// again, the pages come back from the file — and a kernel without PAGEOUT just refuses.
    private static func release(_ start: UnsafeRawPointer, count: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0 else { return }
        let begin = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + count) / page * page
        guard end > begin, let pointer = UnsafeMutableRawPointer(bitPattern: begin) else { return }
        // MADV_PAGEOUT (Linux 5.4) is not in every libc's headers
        _ = madvise(pointer, end - begin, 21)
    }

    /// The tensor `name`, checked against the expected shape; the error names both shapes.
    public func tensor(_ name: String, shape expected: [Int]) throws -> Tensor {
        guard let e = entries[name] else {
            throw SafeTensorsError(file: path, "tensor '\(name)' is missing (expected shape \(expected))")
        }
        guard e.shape == expected else {
            throw SafeTensorsError(file: path, "tensor '\(name)' has shape \(e.shape), expected \(expected)")
        }
        return try tensor(name)
    }
}

/// Writes F32 tensors as a safetensors file (used for latents and tests).
public enum SafeTensorsWriter {
    /// The bytes of a safetensors file holding `tensors` (name → tensor) and optional metadata.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) throws -> [UInt8] {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let sorted = tensors.sorted { $0.key < $1.key }
        for (name, t) in sorted {
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.count]]
            offset += 4 * t.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        for (_, t) in sorted { t.data.withUnsafeBytes { out.append(contentsOf: $0) } }
        return out
    }

    /// Serialises `tensors` (name → tensor) with optional metadata; the file is replaced atomically
    /// (Foundation's atomic write; the command's files go through Imaging's `AtomicFile`).
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        let out = Data(try encode(tensors, metadata: metadata))
        do {
            try out.write(to: url, options: .atomic)
        } catch {
            throw SafeTensorsError(file: url.path, "cannot write (\(error.localizedDescription))")
        }
    }
}
