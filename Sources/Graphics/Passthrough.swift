/// Wrapping for terminal multiplexers that would otherwise swallow graphics sequences.
public enum Passthrough {
    /// tmux's DCS passthrough: `ESC P tmux; <bytes, every ESC doubled> ESC \`. tmux (≥ 3.3, with
    /// `allow-passthrough on`) strips the wrapper, halves the ESCs and hands `bytes` to the
    /// outer terminal.
    public static func tmux(_ bytes: [UInt8]) -> [UInt8] {
        let esc: UInt8 = 0x1B
        let prefix = Array("\u{1B}Ptmux;".utf8)
        var escapes = 0
        for byte in bytes where byte == esc { escapes += 1 }
        // prefix + every byte + one more per ESC + ESC \
        let count = prefix.count + bytes.count + escapes + 2
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { dst in
            bytes.withUnsafeBufferPointer { src in
                for i in 0..<prefix.count { dst[i] = prefix[i] }
                var o = prefix.count
                for byte in src {
                    if byte == esc {
                        dst[o] = esc
                        o += 1
                    }
                    dst[o] = byte
                    o += 1
                }
                dst[o] = esc
                dst[o + 1] = UInt8(ascii: "\\")
            }
        }
        return out
    }
}
