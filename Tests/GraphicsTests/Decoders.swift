import CPNG
import CSixel
import Imaging
import Preview

// Test-only readers for what the encoders write: they parse the escape sequences strictly and
// return nil (or record a problem) on anything unexpected, so a test fails rather than guesses.

/// One kitty graphics command: its keys in order and its (still base64) payload.
struct KittyCommand: Equatable {
    var keys: [(key: String, value: String)]
    var payload: [UInt8]

    /// The value of `key`, if present.
    subscript(_ key: String) -> String? { keys.first { $0.key == key }?.value }

    static func == (a: KittyCommand, b: KittyCommand) -> Bool {
        a.payload == b.payload && a.keys.map(\.key) == b.keys.map(\.key) && a.keys.map(\.value) == b.keys.map(\.value)
    }
}

enum Decoders {
    static let esc: UInt8 = 0x1B

    /// Splits `bytes` into `ESC _ G keys[;payload] ESC \` commands; nil if any byte falls outside one.
    static func kittyCommands(_ bytes: [UInt8]) -> [KittyCommand]? {
        var commands: [KittyCommand] = []
        var i = 0
        while i < bytes.count {
            guard i + 3 <= bytes.count, bytes[i] == esc, bytes[i + 1] == UInt8(ascii: "_"), bytes[i + 2] == UInt8(ascii: "G")
            else { return nil }
            var j = i + 3
            while j + 1 < bytes.count, !(bytes[j] == esc && bytes[j + 1] == UInt8(ascii: "\\")) { j += 1 }
            guard j + 1 < bytes.count else { return nil }
            let body = Array(bytes[(i + 3)..<j])
            let control: ArraySlice<UInt8>
            var payload: [UInt8] = []
            if let semicolon = body.firstIndex(of: UInt8(ascii: ";")) {
                control = body[..<semicolon]
                payload = Array(body[(semicolon + 1)...])
            } else {
                control = body[...]
            }
            var keys: [(key: String, value: String)] = []
            for pair in control.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
                let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty else { return nil }
                keys.append((String(decoding: parts[0], as: UTF8.self), String(decoding: parts[1], as: UTF8.self)))
            }
            commands.append(KittyCommand(keys: keys, payload: payload))
            i = j + 2
        }
        return commands
    }

    /// Standard base64 with padding; nil on a character outside the alphabet or a bad length.
    static func base64(_ text: [UInt8]) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt32? {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(c - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "+"): return 62
            case UInt8(ascii: "/"): return 63
            default: return nil
            }
        }
        var out: [UInt8] = []
        var i = 0
        while i < text.count {
            let last = i + 4 == text.count
            let pad = last ? (text[i + 3] == UInt8(ascii: "=") ? (text[i + 2] == UInt8(ascii: "=") ? 2 : 1) : 0) : 0
            var group: UInt32 = 0
            for k in 0..<4 {
                if k >= 4 - pad {
                    group <<= 6
                    continue
                }
                guard let v = value(text[i + k]) else { return nil }
                group = group << 6 | v
            }
            out.append(UInt8(group >> 16 & 0xFF))
            if pad < 2 { out.append(UInt8(group >> 8 & 0xFF)) }
            if pad < 1 { out.append(UInt8(group & 0xFF)) }
            i += 4
        }
        return out
    }

    /// zlib-inflates `stream`, expecting exactly `count` bytes out; nil otherwise.
    static func inflate(_ stream: [UInt8], count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count + 1)
        var size = uLong(out.count)
        let status = out.withUnsafeMutableBufferPointer { dst in
            stream.withUnsafeBufferPointer { uncompress(dst.baseAddress, &size, $0.baseAddress, uLong($0.count)) }
        }
        guard status == Z_OK, Int(size) == count else { return nil }
        return Array(out[..<count])
    }

    /// A sixel image decoded by libsixel: size and RGB pixels (palette looked up).
    struct Sixel {
        var width: Int
        var height: Int
        /// Palette entries libsixel reports.
        var colors: Int
        var rgb: [UInt8]
    }

    /// `bytes` through `sixel_decode_raw`: palette indices and an RGB palette (3 bytes a colour),
    /// both allocated by the allocator passed in and freed with it.
    static func sixel(_ bytes: [UInt8]) -> Sixel? {
        var allocator: OpaquePointer?
        guard sixel_allocator_new(&allocator, nil, nil, nil, nil) == SIXEL_OK, let allocator else { return nil }
        defer { sixel_allocator_unref(allocator) }
        var input = bytes
        var pixels: UnsafeMutablePointer<UInt8>?
        var palette: UnsafeMutablePointer<UInt8>?
        var width: Int32 = 0, height: Int32 = 0, colors: Int32 = 0
        let status = input.withUnsafeMutableBufferPointer {
            sixel_decode_raw($0.baseAddress, Int32($0.count), &pixels, &width, &height, &palette, &colors, allocator)
        }
        defer {
            sixel_allocator_free(allocator, pixels)
            sixel_allocator_free(allocator, palette)
        }
        guard status == SIXEL_OK, let pixels, let palette, width > 0, height > 0 else { return nil }
        let count = Int(width) * Int(height)
        var rgb = [UInt8](repeating: 0, count: count * 3)
        for i in 0..<count {
            let index = Int(pixels[i])
            guard index < Int(colors) else { return nil }
            rgb[3 * i] = palette[3 * index]
            rgb[3 * i + 1] = palette[3 * index + 1]
            rgb[3 * i + 2] = palette[3 * index + 2]
        }
        return Sixel(width: Int(width), height: Int(height), colors: Int(colors), rgb: rgb)
    }

    /// `ESC ] text BEL` → text; nil if the framing is not exactly that.
    static func osc(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count >= 3, bytes[0] == esc, bytes[1] == UInt8(ascii: "]"), bytes.last == 0x07 else { return nil }
        let body = Array(bytes[2..<(bytes.count - 1)])
        guard !body.contains(0x07), !body.contains(esc) else { return nil }
        return body
    }

    /// `ESC P tmux; inner ESC \` with every inner ESC doubled → inner; nil on a lone inner ESC.
    static func tmux(_ bytes: [UInt8]) -> [UInt8]? {
        let prefix: [UInt8] = [esc] + Array("Ptmux;".utf8)
        guard bytes.count >= prefix.count + 2, Array(bytes[..<prefix.count]) == prefix,
            bytes[bytes.count - 2] == esc, bytes[bytes.count - 1] == UInt8(ascii: "\\")
        else { return nil }
        let inner = bytes[prefix.count..<(bytes.count - 2)]
        var out: [UInt8] = []
        var i = inner.startIndex
        while i < inner.endIndex {
            if inner[i] == esc {
                guard i + 1 < inner.endIndex, inner[i + 1] == esc else { return nil }
                i += 1
            }
            out.append(inner[i])
            i += 1
        }
        return out
    }
}
