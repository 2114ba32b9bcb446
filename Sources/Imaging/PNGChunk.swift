import CPNG

/// The PNG container's building blocks (PNG spec §5): signature, chunk framing and CRCs.
enum PNGChunk {
    /// The eight bytes every PNG starts with.
    static let signature: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]

    /// The largest chunk length the spec allows, 2³¹ − 1.
    static let maxLength = Int(Int32.max)

    /// Appends one chunk: length (big-endian), type, data, CRC-32 of type + data (zlib's `crc32`).
    static func append(type: String, data: [UInt8], to out: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        appendBigEndian(UInt32(data.count), to: &out)
        out.append(contentsOf: typeBytes)
        out.append(contentsOf: data)
        appendBigEndian(crc(type: typeBytes, data: data[...]), to: &out)
    }

    /// CRC-32 over a chunk's type and data.
    static func crc(type: [UInt8], data: ArraySlice<UInt8>) -> UInt32 {
        var value = type.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) }
        value = data.withUnsafeBufferPointer { crc32(value, $0.baseAddress, UInt32($0.count)) }
        return UInt32(truncatingIfNeeded: value)
    }

    /// Appends `value` most significant byte first.
    static func appendBigEndian(_ value: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: value >> 24))
        out.append(UInt8(truncatingIfNeeded: value >> 16))
        out.append(UInt8(truncatingIfNeeded: value >> 8))
        out.append(UInt8(truncatingIfNeeded: value))
    }

    /// Reads a big-endian `UInt32` from four bytes starting at `offset`.
    static func bigEndian(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (UInt32(bytes[offset]) << 24) | (UInt32(bytes[offset + 1]) << 16)
            | (UInt32(bytes[offset + 2]) << 8) | UInt32(bytes[offset + 3])
    }
}
