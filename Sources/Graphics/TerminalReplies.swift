/// Reads a terminal's answers to ``TerminalQueries`` from bytes as they arrive: pure, no I/O.
///
/// Replies may come split at any byte, in any order, with keys the user typed between them.
/// Sequences are recognised whole: APC `ESC _ … ESC \`, DCS `ESC P … ESC \`, OSC `ESC ] …`
/// (BEL or `ESC \`), PM and SOS, and CSI `ESC [ parameters final`. Those it knows are read;
/// other strings (APC, DCS, OSC, PM, SOS) and CSI replies (a `?`, `>` or `=` marker, or final
/// `c`, `t`, `n`, `y`) are skipped whole; everything else, typed text and key sequences such
/// as arrows (`ESC [ A`), is kept in ``leftover``, in order. Numbers that do not parse or
/// overflow are ignored, never trapped on, and memory is bounded (``limit``).
public struct TerminalReplies: Sendable {
    /// The most bytes kept in ``leftover``, and in one sequence being read (a longer one is
    /// skipped whole).
    public static let limit = 65_536

    /// The DA1 reply was seen (it closes the probe).
    public private(set) var complete = false
    /// Bytes that were not part of any reply (keys typed during the probe), in order; at most
    /// ``limit`` (later ones are dropped).
    public private(set) var leftover: [UInt8] = []

    /// The text after `i=31;` in kitty's reply (`OK`, or an error such as `EINVAL:…`).
    private var kittyAnswer: String?
    /// DA1's parameters as sent (`62;22`), and parsed (nil where a number did not parse).
    private var deviceAttributesText: String?
    private var deviceAttributes: [Int?] = []
    private var colorRegisters: Int?
    private var sixelMaxSize: PixelSize?
    /// `CSI 6 ; H ; W t`.
    private var reportedCellSize: PixelSize?
    /// `CSI 4 ; H ; W t`.
    private var textAreaSize: PixelSize?
    /// `OSC 1337 ; ReportCellSize=H;W;scale` in pixels.
    private var itermCellSize: PixelSize?
    /// Whether any reply (known or not) was read, for the reason.
    private var sawReply = false

    private enum StringKind: Sendable { case apc, dcs, osc, other }
    private enum State: Sendable {
        case ground
        /// After ESC.
        case escape
        /// In `ESC [ …`.
        case csi
        /// In a string sequence.
        case string(StringKind)
        /// After an ESC inside a string: `\` ends it, anything else aborts it.
        case stringEscape(StringKind)
    }

    private var state = State.ground
    /// The current sequence's bytes after its introducer (bounded by `limit`).
    private var body: [UInt8] = []
    /// The current sequence outgrew `limit`: read to its end, then skipped.
    private var overflowed = false

    /// Nothing read yet.
    public init() {}

    /// Reads `bytes`, continuing any sequence the previous call left open.
    public mutating func feed(_ bytes: some Sequence<UInt8>) {
        for byte in bytes { step(byte) }
    }

    // MARK: - The byte state machine

    private static let esc: UInt8 = 0x1B
    private static let bel: UInt8 = 0x07

    private mutating func step(_ byte: UInt8) {
        switch state {
        case .ground:
            if byte == Self.esc { state = .escape } else { keep([byte]) }
        case .escape:
            afterEscape(byte)
        case .csi:
            switch byte {
            case 0x40...0x7E:
                append(byte)
                finishCSI()
            case 0x20...0x3F:
                append(byte)
            case Self.esc:
                // An unfinished CSI: it was keys (ESC [ typed as Alt-[), not a reply.
                keepUnfinishedCSI()
                state = .escape
            default:
                keepUnfinishedCSI()
                keep([byte])
                state = .ground
            }
        case .string(let kind):
            if byte == Self.esc {
                state = .stringEscape(kind)
            } else if byte == Self.bel && kind == .osc {
                finishString(kind)
            } else {
                append(byte)
            }
        case .stringEscape(let kind):
            if byte == UInt8(ascii: "\\") {
                finishString(kind)
            } else {
                // ESC inside a string cancels it and starts a new sequence.
                sawReply = true
                afterEscape(byte)
            }
        }
    }

