/// Where and why JSON text was refused.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong: "expected an integer, found 2.5", "duplicate key 'a'", ….
    public let reason: String
    /// The byte of the text where it was found.
    public let offset: Int
    /// "REASON at byte N".
    public var description: String { "\(reason) at byte \(offset)" }

    /// An error at byte `offset`.
    public init(_ reason: String, at offset: Int) { (self.reason, self.offset) = (reason, offset) }
}

/// A strict JSON reader (RFC 8259) that hands values to its caller as it meets them, building
/// no tree: a 16 MB safetensors header costs about what its tensor entries cost, where
/// Foundation's `JSONSerialization` spent 40–70 times the text's size on a header of many small
/// entries or a long list.
///
/// Strict: no comments, trailing commas, leading zeros, `NaN`, bytes other than JSON whitespace
/// after the value, control characters or invalid UTF-8 (lone surrogates included) in strings;
/// a key twice in one object is refused, naming the key; nesting deeper than ``maxDepth`` is
/// refused. Total: every input ends in a value or a ``JSONError`` naming the byte.
///
/// ```swift
/// var json = JSONReader(bytes)
/// try json.beginObject()
/// while let key = try json.nextKey() {
///     if key == "shape" {
///         try json.beginArray()
///         while try json.nextElement() { dims.append(try json.readInteger()) }
///     } else { try json.skipValue() }
/// }
/// try json.finish()
/// ```
/// After ``nextKey()`` returns a key, or ``nextElement()`` returns true, the caller reads
/// exactly one value (``skipValue()`` reads any).
public struct JSONReader {
    /// The kinds of JSON value.
    public enum Kind: Sendable, Equatable {
        case object, array, string, number, boolean, null
    }

    /// The deepest nesting of objects and arrays accepted.
    public static let maxDepth = 64

    private let text: [UInt8]
    private var position = 0
    /// The objects and arrays open around the reader, innermost last.
    private var open: [Container] = []

    private struct Container {
        var isObject: Bool
        var count = 0
        /// An object's keys so far (duplicates are refused).
        var keys: Set<String> = []
    }

    /// A reader of the JSON text `text` (UTF-8).
    public init(_ text: [UInt8]) { self.text = text }

    /// The byte the reader is at.
    public var offset: Int { position }

    // MARK: - Objects and arrays

    /// Reads the `{` of an object.
    public mutating func beginObject() throws(JSONError) { try begin(UInt8(ascii: "{"), isObject: true, "an object") }

    /// The next key of the innermost object (its value comes next), or nil at its `}`.
    public mutating func nextKey() throws(JSONError) -> String? {
        guard let container = open.last, container.isObject else { throw JSONError("nextKey outside an object", at: position) }
        guard try nextMember(close: UInt8(ascii: "}"), what: "a key") else { return nil }
        skipWhitespace()
        let keyOffset = position
        guard peek() == UInt8(ascii: "\"") else { throw JSONError("expected a key in quotes, found \(found())", at: position) }
        let key = try readString()
        guard open[open.count - 1].keys.insert(key).inserted else {
            throw JSONError("duplicate key '\(Self.shown(key))'", at: keyOffset)
        }
        skipWhitespace()
        guard peek() == UInt8(ascii: ":") else { throw JSONError("expected ':' after key '\(Self.shown(key))', found \(found())", at: position) }
        position += 1
        return key
    }

    /// Reads the `[` of an array.
    public mutating func beginArray() throws(JSONError) { try begin(UInt8(ascii: "["), isObject: false, "a list") }

    /// Whether the innermost array has another element (read it next); false at its `]`.
    public mutating func nextElement() throws(JSONError) -> Bool {
        guard let container = open.last, !container.isObject else { throw JSONError("nextElement outside a list", at: position) }
        return try nextMember(close: UInt8(ascii: "]"), what: "a value")
    }

    private mutating func begin(_ opening: UInt8, isObject: Bool, _ what: String) throws(JSONError) {
        skipWhitespace()
        guard peek() == opening else { throw JSONError("expected \(what), found \(found())", at: position) }
        guard open.count < Self.maxDepth else { throw JSONError("nesting deeper than \(Self.maxDepth) levels", at: position) }
        position += 1
        open.append(Container(isObject: isObject))
    }

    /// Past the `,` before the next member, or past the closing bracket (then false).
    private mutating func nextMember(close: UInt8, what: String) throws(JSONError) -> Bool {
        skipWhitespace()
        let index = open.count - 1
        if peek() == close {
            position += 1
            open.removeLast()
            return false
        }
        if open[index].count > 0 {
            guard peek() == UInt8(ascii: ",") else {
                throw JSONError("expected ',' or '\(Character(Unicode.Scalar(close)))', found \(found())", at: position)
            }
            position += 1
            skipWhitespace()
            // [1,] and {"a":1,}
            if peek() == close { throw JSONError("expected \(what) after ',', found \(found())", at: position) }
        }
        open[index].count += 1
        return true
    }

    // MARK: - Values

    /// The kind of the next value (without reading it).
    public mutating func peekKind() throws(JSONError) -> Kind {
        skipWhitespace()
        guard let next = peek() else { throw JSONError("expected a value, found the end of the text", at: position) }
        switch next {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .boolean
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        default: throw JSONError("expected a value, found \(found())", at: position)
        }
    }

