import Files
import Foundation

/// A problem with a PyTorch checkpoint; the message names the file and, where it applies, the
/// tensor, storage, opcode or global.
public struct TorchCheckpointError: Error, CustomStringConvertible, Equatable {
    /// The file that was being read.
    public let file: String
    /// What is wrong.
    public let reason: String
    /// "FILE: REASON".
    public var description: String { "\(file): \(reason)" }

    /// An error about `file`.
    public init(file: String, _ reason: String) { (self.file, self.reason) = (file, reason) }
}

/// A PyTorch checkpoint of a state dict (`diffusion_pytorch_model.bin`), read without running
/// any of it.
///
/// Two formats, told apart by their first bytes:
/// - **zip** (torch ≥ 1.6): a zip archive of stored entries `ARCHIVE/data.pkl` (the pickled state
///   dict), `ARCHIVE/data/KEY` (each storage's raw bytes), `ARCHIVE/byteorder` ("little"; absent
///   in files older than torch 1.10, which were little-endian), `ARCHIVE/version`, … (see
///   ``StoredZip``). A tensor is pickled as `_rebuild_tensor_v2(storage, offset, size, stride, …)`;
///   its storage as the persistent id `('storage', torch.FloatStorage, KEY, 'cpu', numel)`.
/// - **legacy** (`_use_new_zipfile_serialization=False`, torch < 1.6): five pickles one after the
///   other — the magic number 0x1950a86a20f9469cfc6c, the protocol version 1001, a dict of system
///   facts (`little_endian` must be true), the state dict (persistent ids carry a sixth item, a
///   view of the storage, which torch ≥ 0.4 leaves None), the list of storage keys — then, for
///   each key in that order, the element count as a little-endian int64 and the elements.
/// The older tar format (torch < 0.1.10) is refused.
///
/// The pickles go through a restricted unpickler (`Pickle.swift`): only the opcodes and the
/// globals a state dict needs — `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`
/// (`_rebuild_tensor`, `_rebuild_parameter`), `torch.FloatStorage`/`HalfStorage`/`BFloat16Storage`
/// — anything else refused by name. Every tensor is checked when the file is opened: its view
/// (size, strides, offset) stays inside its storage, and each storage's bytes are in the file.
/// Tensors are read when asked for, as ``SafeTensorsFile`` reads them (`pread`, no mapping);
/// float16 and bfloat16 become Float exactly. Views that are not row-major (a transposed weight,
/// channels-last) are gathered element by element.
public final class TorchCheckpointFile: WeightSource, Sendable {
    /// The two layouts read.
    public enum Format: String, Sendable {
        case zip = "PyTorch zip checkpoint"
        case legacy = "PyTorch legacy checkpoint"
    }

    /// One tensor: a strided view of a storage.
    public struct Entry: Sendable, Equatable {
        /// Element type of its storage.
        public let dtype: SafeTensorsFile.DType
        /// Dimensions, outermost first.
        public let shape: [Int]
        /// Elements to step per dimension (row-major: each the product of the sizes after it).
        public let strides: [Int]
        /// Elements from the start of the storage to the tensor's first.
        public let storageOffset: Int
        /// The storage's key.
        public let storage: String
    }

    /// The largest pickle read: 16 MiB (a state dict's is about 150 bytes per tensor: 60 KB for
    /// google/ddpm-celebahq-256).
    public static let maxPickleBytes = 16 << 20

    /// The path the file was read from.
    public let path: String
    /// Which layout the file has.
    public let format: Format
    /// Tensors by name.
    public let entries: [String: Entry]
    private let source: any RandomAccessBytes
    /// Byte of the file where each storage's first element is, by key.
    private let storageStarts: [String: Int]

    /// Opens `url` (a regular file; see ``InputFile``) and checks it. Throws ``FileError`` when the
    /// file cannot be opened, else ``TorchCheckpointError``.
    public convenience init(url: URL) throws {
        try self.init(source: try InputFile(url.path))
    }