    private mutating func afterEscape(_ byte: UInt8) {
        body.removeAll(keepingCapacity: true)
        overflowed = false
        switch byte {
        case UInt8(ascii: "["): state = .csi
        case UInt8(ascii: "_"): state = .string(.apc)
        case UInt8(ascii: "P"): state = .string(.dcs)
        case UInt8(ascii: "]"): state = .string(.osc)
        case UInt8(ascii: "^"), UInt8(ascii: "X"): state = .string(.other)
        case Self.esc:
            keep([Self.esc])  // a lone Escape key, then a new sequence
            state = .escape
        default:
            keep([Self.esc, byte])  // Alt+key
            state = .ground
        }
    }

    private mutating func append(_ byte: UInt8) {
        if body.count < Self.limit { body.append(byte) } else { overflowed = true }
    }

    private mutating func keep(_ bytes: [UInt8]) {
        let room = Self.limit - leftover.count
        if room > 0 { leftover += bytes.prefix(room) }
    }

    private mutating func keepUnfinishedCSI() {
        if !overflowed { keep([Self.esc, UInt8(ascii: "[")] + body) }
    }

    // MARK: - Sequences

    private mutating func finishCSI() {
        state = .ground
        guard !overflowed, let final = body.last else { return }
        var parameters = body.dropLast()[...]
        var marker: UInt8?
        if let first = parameters.first, (0x3C...0x3F).contains(first) {  // < = > ?
            marker = first
            parameters = parameters.dropFirst()
        }
        let intermediates = parameters.contains { (0x20...0x2F).contains($0) }
        let text = String(decoding: parameters, as: UTF8.self)
        let numbers = Self.numbers(text)
        switch (marker, final, intermediates) {
        case (UInt8(ascii: "?"), UInt8(ascii: "c"), false):
            deviceAttributesText = text
            deviceAttributes = numbers
            complete = true
        case (UInt8(ascii: "?"), UInt8(ascii: "S"), false):
            readGraphicsAttributes(numbers)
        case (nil, UInt8(ascii: "t"), false):
            if numbers.count >= 3, let height = numbers[1], let width = numbers[2], width > 0, height > 0 {
                if numbers[0] == 6 { reportedCellSize = PixelSize(width: width, height: height) }
                if numbers[0] == 4 { textAreaSize = PixelSize(width: width, height: height) }
            }
        default:
            let isReply =
                marker == UInt8(ascii: "?") || marker == UInt8(ascii: ">") || marker == UInt8(ascii: "=")
                || [UInt8(ascii: "c"), UInt8(ascii: "t"), UInt8(ascii: "n"), UInt8(ascii: "y")].contains(final)
            if !isReply {
                keep([Self.esc, UInt8(ascii: "[")] + body)
                return
            }
        }
        sawReply = true
    }

    /// XTSMGRAPHICS `CSI ? Pi ; Ps ; Pv… S`: Ps 0 is success; Pi 1 colour registers, 2 geometry.
    private mutating func readGraphicsAttributes(_ numbers: [Int?]) {
        guard numbers.count >= 3, numbers[1] == 0 else { return }
        switch numbers[0] {
        case 1:
            if let registers = numbers[2], registers > 0 { colorRegisters = registers }
        case 2:
            if numbers.count >= 4, let width = numbers[2], let height = numbers[3], width > 0, height > 0 {
                sixelMaxSize = PixelSize(width: width, height: height)
            }
        default:
            break
        }
    }

    private mutating func finishString(_ kind: StringKind) {
        state = .ground
        sawReply = true
        guard !overflowed else { return }
        switch kind {
        case .apc: readKitty()
        case .osc: readITermCellSize()
        case .dcs, .other: break
        }
    }

