import Files

// A restricted unpickler: it reads the pickles inside PyTorch checkpoints (`torch.save` of a state
// dict) and nothing else. Python's pickle is a small stack machine whose GLOBAL and REDUCE opcodes
// import and call arbitrary functions; here GLOBAL resolves only the few names a state dict needs
// (``PickleGlobal``) and REDUCE applies only those, by reading their arguments, so nothing from the
// file is ever run. Any other opcode or global is refused by name before it has any effect.
//
// Opcodes (pickletools' names; protocol 2 is what torch.save writes, 3–5 are accepted where they
// only add FRAME, SHORT_BINUNICODE, STACK_GLOBAL and MEMOIZE):
//   PROTO 0x80 n · FRAME 0x95 len8 · STOP '.'
//   MARK '(' · EMPTY_TUPLE ')' · EMPTY_DICT '}' · EMPTY_LIST ']' · TUPLE 't' · TUPLE1-3 0x85-0x87
//   SETITEM 's' · SETITEMS 'u' · APPEND 'a' · APPENDS 'e'
//   NONE 'N' · NEWTRUE 0x88 · NEWFALSE 0x89 · BININT1 'K' u8 · BININT2 'M' u16 · BININT 'J' i32
//   LONG1 0x8a n bytes (two's complement, little-endian) · BINFLOAT 'G' f64 big-endian
//   BINUNICODE 'X' u32 len · SHORT_BINUNICODE 0x8c u8 len (UTF-8)
//   GLOBAL 'c' "module\nname\n" · STACK_GLOBAL 0x93 · REDUCE 'R' · BUILD 'b' · BINPERSID 'Q'
//   BINPUT 'q' u8 · LONG_BINPUT 'r' u32 · MEMOIZE 0x94 · BINGET 'h' u8 · LONG_BINGET 'j' u32
// All multi-byte integers are little-endian except BINFLOAT's double.


/// The restricted unpickler (see the top of this file for its opcodes).
struct Unpickler {
    /// The most values on the stack at once (a state dict's SETITEMS holds 2 per tensor, in
    /// batches of 1000).
    static let maxStack = 1 << 20
    /// The most MARKs open at once (a state dict nests 3).
    static let maxMarks = 64
    /// The deepest nesting of containers (a state dict's is 4).
    static let maxDepth = 32
    /// The most memo entries (a state dict uses about 8 per tensor).
    static let maxMemo = 1 << 20
    /// The longest string (tensor names, storage keys: tens of bytes).
    static let maxString = 1 << 16
    /// The most values created in all (each opcode creates at most one): bounds the memory a
    /// pickle of repeated BINGETs can claim.
    static let maxValues = 1 << 22

    private var input: PickleInput
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var created = 0
    /// Resolves a BINPERSID's id (a tuple) to a storage; throws with the reason it is refused.
    private let persistentLoad: (PickleValue) throws -> PickleValue

    init(_ input: PickleInput, persistentLoad: @escaping (PickleValue) throws -> PickleValue) {
        self.input = input
        self.persistentLoad = persistentLoad
    }

    /// The position after the last pickle read (the next pickle of a legacy file starts there).
    var position: Int { input.position }

    /// Reads one pickle, up to and including its STOP, and returns its value.
    mutating func load() throws -> PickleValue {
        (stack, marks, memo) = ([], [], [:])
        while true {
            let at = input.offset
            let op = try input.byte()
            do {
                if let value = try step(op) { return value }
            } catch let error as PickleError {
                throw error
            } catch {
                throw PickleError(reason: "\(error)", offset: at)
            }
        }
    }

    private func fail(_ reason: String) -> PickleError { PickleError(reason: reason, offset: input.offset) }

