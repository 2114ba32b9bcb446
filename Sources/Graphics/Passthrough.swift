/// Wrapping for terminal multiplexers that would otherwise swallow graphics sequences.
public enum Passthrough {
    /// tmux's DCS passthrough: `ESC P tmux; <bytes, every ESC doubled> ESC \`. tmux (≥ 3.3, with
    /// `allow-passthrough on`) strips the wrapper, halves the ESCs and hands `bytes` to the
    /// outer terminal.
    public static func tmux(_ bytes: [UInt8]) -> [UInt8] {
        let prefix: [UInt8] = [0x1B] + Array("Ptmux;".utf8)
        var escapes = 0
        for byte in bytes where byte == 0x1B { escapes += 1 }
        var out: [UInt8] = []
        out.reserveCapacity(prefix.count + bytes.count + escapes + 2)
        out += prefix
        for byte in bytes {
            if byte == 0x1B { out.append(0x1B) }
            out.append(byte)
        }
        out += [0x1B, UInt8(ascii: "\\")]
        return out
    }
}
