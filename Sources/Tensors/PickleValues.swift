import Files

// The values, globals and input of the restricted unpickler (Pickle.swift).

/// A global the unpickler resolves: the callables and types of a PyTorch state dict.
enum PickleGlobal: Equatable, Sendable {
    /// `collections.OrderedDict` (the state dict itself, and empty `backward_hooks`).
    case orderedDict
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`.
    case rebuildTensorV2
    /// `torch._utils._rebuild_tensor(storage, offset, size, stride)` (older torch).
    case rebuildTensor
    /// `torch._utils._rebuild_parameter(tensor, requires_grad, hooks)` (a state dict of `nn.Parameter`s).
    case rebuildParameter
    /// `torch.FloatStorage`, `torch.HalfStorage`, `torch.BFloat16Storage`: a storage's element type.
    case storage(SafeTensorsFile.DType)

    /// The global `module.name`, or nil when it is not one a state dict needs.
    static func resolve(module: String, name: String) -> PickleGlobal? {
        switch (module, name) {
        case ("collections", "OrderedDict"): .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor"): .rebuildTensor
        case ("torch._utils", "_rebuild_parameter"): .rebuildParameter
        case ("torch", "FloatStorage"): .storage(.f32)
        case ("torch", "HalfStorage"): .storage(.f16)
        case ("torch", "BFloat16Storage"): .storage(.bf16)
        default: nil
        }
    }
}

/// A storage named by a persistent id: `('storage', StorageType, key, location, numel[, view])`.
struct StorageReference: Equatable, Sendable {
    /// Its key: the zip entry `data/KEY`, or the legacy format's record.
    let key: String
    /// Element type.
    let dtype: SafeTensorsFile.DType
    /// Elements in the storage.
    let numel: Int
}

/// A tensor as `_rebuild_tensor_v2` describes it: a strided view of a storage.
struct TensorReference: Equatable, Sendable {
    let storage: StorageReference
    /// First element, in elements from the start of the storage.
    let offset: Int
    let shape: [Int]
    /// Elements to step per dimension.
    let strides: [Int]
}

/// A value on the unpickler's stack. Containers are values (a later change to a dict is not seen
/// through an earlier memo entry of it; state dicts never rely on that) and carry their nesting
/// depth, which is bounded so that no value is too deep to walk or to free.
enum PickleValue: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    /// A LONG1 wider than 64 bits: its little-endian two's complement bytes.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case tuple([PickleValue], depth: Int)
    case list([PickleValue], depth: Int)
    /// A dict or OrderedDict, its items in order.
    case dict([(key: PickleValue, value: PickleValue)], depth: Int)
    case global(PickleGlobal)
    case storage(StorageReference)
    case tensor(TensorReference)

    /// 0 for a scalar, 1 + the deepest item for a container.
    var depth: Int {
        switch self {
        case .tuple(_, let d), .list(_, let d), .dict(_, let d): d
        default: 0
        }
    }

    /// What it is, for messages: "a tuple of 3", "the string 'cpu'".
    var kind: String {
        switch self {
        case .none: "None"
        case .bool(let b): b ? "True" : "False"
        case .int(let i): "the integer \(i)"
        case .bigInt: "a large integer"
        case .float(let x): "the float \(x)"
        case .string(let s): "the string '\(PickleText.shown(s))'"
        case .tuple(let items, _): "a tuple of \(items.count)"
        case .list(let items, _): "a list of \(items.count)"
        case .dict(let items, _): "a dict of \(items.count)"
        case .global(let g): "the global \(g)"
        case .storage(let s): "storage '\(PickleText.shown(s.key))'"
        case .tensor: "a tensor"
        }
    }
}

/// Why a pickle was refused: the reason, and the byte of the pickle where it was found.
struct PickleError: Error {
    let reason: String
    /// Offset of the opcode in the pickle (from its first byte).
    let offset: Int
}

/// Text from a file made safe for a one-line message.
enum PickleText {
    /// `s` with control characters as `?`, cut to 80 characters.
    static func shown(_ s: String) -> String {
        let cleaned = String(s.unicodeScalars.prefix(80).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
        return s.unicodeScalars.count > 80 ? cleaned + "…" : cleaned
    }
}

/// Bytes of one pickle read from `source` a chunk at a time, from `start` up to `end` at most.
struct PickleInput {
    let source: any RandomAccessBytes
    let start: Int
    let end: Int
    /// The absolute position of the next byte.
    private(set) var position: Int
    private var buffer: [UInt8] = []
    private var bufferStart: Int

    init(_ source: any RandomAccessBytes, from start: Int, to end: Int) {
        (self.source, self.start, self.end, position, bufferStart) = (source, start, end, start, start)
    }

    /// The offset of the next byte within the pickle.
    var offset: Int { position - start }

    /// The next `n` bytes (n is checked against what is left before anything is allocated).
    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= end - position else {
            throw PickleError(reason: "the pickle ends inside an opcode's argument (\(n) bytes wanted, \(end - position) left)", offset: offset)
        }
        if position + n > bufferStart + buffer.count {
            // refill from `position`: at least 64 KiB, or the whole argument
            let count = min(max(n, 1 << 16), end - position)
            do {
                buffer = try source.bytes(at: position, count: count)
            } catch {
                throw PickleError(reason: "\(error)", offset: offset)
            }
            bufferStart = position
        }
        let from = position - bufferStart
        position += n
        return buffer[from..<(from + n)]
    }

    /// One byte.
    mutating func byte() throws -> UInt8 {
        let b = try take(1)
        return b[b.startIndex]
    }

    /// An unsigned little-endian integer of `n` bytes (n ≤ 4).
    mutating func unsigned(_ n: Int) throws -> Int {
        try take(n).reversed().reduce(0) { $0 << 8 | Int($1) }
    }

    /// A text line for GLOBAL: up to "\n", at most `limit` bytes.
    mutating func line(limit: Int) throws -> String {
        var bytes: [UInt8] = []
        while true {
            let b = try byte()
            if b == 0x0A { break }
            guard bytes.count < limit else { throw PickleError(reason: "a GLOBAL name longer than \(limit) bytes", offset: offset) }
            bytes.append(b)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