    /// A checkpoint already in memory, checked as a file is; `path` names it in errors.
    public convenience init(bytes: [UInt8], path: String) throws {
        try self.init(source: MemoryBytes(bytes, path: path))
    }

    /// Reads and checks the checkpoint in `source`: its pickles, every tensor's view and where
    /// every storage is. Refusals are one line naming the file and the opcode, global, tensor or
    /// storage.
    public init(source: any RandomAccessBytes) throws {
        let path = source.path
        self.path = path
        self.source = source
        let fail = { (reason: String) in TorchCheckpointError(file: path, reason) }
        let head = try Self.reading(path) { () throws(FileError) in try source.bytes(at: 0, count: min(source.count, 4)) }
        let parsed: (entries: [String: Entry], starts: [String: Int])
        if head == [0x50, 0x4B, 0x03, 0x04] {
            format = .zip
            parsed = try Self.readZip(source, fail: fail)
        } else if head.count == 4, head[0] == 0x80, head[2] == 0x8A {
            // PROTO n, then LONG1: the magic number
            format = .legacy
            parsed = try Self.readLegacy(source, fail: fail)
        } else if source.count >= 262, try Self.reading(path, { () throws(FileError) in try source.bytes(at: 257, count: 5) }) == Array("ustar".utf8) {
            throw fail("a tar archive: the checkpoint format of torch < 0.1.10 is not read (load it in torch and save it again)")
        } else {
            throw fail("not a PyTorch checkpoint (neither a zip archive nor a pickle)")
        }
        (entries, storageStarts) = parsed
    }

    /// "PyTorch zip checkpoint" or "PyTorch legacy checkpoint".
    public var formatName: String { format.rawValue }

    /// The names of all tensors, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// The shape of tensor `name`, nil if absent.
    public func shape(of name: String) -> [Int]? { entries[name]?.shape }

    /// The tensor `name` converted to Float; throws if it is absent or the file now ends before
    /// its bytes.
    public func tensor(_ name: String) throws -> Tensor {
        guard let e = entries[name], let base = storageStarts[e.storage] else {
            throw TorchCheckpointError(file: path, "tensor '\(PickleText.shown(name))' is missing")
        }
        let count = e.shape.reduce(1, *)
        guard count > 0 else { return Tensor(shape: e.shape, data: []) }
        let rowMajor = Self.rowMajorStrides(e.shape)
        // the elements the view reaches lie in [offset, offset + extent]: Σ (sizeᵢ − 1)·strideᵢ
        // (checked against the storage when the file was opened)
        let extent = zip(e.shape, e.strides).reduce(0) { $0 + ($1.0 - 1) * $1.1 }
        let contiguous = zip(e.shape, zip(e.strides, rowMajor)).allSatisfy { $0 == 1 || $1.0 == $1.1 }
        let span = contiguous ? count : extent + 1
        let at = base + e.storageOffset * e.dtype.size
        let source = self.source
        let values = try Self.reading(path, tensor: name) { () throws(FileError) -> [Float] in
            switch e.dtype {
            case .f32: return try SafeTensorsFile.read(Float.self, count: span, from: source, at: at)
            case .f16: return try SafeTensorsFile.readHalves(count: span, from: source, at: at) { Float(Float16(bitPattern: $0)) }
            case .bf16: return try SafeTensorsFile.readHalves(count: span, from: source, at: at) { Float(bitPattern: UInt32($0) << 16) }
            }
        }
        if contiguous { return Tensor(shape: e.shape, data: values) }
        return Tensor(shape: e.shape, data: Self.gather(values, shape: e.shape, strides: e.strides, count: count))
    }

    /// The tensor `name`, checked against the expected shape; the error names both shapes.
    public func tensor(_ name: String, shape expected: [Int]) throws -> Tensor {
        guard let e = entries[name] else {
            throw TorchCheckpointError(file: path, "tensor '\(PickleText.shown(name))' is missing (expected shape \(expected))")
        }
        guard e.shape == expected else {
            throw TorchCheckpointError(file: path, "tensor '\(PickleText.shown(name))' has shape \(e.shape), expected \(expected)")
        }
        return try tensor(name)
    }