    /// A string value, unescaped.
    public mutating func readString() throws(JSONError) -> String {
        skipWhitespace()
        let start = position
        guard peek() == UInt8(ascii: "\"") else { throw JSONError("expected a string, found \(found())", at: position) }
        position += 1
        var utf8: [UInt8] = []
        while true {
            guard let byte = peek() else { throw JSONError("string not closed", at: start) }
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let string = String(validating: utf8, as: UTF8.self) else {
                    throw JSONError("string is not valid UTF-8", at: start)
                }
                return string
            case UInt8(ascii: "\\"):
                try readEscape(into: &utf8)
            case 0..<0x20:
                throw JSONError("control character \(byte) in a string", at: position - 1)
            default:
                utf8.append(byte)
            }
        }
    }

    /// An integer value: a JSON number with no fraction or exponent (`2`, not `2.0` or `2e0`)
    /// that fits in `Int`.
    public mutating func readInteger() throws(JSONError) -> Int {
        skipWhitespace()
        let start = position
        guard let first = peek(), first == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            throw JSONError("expected an integer, found \(found())", at: start)
        }
        let isInteger = try scanNumber()
        let literal = String(decoding: text[start..<position], as: UTF8.self)
        guard isInteger else { throw JSONError("expected an integer, found \(Self.shown(literal))", at: start) }
        guard let value = Int(literal) else { throw JSONError("integer \(Self.shown(literal)) does not fit in 64 bits", at: start) }
        return value
    }

    /// Reads any one value, checking it as strictly as the typed reads do.
    public mutating func skipValue() throws(JSONError) {
        switch try peekKind() {
        case .object:
            try beginObject()
            while try nextKey() != nil { try skipValue() }
        case .array:
            try beginArray()
            while try nextElement() { try skipValue() }
        case .string:
            _ = try readString()
        case .number:
            _ = try scanNumber()
        case .boolean, .null:
            let start = position
            for word in ["true", "false", "null"] where text[position...].starts(with: word.utf8) {
                position += word.utf8.count
                return
            }
            throw JSONError("expected a value, found \(found())", at: start)
        }
    }

    /// Checks that nothing but whitespace follows the top-level value.
    public mutating func finish() throws(JSONError) {
        guard open.isEmpty else { throw JSONError("finish inside an object or a list", at: position) }
        skipWhitespace()
        guard position == text.count else { throw JSONError("expected the end of the text, found \(found())", at: position) }
    }

    // MARK: - Lexing

    private func peek() -> UInt8? { position < text.count ? text[position] : nil }

    private mutating func skipWhitespace() {
        while let b = peek(), b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { position += 1 }
    }

    /// Moves past a number (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?); whether it had no
    /// fraction and no exponent.
    private mutating func scanNumber() throws(JSONError) -> Bool {
        let start = position
        func digits() -> Int {
            let first = position
            while let b = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) { position += 1 }
            return position - first
        }
        if peek() == UInt8(ascii: "-") { position += 1 }
        if peek() == UInt8(ascii: "0") {
            position += 1
            if let b = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) {
                throw JSONError("number with a leading zero", at: start)
            }
        } else if digits() == 0 {
            throw JSONError("expected digits, found \(found())", at: position)
        }
        var isInteger = true
        if peek() == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw JSONError("expected digits after '.', found \(found())", at: position) }
            isInteger = false
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            position += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw JSONError("expected exponent digits, found \(found())", at: position) }
            isInteger = false
        }
        return isInteger
    }

    /// After a backslash: appends the escaped character's UTF-8.
    private mutating func readEscape(into utf8: inout [UInt8]) throws(JSONError) {
        let start = position - 1
        guard let byte = peek() else { throw JSONError("string not closed", at: start) }
        position += 1
        let plain: UInt8? =
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): byte
            case UInt8(ascii: "b"): 0x08
            case UInt8(ascii: "f"): 0x0C
            case UInt8(ascii: "n"): 0x0A
            case UInt8(ascii: "r"): 0x0D
            case UInt8(ascii: "t"): 0x09
            default: nil
            }
        if let plain {
            utf8.append(plain)
            return
        }
        guard byte == UInt8(ascii: "u") else { throw JSONError("invalid escape '\\\(Character(Unicode.Scalar(byte)))'", at: start) }
        var value = try readHex4(start)
        if (0xD800..<0xDC00).contains(value) {
            // a high surrogate must be followed by an escaped low one
            guard text[position...].starts(with: [UInt8(ascii: "\\"), UInt8(ascii: "u")]) else {
                throw JSONError("lone surrogate \\u\(String(value, radix: 16))", at: start)
            }
            position += 2
            let low = try readHex4(start)
            guard (0xDC00..<0xE000).contains(low) else { throw JSONError("lone surrogate \\u\(String(value, radix: 16))", at: start) }
            value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(value) else { throw JSONError("lone surrogate \\u\(String(value, radix: 16))", at: start) }
        utf8.append(contentsOf: Array(String(scalar).utf8))
    }

    private mutating func readHex4(_ escapeStart: Int) throws(JSONError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek(), let digit = Character(Unicode.Scalar(byte)).hexDigitValue else {
                throw JSONError("expected 4 hex digits after \\u", at: escapeStart)
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    /// A short description of what is at the reader's position, for messages.
    private func found() -> String {
        guard let byte = peek() else { return "the end of the text" }
        switch byte {
        case UInt8(ascii: "\""): return "a string"
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "a list"
        default: break
        }
        let tokenBytes = text[position...].prefix(24).prefix { b in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: "+")
                || b == UInt8(ascii: ".")
        }
        if !tokenBytes.isEmpty { return String(decoding: tokenBytes, as: UTF8.self) }
        if (0x21..<0x7F).contains(byte) { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    /// `text` cut to 40 characters, for messages.
    static func shown(_ text: String) -> String { text.count > 40 ? text.prefix(40) + "…" : text }
}