    /// Runs one opcode; the pickle's value at STOP.
    private mutating func step(_ op: UInt8) throws -> PickleValue? {
        switch op {
        case 0x80:  // PROTO
            let version = try input.byte()
            guard (2...5).contains(version) else { throw fail("pickle protocol \(version) (2 to 5 are read)") }
        case 0x95:  // FRAME: a length hint only
            _ = try input.take(8)
        case 0x2E:  // STOP
            guard marks.isEmpty, stack.count == 1, let value = stack.first else {
                throw fail("STOP with \(stack.count) values and \(marks.count) marks on the stack (expected one value)")
            }
            return value
        case 0x28:  // MARK
            guard marks.count < Self.maxMarks else { throw fail("more than \(Self.maxMarks) nested MARKs") }
            marks.append(stack.count)
        case 0x29: try push(.tuple([], depth: 1))  // EMPTY_TUPLE
        case 0x7D: try push(.dict([], depth: 1))  // EMPTY_DICT
        case 0x5D: try push(.list([], depth: 1))  // EMPTY_LIST
        case 0x4E: try push(.none)
        case 0x88: try push(.bool(true))
        case 0x89: try push(.bool(false))
        case 0x4B: try push(.int(try input.unsigned(1)))  // BININT1
        case 0x4D: try push(.int(try input.unsigned(2)))  // BININT2
        case 0x4A: try push(.int(Int(Int32(truncatingIfNeeded: try input.unsigned(4)))))  // BININT
        case 0x8A: try push(try long1())
        case 0x47:  // BINFLOAT: an IEEE double, big-endian
            let bits = try input.take(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            try push(.float(Double(bitPattern: bits)))
        case 0x58: try push(.string(try string(length: try input.unsigned(4))))  // BINUNICODE
        case 0x8C: try push(.string(try string(length: try input.unsigned(1))))  // SHORT_BINUNICODE
        case 0x63:  // GLOBAL
            let module = try input.line(limit: 256), name = try input.line(limit: 256)
            try push(.global(try resolve(module, name)))
        case 0x93:  // STACK_GLOBAL
            let name = try pop(), module = try pop()
            guard case .string(let n) = name, case .string(let m) = module else {
                throw fail("STACK_GLOBAL of \(module.kind) and \(name.kind)")
            }
            try push(.global(try resolve(m, n)))
        case 0x51:  // BINPERSID
            try push(try persistentLoad(try pop()))
        case 0x74: try push(try tuple(try popMark()))  // TUPLE
        case 0x85: try push(try tuple(try pop(1)))
        case 0x86: try push(try tuple(try pop(2)))
        case 0x87: try push(try tuple(try pop(3)))
        case 0x73: try setItems(try pop(2))  // SETITEM
        case 0x75: try setItems(try popMark())  // SETITEMS
        case 0x61: try append(try pop(1))  // APPEND
        case 0x65: try append(try popMark())  // APPENDS
        case 0x52:  // REDUCE
            let args = try pop(), callable = try pop()
            try push(try reduce(callable, args))
        case 0x62:  // BUILD: OrderedDict's state (state_dict's `_metadata` attribute), kept out
            let state = try pop()
            guard case .dict = try top() else { throw fail("BUILD on \(try top().kind) (only a dict's attributes are accepted)") }
            switch state {
            case .none, .dict: break
            default: throw fail("BUILD with \(state.kind) as the state (a dict of attributes expected)")
            }
        case 0x71: try put(try input.unsigned(1))  // BINPUT
        case 0x72: try put(try input.unsigned(4))  // LONG_BINPUT
        case 0x94: try put(memo.count)  // MEMOIZE
        case 0x68: try get(try input.unsigned(1))  // BINGET
        case 0x6A: try get(try input.unsigned(4))  // LONG_BINGET
        default:
            throw fail("opcode \(Self.opcodeName(op)) is not one a state dict needs")
        }
        return nil
    }

    // MARK: - The stack

    private mutating func push(_ value: PickleValue) throws {
        guard stack.count < Self.maxStack else { throw fail("more than \(Self.maxStack) values on the stack") }
        guard value.depth <= Self.maxDepth else { throw fail("containers nested more than \(Self.maxDepth) deep") }
        created += 1
        guard created <= Self.maxValues else { throw fail("more than \(Self.maxValues) values") }
        stack.append(value)
    }

    /// The lowest stack index an opcode may pop down to: the last MARK's.
    private var floor: Int { marks.last ?? 0 }

    private mutating func pop() throws -> PickleValue {
        guard stack.count > floor, let value = stack.popLast() else { throw fail("stack underflow") }
        return value
    }

    private mutating func pop(_ n: Int) throws -> [PickleValue] {
        guard stack.count - floor >= n else { throw fail("stack underflow") }
        defer { stack.removeLast(n) }
        return Array(stack.suffix(n))
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw fail("no MARK to pop to") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private func top() throws -> PickleValue {
        guard stack.count > floor, let value = stack.last else { throw fail("stack underflow") }
        return value
    }

    private func depth(of items: [PickleValue]) -> Int { 1 + (items.map(\.depth).max() ?? 0) }

    private func tuple(_ items: [PickleValue]) throws -> PickleValue { .tuple(items, depth: depth(of: items)) }

    private mutating func setItems(_ items: [PickleValue]) throws {
        guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number of values (\(items.count))") }
        guard case .dict(var pairs, let d) = try top() else { throw fail("SETITEM(S) on \(try top().kind) (a dict expected)") }
        stack.removeLast()
        for i in stride(from: 0, to: items.count, by: 2) { pairs.append((items[i], items[i + 1])) }
        stack.append(.dict(pairs, depth: max(d, depth(of: items))))
        guard (stack.last?.depth ?? 0) <= Self.maxDepth else { throw fail("containers nested more than \(Self.maxDepth) deep") }
    }

    private mutating func append(_ items: [PickleValue]) throws {
        guard case .list(var values, let d) = try top() else { throw fail("APPEND(S) on \(try top().kind) (a list expected)") }
        stack.removeLast()
        values += items
        stack.append(.list(values, depth: max(d, depth(of: items))))
        guard (stack.last?.depth ?? 0) <= Self.maxDepth else { throw fail("containers nested more than \(Self.maxDepth) deep") }
    }

    private mutating func put(_ index: Int) throws {
        guard memo.count < Self.maxMemo || memo[index] != nil else { throw fail("more than \(Self.maxMemo) memo entries") }
        memo[index] = try top()
    }

    private mutating func get(_ index: Int) throws {
        guard let value = memo[index] else { throw fail("memo entry \(index) was never put") }
        try push(value)
    }

    // MARK: - Arguments

    /// LONG1: n bytes of a little-endian two's complement integer.
    private mutating func long1() throws -> PickleValue {
        let n = try input.unsigned(1)
        let bytes = Array(try input.take(n))
        guard n <= 8 else { return .bigInt(bytes) }
        guard let last = bytes.last else { return .int(0) }
        // sign-extend from the top byte
        var value: UInt64 = last & 0x80 != 0 ? ~0 : 0
        for b in bytes.reversed() { value = value << 8 | UInt64(b) }
        return .int(Int(Int64(bitPattern: value)))
    }

    private mutating func string(length: Int) throws -> String {
        guard length <= Self.maxString else { throw fail("a string of \(length) bytes (at most \(Self.maxString))") }
        let bytes = try input.take(length)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw fail("a string that is not UTF-8") }
        return text
    }

    private func resolve(_ module: String, _ name: String) throws -> PickleGlobal {
        guard let global = PickleGlobal.resolve(module: module, name: name) else {
            let shown = "\(PickleText.shown(module)).\(PickleText.shown(name))"
            if module == "torch", name.hasSuffix("Storage") {
                throw fail("global \(shown): only float32, float16 and bfloat16 tensors are read")
            }
            throw fail("global \(shown) is not allowed (a state dict needs only collections.OrderedDict, torch._utils._rebuild_tensor_v2 and torch's float storage types); nothing was run")
        }
        return global
    }

    // MARK: - REDUCE: the allowed callables, applied by reading their arguments

    private func reduce(_ callable: PickleValue, _ args: PickleValue) throws -> PickleValue {
        guard case .global(let g) = callable else { throw fail("REDUCE of \(callable.kind) (only an allowed global may be called)") }
        guard case .tuple(let a, _) = args else { throw fail("REDUCE of \(g) with \(args.kind) as arguments") }
        switch g {
        case .orderedDict:
            guard a.isEmpty else { throw fail("OrderedDict with \(a.count) arguments (a state dict's has none)") }
            return .dict([], depth: 1)
        case .rebuildTensorV2, .rebuildTensor:
            let count = g == .rebuildTensor ? [4] : [6, 7]
            guard count.contains(a.count) else { throw fail("\(g) with \(a.count) arguments (expected \(count.map(String.init).joined(separator: " or ")))") }
            if a.count >= 6 {
                guard case .bool = a[4] else { throw fail("requires_grad is \(a[4].kind)") }
                guard case .dict(let hooks, _) = a[5], hooks.isEmpty else { throw fail("backward hooks are \(a[5].kind) (an empty OrderedDict expected)") }
            }
            if a.count == 7 {
                switch a[6] {
                case .none, .dict: break
                default: throw fail("tensor metadata is \(a[6].kind)")
                }
            }
            return .tensor(try tensor(storage: a[0], offset: a[1], size: a[2], stride: a[3]))
        case .rebuildParameter:
            guard a.count == 3, case .tensor = a[0], case .bool = a[1], case .dict(let hooks, _) = a[2], hooks.isEmpty else {
                throw fail("_rebuild_parameter with arguments other than (tensor, requires_grad, empty hooks)")
            }
            return a[0]
        case .storage:
            throw fail("a call of \(g) (storages come only from persistent ids)")
        }
    }

    /// A strided view, checked: rank ≤ 64, sizes and strides ≥ 0, offset ≥ 0, no more elements
    /// than the storage has, and every element it reaches inside the storage:
    /// offset + Σ (sizeᵢ − 1)·strideᵢ < numel (computed without overflow).
    private func tensor(storage: PickleValue, offset: PickleValue, size: PickleValue, stride: PickleValue) throws -> TensorReference {
        guard case .storage(let s) = storage else { throw fail("a tensor whose storage is \(storage.kind)") }
        guard case .int(let start) = offset, start >= 0 else { throw fail("a tensor whose storage offset is \(offset.kind)") }
        let shape = try integers(size, "size"), strides = try integers(stride, "stride")
        guard shape.count == strides.count else { throw fail("a tensor of size \(shape) with strides \(strides)") }
        guard shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
            throw fail("a tensor of size \(shape) with strides \(strides): negative values")
        }
        var elements = 1
        for d in shape {
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail("a tensor of size \(shape): the element count overflows") }
            elements = p
        }
        // distinct elements of a storage number at most its numel: more means a broadcast (stride 0)
        // or overlapping view, which a state dict never holds, and whose Floats the file would not bound
        guard elements <= s.numel else {
            throw fail("a tensor of size \(shape) has \(elements) elements, more than its storage '\(PickleText.shown(s.key))' holds (\(s.numel)): a broadcast or overlapping view")
        }
        if elements > 0 {
            var last = start
            for (d, st) in zip(shape, strides) {
                let (step, o1) = (d - 1).multipliedReportingOverflow(by: st)
                let (sum, o2) = last.addingReportingOverflow(step)
                guard !o1, !o2 else { throw fail("a tensor of size \(shape) with strides \(strides): its extent overflows") }
                last = sum
            }
            guard last < s.numel else {
                throw fail("a tensor of size \(shape) with strides \(strides) from offset \(start) reaches element \(last) of storage '\(PickleText.shown(s.key))', which has \(s.numel)")
            }
        }
        return TensorReference(storage: s, offset: start, shape: shape, strides: strides)
    }

    /// A tuple of at most 64 integers (a size or a stride).
    private func integers(_ value: PickleValue, _ what: String) throws -> [Int] {
        guard case .tuple(let items, _) = value else { throw fail("a tensor whose \(what) is \(value.kind)") }
        guard items.count <= SafeTensorsFile.maxRank else { throw fail("a tensor of \(items.count) dimensions (at most \(SafeTensorsFile.maxRank))") }
        return try items.map {
            guard case .int(let i) = $0 else { throw fail("a tensor whose \(what) holds \($0.kind)") }
            return i
        }
    }

    // MARK: - Opcode names, for refusals

    /// pickletools' name of `op` and its byte: "INST (0x69)".
    static func opcodeName(_ op: UInt8) -> String {
        let names: [UInt8: String] = [
            0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT", 0x49: "INT", 0x4C: "LONG",
            0x50: "PERSID", 0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING", 0x56: "UNICODE",
            0x64: "DICT", 0x67: "GET", 0x69: "INST", 0x6C: "LIST", 0x6F: "OBJ", 0x70: "PUT",
            0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x8B: "LONG4", 0x42: "BINBYTES",
            0x43: "SHORT_BINBYTES", 0x8D: "BINUNICODE8", 0x8E: "BINBYTES8", 0x8F: "EMPTY_SET",
            0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX", 0x96: "BYTEARRAY8",
            0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
        ]
        let hex = "0x" + String(op, radix: 16, uppercase: true).leftPadded(2)
        return names[op].map { "\($0) (\(hex))" } ?? "\(hex) (unknown)"
    }
}

extension PickleGlobal: CustomStringConvertible {
    /// The dotted Python name.
    var description: String {
        switch self {
        case .orderedDict: "collections.OrderedDict"
        case .rebuildTensorV2: "torch._utils._rebuild_tensor_v2"
        case .rebuildTensor: "torch._utils._rebuild_tensor"
        case .rebuildParameter: "torch._utils._rebuild_parameter"
        case .storage(.f32): "torch.FloatStorage"
        case .storage(.f16): "torch.HalfStorage"
        case .storage(.bf16): "torch.BFloat16Storage"
        }
    }
}

extension String {
    /// The string with zeros in front up to `width` characters.
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
