import Files
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

/// A safetensors file: an 8-byte little-endian header length, a JSON header
/// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}`, then the bytes.
///
/// The header is read when the file is opened (at most ``maxHeaderBytes``) and checked as
/// the reference `safetensors` crate checks it, and more strictly (``init(source:)``); each
/// tensor is read when asked for, with `pread` straight into its `Float` buffer (F32) or through
/// a scratch buffer (F16, BF16), so nothing is memory-mapped: a file cut short while it is read
/// is an error naming the tensor, not a SIGBUS, and the file's pages never count in the
/// process's resident memory. Files are read as little-endian, as the format stores them.
public final class SafeTensorsFile: WeightSource, Sendable {
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
        /// Elements: the product of the shape (checked not to overflow when the file was opened).
        public var count: Int { range.count / dtype.size }
    }

    /// The largest header accepted: 16 MiB. Real headers are kilobytes (a diffusers UNet2DModel:
    /// one entry of ~100 bytes per tensor, a few hundred tensors; the embedded model's is 20 KB);
    /// the reference crate's cap is 100 MB, which its own parser turns into far more memory.
    public static let maxHeaderBytes = 16 << 20

    /// The path the file was read from (for messages).
    public let path: String
    /// Tensor entries by name.
    public let entries: [String: Entry]
    /// The free-form `__metadata__` strings.
    public let metadata: [String: String]
    /// Where the bytes come from: the file, or memory.
    private let source: any RandomAccessBytes
    /// Byte of the file where the data section starts (8 + the header's length).
    private let dataStart: Int

    /// Opens `url` (a regular file; see ``InputFile``) and checks its header. Throws
    /// ``FileError`` when the file cannot be opened, else ``SafeTensorsError`` naming the file
    /// and the tensor.
    public convenience init(url: URL) throws {
        try self.init(source: try InputFile(url.path))
    }

    /// A safetensors file already in memory, checked as a file is; `path` names it in errors.
    public convenience init(bytes: Data, path: String) throws {
        try self.init(source: MemoryBytes([UInt8](bytes), path: path))
    }

    /// Reads and checks the header of the file in `source`.
    ///
    /// Refused, with a message naming the tensor: a header that is not strict JSON (see
    /// ``JSONReader``: duplicate keys, trailing commas, invalid UTF-8, …); a shape or
    /// `data_offsets` that is not a list of JSON integers (`2.0`, `1e3`, `-1`, `true` are not);
    /// a dtype other than F32, F16, BF16; a byte count other than shape × dtype size (computed
    /// without overflow); and, as the reference crate does, data that the tensors do not tile
    /// exactly: sorted by offset, each tensor must start where the previous one ended, the first
    /// at 0, the last ending at the end of the file. So no two tensors overlap, and no byte is
    /// left over (a gap, or data after the last tensor, means the header and the data disagree).
    /// `__metadata__` must map strings to strings; other keys in an entry are ignored.
    public init(source: any RandomAccessBytes) throws {
        let path = source.path
        self.path = path
        self.source = source
        let fail = { (reason: String) in SafeTensorsError(file: path, reason) }
        let size = source.count
        guard size >= 8 else { throw fail("file too short for a safetensors header (\(size) bytes)") }
        let prefix = try Self.reading("the header length", path) { () throws(FileError) in try source.bytes(at: 0, count: 8) }
        let headerLength = prefix.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(Self.maxHeaderBytes) else {
            throw fail("header length \(headerLength) exceeds the \(Self.maxHeaderBytes >> 20) MiB cap")
        }
        guard Int(headerLength) <= size - 8 else {
            throw fail("header length \(headerLength) runs past the end of the file (\(size) bytes)")
        }
        let text = try Self.reading("the header", path) { () throws(FileError) in try source.bytes(at: 8, count: Int(headerLength)) }
        dataStart = 8 + Int(headerLength)
        (entries, metadata) = try Self.parseHeader(text, dataCount: size - dataStart, path: path)
    }

    /// The names of all tensors, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// "safetensors".
    public var formatName: String { "safetensors" }

    /// The shape of tensor `name`, nil if absent.
    public func shape(of name: String) -> [Int]? { entries[name]?.shape }

    /// The tensor `name` converted to Float; throws if absent, or if the file now ends before
    /// its bytes ("file ended at byte N while reading tensor 'x'").
    public func tensor(_ name: String) throws -> Tensor {
        guard let e = entries[name] else { throw SafeTensorsError(file: path, "tensor '\(name)' is missing") }
        let n = e.count
        let offset = dataStart + e.range.lowerBound
        let source = self.source
        let data = try Self.reading("tensor '\(name)'", path) { () throws(FileError) -> [Float] in
            switch e.dtype {
            case .f32:
                return try Self.read(Float.self, count: n, from: source, at: offset)
            case .f16:
                return try Self.readHalves(count: n, from: source, at: offset) { Float(Float16(bitPattern: $0)) }
            case .bf16:
                // bfloat16 is the top half of an IEEE float32.
                return try Self.readHalves(count: n, from: source, at: offset) { Float(bitPattern: UInt32($0) << 16) }
            }
        }
        return Tensor(shape: e.shape, data: data)
    }

    /// `count` values of `T` read straight into their array from byte `offset` of `source`.
    static func read<T: BitwiseCopyable>(_: T.Type, count: Int, from source: any RandomAccessBytes, at offset: Int) throws(FileError) -> [T] {
        var failure: FileError?
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(FileError) {
                try source.read(into: UnsafeMutableRawBufferPointer(buffer), at: offset)
                initialized = count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return values
    }

    /// `count` 16-bit values from byte `offset` of `source`, converted by `convert` a chunk at a
    /// time through a small scratch buffer (so a tensor costs its Floats and 512 KB, not 1.5×).
    static func readHalves(count: Int, from source: any RandomAccessBytes, at offset: Int,
                                   _ convert: (UInt16) -> Float) throws(FileError) -> [Float] {
        var scratch = [UInt16](repeating: 0, count: min(count, 1 << 18))
        var failure: FileError?
        let values = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            initialized = 0
            while initialized < count {
                let chunk = min(scratch.count, count - initialized)
                let at = offset + 2 * initialized
                let read = scratch.withUnsafeMutableBytes { raw in
                    Result { () throws(FileError) in try source.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<(2 * chunk)]), at: at) }
                }
                if case .failure(let error) = read {
                    failure = error
                    return
                }
                for i in 0..<chunk { out[initialized + i] = convert(UInt16(littleEndian: scratch[i])) }
                initialized += chunk
            }
        }
        if let failure { throw failure }
        return values
    }

    /// Runs a read of `what`; a file that ended early or failed is an error naming `what`.
    private static func reading<T>(_ what: String, _ path: String, _ body: () throws(FileError) -> T) throws -> T {
        do {
            return try body()
        } catch .endedEarly(_, let offset) {
            throw SafeTensorsError(file: path, "file ended at byte \(offset) while reading \(what)")
        } catch .cannotRead(_, let offset, let reason) {
            throw SafeTensorsError(file: path, "cannot read byte \(offset) of \(what): \(reason)")
        } catch {
            throw error
        }
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
    /// (Foundation's atomic write; the command's files go through Output's `AtomicFile`).
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        let out = Data(try encode(tensors, metadata: metadata))
        do {
            try out.write(to: url, options: .atomic)
        } catch {
            throw SafeTensorsError(file: url.path, "cannot write (\(error.localizedDescription))")
        }
    }
}
