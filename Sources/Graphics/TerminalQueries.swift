/// The bytes that ask a terminal which pixel protocols it speaks. Every answer is read by
/// ``TerminalReplies``.
///
/// | query | asks | answer |
/// | --- | --- | --- |
/// | ``kitty`` | kitty graphics (a 1×1 RGB image, query only) | `ESC _ G i=31;OK ESC \` |
/// | ``colorRegisters`` | XTSMGRAPHICS `CSI ? 1 ; 1 ; 0 S` (read colour registers) | `CSI ? 1 ; 0 ; N S` |
/// | ``sixelGeometry`` | XTSMGRAPHICS `CSI ? 2 ; 1 ; 0 S` (read sixel geometry) | `CSI ? 2 ; 0 ; W ; H S` |
/// | ``cellSize`` | XTWINOPS `CSI 16 t` | `CSI 6 ; H ; W t` |
/// | ``textAreaSize`` | XTWINOPS `CSI 14 t` | `CSI 4 ; H ; W t` |
/// | ``itermCellSize`` | iTerm2 `OSC 1337 ; ReportCellSize` | `OSC 1337 ; ReportCellSize=H;W[;scale] ST` |
/// | ``primaryDeviceAttributes`` | DA1 `CSI c` | `CSI ? class ; attributes… c` (4: sixel) |
///
/// Terminals answer in the order they were asked, and every terminal answers DA1, so DA1 goes
/// last: its reply closes the probe.
public enum TerminalQueries {
    /// ESC, the byte that starts every query.
    static let escape: UInt8 = 0x1B

    /// kitty's graphics query: `ESC _ G i=31,s=1,v=1,a=q,t=d,f=24;AAAA ESC \` (a=q: check, do not
    /// store; a terminal without the protocol ignores the APC).
    public static let kitty: [UInt8] = Array("\u{1B}_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\u{1B}\\".utf8)
    /// XTSMGRAPHICS, read the number of colour registers: `CSI ? 1 ; 1 ; 0 S`.
    public static let colorRegisters: [UInt8] = Array("\u{1B}[?1;1;0S".utf8)
    /// XTSMGRAPHICS, read the sixel geometry (the largest image): `CSI ? 2 ; 1 ; 0 S`.
    public static let sixelGeometry: [UInt8] = Array("\u{1B}[?2;1;0S".utf8)
    /// XTWINOPS, report the cell size in pixels: `CSI 16 t`.
    public static let cellSize: [UInt8] = Array("\u{1B}[16t".utf8)
    /// XTWINOPS, report the text area in pixels: `CSI 14 t`.
    public static let textAreaSize: [UInt8] = Array("\u{1B}[14t".utf8)
    /// iTerm2's cell size query, `OSC 1337 ; ReportCellSize ST` (ST rather than BEL, so that a
    /// terminal that does not parse OSC shows nothing and does not beep).
    public static let itermCellSize: [UInt8] = Array("\u{1B}]1337;ReportCellSize\u{1B}\\".utf8)
    /// Primary device attributes, DA1: `CSI c`.
    public static let primaryDeviceAttributes: [UInt8] = Array("\u{1B}[c".utf8)

    /// The probe's bytes: kitty, XTSMGRAPHICS colour registers and geometry, `CSI 16 t`,
    /// `CSI 14 t`, iTerm2's ReportCellSize, then DA1 last.
    ///
    /// With `passthrough` (inside tmux with `allow-passthrough`, ``TmuxGraphics``) every query is
    /// wrapped for tmux (``tmuxWrapped(_:)``), DA1 included, and `CSI 14 t` is left out:
    /// - tmux answers a bare DA1 itself, at once, before the outer terminal's replies to the
    ///   passed-through queries have come back (tmux issue #4302), so a bare DA1 would close the
    ///   probe too early and describe tmux, not the terminal that draws the pixels. A passed-through
    ///   DA1 is answered by the outer terminal after its other replies, in order. tmux may keep
    ///   that reply to itself (its own DA parser takes it until it has its own answer), so under
    ///   passthrough the probe can end at its timeout, with what did come back.
    /// - `CSI 14 t` would give the outer window's size, not the pane's, so dividing it by the
    ///   pane's cells would be wrong; `CSI 16 t` (one cell) holds for the pane too.
    ///
    /// `kitty: false` leaves the kitty query out: inside tmux without passthrough, tmux takes a
    /// bare APC as the pane's title (input.c, `input_exit_apc`), so "Gi=31,s=1,…" would show in
    /// the status line; the other queries tmux answers itself or ignores.
    public static func all(passthrough: Bool, kitty: Bool = true) -> [UInt8] {
        let first = kitty ? [Self.kitty] : []
        if passthrough {
            let queries = first + [colorRegisters, sixelGeometry, cellSize, itermCellSize, primaryDeviceAttributes]
            return queries.flatMap(tmuxWrapped)
        }
        return (first + [colorRegisters, sixelGeometry, cellSize, textAreaSize, itermCellSize, primaryDeviceAttributes])
            .flatMap { $0 }
    }

    /// `sequence` wrapped for tmux's passthrough: `ESC P tmux; <sequence, every ESC doubled> ESC \`.
    public static func tmuxWrapped(_ sequence: [UInt8]) -> [UInt8] {
        var out = Array("\u{1B}Ptmux;".utf8)
        out.reserveCapacity(out.count + sequence.count * 2 + 2)
        for byte in sequence {
            if byte == escape { out.append(escape) }
            out.append(byte)
        }
        out += [escape, UInt8(ascii: "\\")]
        return out
    }
}