    /// Row-major strides of `shape`: strideᵢ = Π_{j>i} sizeⱼ.
    static func rowMajorStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var step = 1
        for i in shape.indices.reversed() {
            strides[i] = step
            step *= shape[i]
        }
        return strides
    }

    /// The elements of a strided view in row-major order: element (i₀, …, iₙ) is
    /// `values[Σ iₖ·strideₖ]` (`values` starts at the view's first element).
    static func gather(_ values: [Float], shape: [Int], strides: [Int], count: Int) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: shape.count)
        var from = 0
        for i in 0..<count {
            out[i] = values[from]
            // odometer: bump the last dimension, carrying into earlier ones
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                from += strides[d]
                if index[d] < shape[d] { break }
                from -= strides[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

    // MARK: - The zip format

    private static func readZip(_ source: any RandomAccessBytes, fail: (String) -> TorchCheckpointError) throws -> ([String: Entry], [String: Int]) {
        let zip: StoredZip
        do {
            zip = try StoredZip(source)
        } catch let error as ZipRefusal {
            throw fail("zip: \(error)")
        }
        // ARCHIVE/data.pkl: exactly one, at the top of the archive's one folder
        let pickles = zip.entries.keys.filter { $0.hasSuffix("/data.pkl") && $0.split(separator: "/", omittingEmptySubsequences: false).count == 2 }
        guard pickles.count == 1, let pickleName = pickles.first else {
            if zip.entries.keys.contains(where: { $0.hasSuffix("/constants.pkl") }) { throw fail("a TorchScript archive, not a state dict") }
            throw fail("zip: \(pickles.isEmpty ? "no ARCHIVE/data.pkl entry" : "\(pickles.count) data.pkl entries")")
        }
        let archive = String(pickleName.dropLast("/data.pkl".count))
        func range(_ entry: StoredZip.Entry) throws -> Range<Int> {
            do {
                return try zip.dataRange(of: entry)
            } catch let error as ZipRefusal {
                throw fail("zip: \(error)")
            }
        }
        if let order = zip.entries["\(archive)/byteorder"] {
            let r = try range(order)
            let text = try reading(source.path) { () throws(FileError) in try source.bytes(at: r.lowerBound, count: min(r.count, 16)) }
            guard text == Array("little".utf8) else { throw fail("byteorder is '\(PickleText.shown(String(decoding: text, as: UTF8.self)))' (only little-endian checkpoints are read)") }
        }
        guard let pickleEntry = zip.entries[pickleName] else { throw fail("zip: no \(pickleName)") }
        let pickleRange = try range(pickleEntry)
        guard pickleRange.count <= maxPickleBytes else { throw fail("data.pkl is \(pickleRange.count) bytes (at most \(maxPickleBytes >> 20) MiB)") }
        var storages = StorageTable(fileSize: source.count, legacy: false)
        var unpickler = Unpickler(PickleInput(source, from: pickleRange.lowerBound, to: pickleRange.upperBound)) { try storages.load($0) }
        let value = try load(&unpickler, "data.pkl", fail: fail)
        let entries = try stateDict(value, fail: fail)
        guard unpickler.position == pickleRange.upperBound else {
            throw fail("data.pkl: \(pickleRange.upperBound - unpickler.position) bytes after STOP")
        }
        // each storage: ARCHIVE/data/KEY, exactly numel × element size bytes
        var starts: [String: Int] = [:]
        for (key, s) in storages.seen {
            guard let entry = zip.entries["\(archive)/data/\(key)"] else {
                let user = entries.first { $0.value.storage == key }.map { " (of tensor '\(PickleText.shown($0.key))')" } ?? ""
                throw fail("storage '\(PickleText.shown(key))'\(user) is not in the archive (no \(archive)/data/\(PickleText.shown(key)))")
            }
            let r = try range(entry)
            guard r.count == s.numel * s.dtype.size else {
                throw fail("storage '\(PickleText.shown(key))' has \(r.count) bytes for \(s.numel) elements of \(s.dtype.rawValue)")
            }
            starts[key] = r.lowerBound
        }
        return (entries, starts)
    }

    // MARK: - The legacy format

    /// 0x1950a86a20f9469cfc6c as LONG1's little-endian bytes.
    private static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    private static func readLegacy(_ source: any RandomAccessBytes, fail: (String) -> TorchCheckpointError) throws -> ([String: Entry], [String: Int]) {
        var storages = StorageTable(fileSize: source.count, legacy: true)
        let end = min(source.count, maxPickleBytes)
        var unpickler = Unpickler(PickleInput(source, from: 0, to: end)) { try storages.load($0) }
        guard case .bigInt(let magic) = try load(&unpickler, "the magic number", fail: fail), magic == legacyMagic else {
            throw fail("the legacy format's magic number is wrong")
        }
        guard case .int(1001) = try load(&unpickler, "the protocol version", fail: fail) else {
            throw fail("the legacy format's protocol version is not 1001")
        }
        guard case .dict(let info, _) = try load(&unpickler, "the system information", fail: fail) else {
            throw fail("the legacy format's system information is not a dict")
        }
        let littleEndian = info.first { if case .string("little_endian") = $0.key { true } else { false } }?.value
        guard case .bool(true) = littleEndian else { throw fail("a big-endian checkpoint (only little-endian ones are read)") }
        let entries = try stateDict(try load(&unpickler, "the state dict", fail: fail), fail: fail)
        guard case .list(let keyValues, _) = try load(&unpickler, "the storage keys", fail: fail) else {
            throw fail("the legacy format's storage keys are not a list")
        }
        // the storages, in the order of the keys: int64 element count, then the elements
        var at = unpickler.position
        var starts: [String: Int] = [:]
        for value in keyValues {
            guard case .string(let key) = value else { throw fail("a storage key is \(value.kind)") }
            guard let s = storages.seen[key] else { throw fail("storage '\(PickleText.shown(key))' in the data is used by no tensor") }
            guard starts[key] == nil else { throw fail("storage '\(PickleText.shown(key))' is listed twice") }
            let header = try reading(source.path, storage: key) { () throws(FileError) in try source.bytes(at: at, count: 8) }
            let numel = header.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard numel == UInt64(s.numel) else { throw fail("storage '\(PickleText.shown(key))' has \(numel) elements in the data, \(s.numel) in its id") }
            let bytes = s.numel * s.dtype.size  // ≤ the file's size (StorageTable)
            guard bytes <= source.count - at - 8 else {
                throw fail("storage '\(PickleText.shown(key))': \(bytes) bytes at \(at + 8) run past the end of the file (\(source.count) bytes)")
            }
            starts[key] = at + 8
            at += 8 + bytes
        }
        if let missing = storages.seen.keys.sorted().first(where: { starts[$0] == nil }) {
            let user = entries.first { $0.value.storage == missing }.map { " (of tensor '\(PickleText.shown($0.key))')" } ?? ""
            throw fail("storage '\(PickleText.shown(missing))'\(user) is not in the data")
        }
        guard at == source.count else { throw fail("\(source.count - at) bytes after the last storage") }
        return (entries, starts)
    }

    // MARK: - Shared

    /// One pickle of the file through `unpickler`; a refusal names `what` and the byte.
    private static func load(_ unpickler: inout Unpickler, _ what: String, fail: (String) -> TorchCheckpointError) throws -> PickleValue {
        do {
            return try unpickler.load()
        } catch let error as PickleError {
            throw fail("\(what): \(error.reason) (byte \(error.offset) of the pickle); nothing was run")
        }
    }

    /// The state dict: a dict (or OrderedDict) of distinct string names to tensors.
    private static func stateDict(_ value: PickleValue, fail: (String) -> TorchCheckpointError) throws -> [String: Entry] {
        guard case .dict(let items, _) = value else { throw fail("the pickle holds \(value.kind), not a state dict") }
        var entries: [String: Entry] = [:]
        for (key, item) in items {
            guard case .string(let name) = key else { throw fail("a state dict key is \(key.kind), not a name") }
            guard case .tensor(let t) = item else { throw fail("'\(PickleText.shown(name))' holds \(item.kind), not a tensor") }
            guard entries[name] == nil else { throw fail("tensor '\(PickleText.shown(name))' appears twice") }
            entries[name] = Entry(dtype: t.storage.dtype, shape: t.shape, strides: t.strides, storageOffset: t.offset, storage: t.storage.key)
        }
        return entries
    }

    /// Runs a read; a file that ended early or failed is an error naming the tensor or storage.
    private static func reading<T>(_ path: String, tensor: String? = nil, storage: String? = nil, _ body: () throws(FileError) -> T) throws -> T {
        let what = tensor.map { " while reading tensor '\(PickleText.shown($0))'" } ?? storage.map { " while reading storage '\(PickleText.shown($0))'" } ?? ""
        do {
            return try body()
        } catch .endedEarly(_, let offset) {
            throw TorchCheckpointError(file: path, "file ended at byte \(offset)\(what)")
        } catch .cannotRead(_, let offset, let reason) {
            throw TorchCheckpointError(file: path, "cannot read byte \(offset)\(what): \(reason)")
        } catch {
            throw error
        }
    }
}

/// The storages named by persistent ids so far, each checked against the file's size.
private struct StorageTable {
    let fileSize: Int
    /// The legacy format's ids have a sixth item (a view of the storage).
    let legacy: Bool
    var seen: [String: StorageReference] = [:]

    /// The storage of a persistent id `('storage', StorageType, key, location, numel[, view])`.
    mutating func load(_ id: PickleValue) throws -> PickleValue {
        guard case .tuple(let a, _) = id, a.count == (legacy ? 6 : 5) else {
            throw PickleRefusal("a persistent id that is \(id.kind), not ('storage', type, key, location, numel\(legacy ? ", view" : ""))")
        }
        guard case .string("storage") = a[0] else { throw PickleRefusal("a persistent id of \(a[0].kind) (only 'storage' ids are read)") }
        guard case .global(.storage(let dtype)) = a[1] else { throw PickleRefusal("a storage whose type is \(a[1].kind)") }
        guard case .string(let key) = a[2] else { throw PickleRefusal("a storage whose key is \(a[2].kind)") }
        guard case .string = a[3] else { throw PickleRefusal("a storage whose location is \(a[3].kind)") }
        guard case .int(let numel) = a[4], numel >= 0 else { throw PickleRefusal("storage '\(PickleText.shown(key))' of \(a[4].kind) elements") }
        // a storage's bytes are in the file: more than the file holds is refused here
        let (bytes, overflow) = numel.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, bytes <= fileSize else {
            throw PickleRefusal("storage '\(PickleText.shown(key))' of \(numel) elements is larger than the file (\(fileSize) bytes)")
        }
        if legacy {
            guard case .none = a[5] else {
                throw PickleRefusal("storage '\(PickleText.shown(key))' is a view of another (torch < 0.4), which is not read")
            }
        }
        let storage = StorageReference(key: key, dtype: dtype, numel: numel)
        if let earlier = seen[key], earlier != storage {
            throw PickleRefusal("storage '\(PickleText.shown(key))' is named with two types or sizes")
        }
        seen[key] = storage
        return .storage(storage)
    }
}

/// A persistent id refused (the unpickler adds where).
struct PickleRefusal: Error, CustomStringConvertible {
    let description: String
    init(_ reason: String) { description = reason }
}
