/// Standard base64 (RFC 4648 §4: `A–Z a–z 0–9 + /`, `=` padding), the payload encoding of the
/// kitty and iTerm2 protocols, written straight into the escape sequence being built.
enum Base64 {
    /// The 64 digits, indexed by a 6-bit group.
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Characters needed for `count` bytes: 4 per started group of 3.
    static func encodedCount(_ count: Int) -> Int {
        (max(count, 0) + 2) / 3 * 4
    }

    /// `bytes` as base64 text.
    static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(encodedCount(bytes.count))
        bytes.withUnsafeBufferPointer { append($0, to: &out) }
        return out
    }

    /// Appends the base64 text of `bytes` to `out` (padded, so a slice whose length is a multiple
    /// of 3 gives the same characters as that part of the whole buffer's encoding).
    static func append(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        let count = bytes.count
        let start = out.count
        let encoded = encodedCount(count)
        guard encoded > 0, let src = bytes.baseAddress else { return }
        out.append(contentsOf: repeatElement(0, count: encoded))
        alphabet.withUnsafeBufferPointer { digits in
            out.withUnsafeMutableBufferPointer { dst in
                var o = start
                var i = 0
                // Three bytes b0 b1 b2 → four 6-bit groups of b0<<16 | b1<<8 | b2.
                while i + 3 <= count {
                    let group = UInt32(src[i]) << 16 | UInt32(src[i + 1]) << 8 | UInt32(src[i + 2])
                    dst[o] = digits[Int(group >> 18)]
                    dst[o + 1] = digits[Int(group >> 12 & 63)]
                    dst[o + 2] = digits[Int(group >> 6 & 63)]
                    dst[o + 3] = digits[Int(group & 63)]
                    i += 3
                    o += 4
                }
                // One or two bytes left: pad the group with zero bits, the missing digits with '='.
                let left = count - i
                if left > 0 {
                    let b1 = left == 2 ? UInt32(src[i + 1]) : 0
                    let group = UInt32(src[i]) << 16 | b1 << 8
                    dst[o] = digits[Int(group >> 18)]
                    dst[o + 1] = digits[Int(group >> 12 & 63)]
                    dst[o + 2] = left == 2 ? digits[Int(group >> 6 & 63)] : UInt8(ascii: "=")
                    dst[o + 3] = UInt8(ascii: "=")
                }
            }
        }
    }
}
