/// One PNG text entry: a keyword and its text, as stored in a tEXt (Latin-1) or iTXt (UTF-8) chunk.
///
/// ddim stores its sampling parameters this way, e.g. `PNGText("Parameters", "steps=50 eta=0 seed=42")`.
public struct PNGText: Sendable, Hashable {
    /// The keyword: 1–79 printable Latin-1 characters (PNG spec §11.3.4), e.g. "Software".
    public var key: String
    /// The text: any characters but NUL. Latin-1 text is written as tEXt, anything else as iTXt.
    public var value: String

    /// An entry with keyword `key` and text `value`.
    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }

    /// The keyword's Latin-1 bytes, after the spec's checks.
    func keywordBytes() throws(ImagingError) -> [UInt8] {
        guard !key.isEmpty, key.unicodeScalars.count <= 79 else {
            throw .invalidText(key: key, reason: "a keyword has 1 to 79 characters")
        }
        var bytes: [UInt8] = []
        for scalar in key.unicodeScalars {
            let v = scalar.value
            guard (32...126).contains(v) || (161...255).contains(v) else {
                throw .invalidText(key: key, reason: "keywords hold printable Latin-1 characters only")
            }
            bytes.append(UInt8(v))
        }
        guard bytes.first != 32, bytes.last != 32 else {
            throw .invalidText(key: key, reason: "a keyword neither starts nor ends with a space")
        }
        return bytes
    }

    /// The chunk type and data for this entry: tEXt when the value is Latin-1, else iTXt.
    func chunk() throws(ImagingError) -> (type: String, data: [UInt8]) {
        var data = try keywordBytes()
        data.append(0)
        guard !value.unicodeScalars.contains("\0") else {
            throw .invalidText(key: key, reason: "the text contains a NUL character")
        }
        if value.unicodeScalars.allSatisfy({ $0.value <= 0xFF }) {
            data.append(contentsOf: value.unicodeScalars.map { UInt8($0.value) })
            return ("tEXt", data)
        }
        // iTXt: compression flag 0, method 0, empty language tag, empty translated keyword, UTF-8.
        data.append(contentsOf: [0, 0, 0, 0])
        data.append(contentsOf: Array(value.utf8))
        return ("iTXt", data)
    }

    /// Parses a tEXt or uncompressed iTXt chunk's data; nil for a compressed or malformed one.
    static func parse(type: String, data: [UInt8]) -> PNGText? {
        guard let nul = data.firstIndex(of: 0), nul > 0 else { return nil }
        let key = latin1(data[..<nul])
        let rest = data[(nul + 1)...]
        switch type {
        case "tEXt":
            return PNGText(key, latin1(rest))
        case "iTXt":
            // compression flag, method, language tag \0, translated keyword \0, text.
            guard rest.count >= 2, rest[rest.startIndex] == 0 else { return nil }
            var tail = rest.dropFirst(2)
            guard let languageEnd = tail.firstIndex(of: 0) else { return nil }
            tail = tail[(languageEnd + 1)...]
            guard let translatedEnd = tail.firstIndex(of: 0) else { return nil }
            return PNGText(key, String(decoding: Array(tail[(translatedEnd + 1)...]), as: UTF8.self))
        default:
            return nil
        }
    }
}

/// Latin-1 bytes as a string: each byte is the Unicode scalar of the same value.
private func latin1(_ bytes: ArraySlice<UInt8>) -> String {
    var scalars = String.UnicodeScalarView()
    scalars.append(contentsOf: bytes.map { Unicode.Scalar($0) })
    return String(scalars)
}