    /// `G i=31;OK` (keys, `;`, message).
    private mutating func readKitty() {
        guard body.first == UInt8(ascii: "G") else { return }
        let content = body.dropFirst()
        guard let semicolon = content.firstIndex(of: UInt8(ascii: ";")) else { return }
        let keys = String(decoding: content[..<semicolon], as: UTF8.self).split(separator: ",")
        let message = content[semicolon...].dropFirst()
        guard keys.contains("i=31"), !message.isEmpty else { return }
        kittyAnswer = String(decoding: message.prefix(200), as: UTF8.self)
    }

    /// `1337;ReportCellSize=H;W[;scale]`: points, times the scale (1 when absent) for pixels.
    private mutating func readITermCellSize() {
        let text = String(decoding: body, as: UTF8.self)
        let prefix = "1337;ReportCellSize="
        guard text.hasPrefix(prefix) else { return }
        let values = text.dropFirst(prefix.count).split(separator: ";", omittingEmptySubsequences: false)
            .map { Double($0) }
        guard values.count >= 2, let height = values[0], let width = values[1] else { return }
        let scale = values.count >= 3 ? values[2] ?? 1 : 1
        let w = width * scale, h = height * scale
        guard w.isFinite, h.isFinite, w >= 1, h >= 1, w < 10_000, h < 10_000 else { return }
        itermCellSize = PixelSize(width: Int(w.rounded()), height: Int(h.rounded()))
    }

    /// `a;b;;c` → [a, b, nil, c]; a parameter that is not all digits, or exceeds 10⁹, is nil.
    static func numbers(_ text: String) -> [Int?] {
        text.split(separator: ";", omittingEmptySubsequences: false).map { parameter in
            guard !parameter.isEmpty else { return nil }
            var value = 0
            for scalar in parameter.utf8 {
                guard scalar >= 0x30, scalar <= 0x39 else { return nil }
                value = value * 10 + Int(scalar - 0x30)
                if value > 1_000_000_000 { return nil }
            }
            return value
        }
    }

    // MARK: - What the replies say

    /// What the replies read so far say, given the environment (for iTerm2), the window's size in
    /// pixels (TIOCGWINSZ, nil when the terminal leaves it 0) and in cells.
    public func support(
        environment: [String: String], windowPixels: PixelSize?, cells: (columns: Int, rows: Int)?
    ) -> GraphicsSupport {
        let itermEnvironment = GraphicsSupport.itermEnvironment(environment)
        var support = GraphicsSupport()
        support.kitty = kittyAnswer == "OK"
        support.sixel = deviceAttributes.dropFirst().contains(4)
        support.iterm = itermEnvironment.shows || itermCellSize != nil
        support.answered = deviceAttributesText != nil
        support.colorRegisters = colorRegisters
        support.sixelMaxSize = sixelMaxSize
        support.cellSize = cellSize(windowPixels: windowPixels, cells: cells)

        if support.kitty {
            support.best = .kitty
        } else if support.iterm && itermEnvironment.namesITerm2 {
            support.best = .iterm
        } else if support.sixel {
            support.best = .sixel
        } else if support.iterm {
            support.best = .iterm
        } else {
            support.best = .blocks
            support.reason = blocksReason
        }
        return support
    }

    private func cellSize(windowPixels: PixelSize?, cells: (columns: Int, rows: Int)?) -> PixelSize? {
        if let reportedCellSize { return reportedCellSize }
        func divided(_ pixels: PixelSize?) -> PixelSize? {
            guard let pixels, let cells, cells.columns > 0, cells.rows > 0 else { return nil }
            let size = PixelSize(width: pixels.width / cells.columns, height: pixels.height / cells.rows)
            return size.width > 0 && size.height > 0 ? size : nil
        }
        return divided(textAreaSize) ?? divided(windowPixels) ?? itermCellSize
    }

    private var blocksReason: String {
        var reason: String
        if let deviceAttributesText {
            reason = "no graphics protocol in the terminal's answer (DA1 \(deviceAttributesText))"
        } else if sawReply {
            reason = "the terminal's answer was cut short (no DA1 reply) and named no graphics protocol"
        } else {
            reason = "the terminal did not answer"
        }
        if let kittyAnswer { reason += "; kitty graphics answered \(kittyAnswer)" }
        return reason
    }
}
