import Foundation
import Graphics
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Bytes of `text`, with `⎋` standing for ESC.
private func bytes(_ text: String) -> [UInt8] {
    Array(text.replacingOccurrences(of: "⎋", with: "\u{1B}").utf8)
}

// Reply transcripts, real: each terminal under Xvfb on Debian 12 answering
// TerminalQueries.all(passthrough: false). kitty 0.26.5 (`--config NONE -o font_size=11`, a
// 900×600 window; it ignores XTSMGRAPHICS and OSC 1337). xterm 379 with
// `-ti vt340 -xrm 'XTerm*numColorRegisters: 256' -xrm 'XTerm*allowWindowOps: true'` (xterm answers
// CSI t only with allowWindowOps), and plain `xterm` (XTSMGRAPHICS fails with Ps 3, no sixel).
private let kittyReplies = bytes("⎋_Gi=31;OK⎋\\⎋[6;18;9t⎋[4;594;900t⎋[?62;c")
private let vt340Replies = bytes("⎋[?1;0;256S⎋[?2;0;900;760S⎋[6;19;9t⎋[4;760;900t⎋[?63;1;2;4;6;9;15;16;22;28c")
private let xtermReplies = bytes("⎋[?1;3S⎋[?2;3S⎋[?64;1;2;6;9;15;16;17;18;21;22;28c")
private let plainReplies = bytes("⎋[?62;22c")
private let wezTermReplies = bytes("⎋[?65;4;6;18;22c")
private let noEnvironment: [String: String] = [:]

private func read(_ replies: [UInt8], splitEveryByte: Bool = false) -> TerminalReplies {
    var parser = TerminalReplies()
    if splitEveryByte {
        for byte in replies { parser.feed([byte]) }
    } else {
        parser.feed(replies)
    }
    return parser
}

@Suite struct ReplyParserTests {
    @Test func kittyAnswersOKThenDA1() {
        let parser = read(kittyReplies)
        let support = parser.support(environment: noEnvironment, windowPixels: nil, cells: (80, 24))
        #expect(parser.complete)
        #expect(support.kitty && !support.sixel && support.answered)
        #expect(support.best == .kitty)
        #expect(support.reason == nil)
        #expect(support.cellSize == PixelSize(width: 9, height: 18))  // CSI 6 wins over CSI 4 ÷ cells
        #expect(parser.leftover.isEmpty)
    }

    @Test func xtermVT340ListsSixelAndItsGeometry() {
        let support = read(vt340Replies).support(environment: noEnvironment, windowPixels: nil, cells: (80, 24))
        #expect(support.sixel && !support.kitty && !support.iterm)
        #expect(support.best == .sixel)
        #expect(support.colorRegisters == 256)
        #expect(support.sixelMaxSize == PixelSize(width: 900, height: 760))
        #expect(support.cellSize == PixelSize(width: 9, height: 19))
    }

    @Test func plainXtermHasNoPixels() {
        let support = read(xtermReplies).support(environment: noEnvironment, windowPixels: nil, cells: nil)
        #expect(support.answered && !support.sixel && !support.kitty && support.colorRegisters == nil)
        #expect(support.best == .blocks)
        #expect(support.reason == "no graphics protocol in the terminal's answer (DA1 64;1;2;6;9;15;16;17;18;21;22;28)")
    }

    @Test func plainTerminalGivesBlocksWithItsDA1() {
        let support = read(plainReplies).support(environment: noEnvironment, windowPixels: nil, cells: nil)
        #expect(support.answered && !support.sixel && !support.kitty)
        #expect(support.best == .blocks)
        #expect(support.reason == "no graphics protocol in the terminal's answer (DA1 62;22)")
        // The class is no attribute: a VT132's "4;6" is not sixel.
        #expect(!read(bytes("⎋[?4;6c")).support(environment: noEnvironment, windowPixels: nil, cells: nil).sixel)
    }

    @Test func silenceAndHalfAnswersSayWhy() {
        let none = TerminalReplies().support(environment: noEnvironment, windowPixels: nil, cells: nil)
        #expect(none.best == .blocks && !none.answered)
        #expect(none.reason == "the terminal did not answer")
        let half = read(bytes("⎋[?1;0;256S")).support(environment: noEnvironment, windowPixels: nil, cells: nil)
        #expect(half.best == .blocks && !half.answered)
        #expect(half.reason?.contains("no DA1 reply") == true)
        let refused = read(bytes("⎋_Gi=31;EINVAL:unsupported⎋\\⎋[?62;c"))
            .support(environment: noEnvironment, windowPixels: nil, cells: nil)
        #expect(!refused.kitty && refused.best == .blocks)
        #expect(refused.reason?.contains("EINVAL:unsupported") == true)
    }

    @Test func itermByEnvironmentAndOrder() {
        let wezTerm = read(wezTermReplies).support(environment: ["TERM_PROGRAM": "WezTerm"], windowPixels: nil, cells: nil)
        #expect(wezTerm.iterm && wezTerm.sixel)
        #expect(wezTerm.best == .sixel)  // iTerm2 images win only where the environment names iTerm2
        let wezTermNoSixel = read(plainReplies).support(environment: ["TERM_PROGRAM": "WezTerm"], windowPixels: nil, cells: nil)
        #expect(wezTermNoSixel.best == .iterm && wezTermNoSixel.reason == nil)
        let iTerm2 = read(wezTermReplies).support(environment: ["LC_TERMINAL": "iTerm2"], windowPixels: nil, cells: nil)
        #expect(iTerm2.best == .iterm)
        let iTermApp = read(plainReplies).support(environment: ["TERM_PROGRAM": "iTerm.app"], windowPixels: nil, cells: nil)
        #expect(iTermApp.best == .iterm)
        let kittyWins = read(kittyReplies).support(environment: ["TERM_PROGRAM": "iTerm.app"], windowPixels: nil, cells: nil)
        #expect(kittyWins.best == .kitty)
        let other = read(plainReplies).support(environment: ["TERM_PROGRAM": "Apple_Terminal"], windowPixels: nil, cells: nil)
        #expect(!other.iterm && other.best == .blocks)
    }

    @Test func reportCellSizeMeansITermAndGivesPixels() {
        let support = read(bytes("⎋]1337;ReportCellSize=17.0;8.0;2.0⎋\\⎋[?62;c"))
            .support(environment: noEnvironment, windowPixels: nil, cells: (80, 24))
        #expect(support.iterm && support.best == .iterm)
        #expect(support.cellSize == PixelSize(width: 16, height: 34))
    }

    @Test(arguments: [kittyReplies, vt340Replies, xtermReplies, plainReplies, wezTermReplies])
    func splitAtEveryByteReadsAsWhole(_ replies: [UInt8]) {
        let environment = ["TERM_PROGRAM": "WezTerm"]
        let whole = read(replies), split = read(replies, splitEveryByte: true)
        #expect(
            whole.support(environment: environment, windowPixels: nil, cells: (80, 24))
                == split.support(environment: environment, windowPixels: nil, cells: (80, 24)))
        #expect(whole.complete && split.complete)
        #expect(whole.leftover == split.leftover)
    }

    @Test func repliesInAnyOrder() {
        let reordered = bytes("⎋[?2;0;1000;1000S⎋[6;20;10t⎋[?1;0;256S")
        let support = read(reordered + bytes("⎋[?63;4c"))
            .support(environment: noEnvironment, windowPixels: nil, cells: nil)
        #expect(support.colorRegisters == 256 && support.sixelMaxSize == PixelSize(width: 1000, height: 1000))
        #expect(support.cellSize == PixelSize(width: 10, height: 20) && support.best == .sixel)
    }

    @Test func keysAndGarbageBetweenRepliesAreKept() {
        // Typed text, an arrow, a function key, Alt-x, a lone Escape; unknown replies (OSC 11,
        // XTVERSION's DCS, DA2) skipped whole.
        let stream =
            bytes("ab⎋[A⎋_Gi=31;OK⎋\\x⎋]11;rgb:0000/0000/0000⎋\\⎋P>|xterm(379)⎋\\⎋[>1;4000;35c")
            + bytes("⎋[2;5~q⎋x⎋⎋[B⎋[6;20;10t⎋[?62;c")
        let parser = read(stream)
        #expect(parser.leftover == bytes("ab⎋[Ax⎋[2;5~q⎋x⎋⎋[B"))
        #expect(read(stream, splitEveryByte: true).leftover == parser.leftover)
        #expect(parser.complete)
        let support = parser.support(environment: noEnvironment, windowPixels: nil, cells: nil)
        #expect(support.best == .kitty && support.cellSize == PixelSize(width: 10, height: 20))
    }

    /// Inside tmux 3.3a (allow-passthrough on) in that xterm: with DA1 passed through, every
    /// answer comes back from xterm, DA1 last; with a bare DA1, tmux's own "?1;2c" comes first.
    @Test func passthroughNeedsDA1PassedThroughToo() {
        let wrapped = read(bytes("⎋[?1;0;256S⎋[?2;0;900;760S⎋[6;19;9t⎋[?63;1;2;4;6;9;15;16;22;28c"))
        #expect(wrapped.support(environment: noEnvironment, windowPixels: nil, cells: nil).best == .sixel)
        var bare = TerminalReplies()
        bare.feed(bytes("⎋[?1;2c"))
        #expect(bare.complete)  // the probe would stop here, before xterm's answers
        #expect(bare.support(environment: noEnvironment, windowPixels: nil, cells: nil).best == .blocks)
    }

    @Test func cellSizeFromEachSource() {
        func size(_ replies: String, window: PixelSize?, cells: (columns: Int, rows: Int)?) -> PixelSize? {
            read(bytes(replies)).support(environment: noEnvironment, windowPixels: window, cells: cells).cellSize
        }
        let window = PixelSize(width: 1600, height: 960)
        #expect(size("⎋[6;18;9t⎋[4;480;800t⎋[?62;c", window: window, cells: (80, 24)) == PixelSize(width: 9, height: 18))
        #expect(size("⎋[4;480;800t⎋[?62;c", window: window, cells: (80, 24)) == PixelSize(width: 10, height: 20))
        #expect(size("⎋[?62;c", window: window, cells: (80, 24)) == PixelSize(width: 20, height: 40))
        #expect(size("⎋[?62;c", window: nil, cells: (80, 24)) == nil)
        #expect(size("⎋[4;480;800t⎋[?62;c", window: nil, cells: nil) == nil)
        #expect(size("⎋[4;10;10t⎋[?62;c", window: nil, cells: (80, 24)) == nil)  // under a pixel a cell
    }

    @Test func malformedNumbersAreIgnored() {
        let stream = bytes(
            "⎋[6;;t⎋[6;-3;9t⎋[6;3:4;9t⎋[4;99999999999999999999999;1t⎋[?1;0;S⎋[?2;0;12S⎋[?2;1;800;600S"
                + "⎋]1337;ReportCellSize=nan;inf⎋\\⎋_G;OK⎋\\⎋_Gi=31⎋\\⎋[?99999999999999999999999999;;4;c")
        let parser = read(stream)
        let support = parser.support(environment: noEnvironment, windowPixels: nil, cells: (80, 24))
        #expect(parser.complete && support.answered)
        #expect(support.sixel)
        #expect(!support.kitty && !support.iterm)
        #expect(support.cellSize == nil && support.colorRegisters == nil && support.sixelMaxSize == nil)
        #expect(parser.leftover.isEmpty)
    }

    @Test func memoryIsBounded() {
        var parser = TerminalReplies()
        parser.feed(bytes("⎋_G") + [UInt8](repeating: UInt8(ascii: "A"), count: 200_000) + bytes("⎋\\"))
        parser.feed([UInt8](repeating: UInt8(ascii: "k"), count: 200_000))
        parser.feed(plainReplies)
        #expect(parser.complete)
        #expect(parser.leftover.count == TerminalReplies.limit)
        #expect(parser.support(environment: noEnvironment, windowPixels: nil, cells: nil).reason?.contains("62;22") == true)
    }
}

@Suite struct QueryTests {
    @Test func queriesEndWithDA1() {
        let all = TerminalQueries.all(passthrough: false)
        #expect(all.starts(with: bytes("⎋_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA⎋\\")))
        #expect(all.suffix(3) == bytes("⎋[c")[...])
        for query in ["⎋[?1;1;0S", "⎋[?2;1;0S", "⎋[16t", "⎋[14t"] {
            #expect(all.firstRange(of: bytes(query)) != nil, "missing \(query)")
        }
    }

    @Test func passthroughWrapsEveryQueryWithEscapesDoubled() {
        let wrapped = TerminalQueries.all(passthrough: true)
        #expect(wrapped.starts(with: bytes("⎋Ptmux;⎋⎋_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA⎋⎋\\⎋\\")))
        let wrappedDA1 = bytes("⎋Ptmux;⎋⎋[c⎋\\")
        #expect(wrapped.suffix(wrappedDA1.count) == wrappedDA1[...])  // DA1 passed through too
        #expect(wrapped.firstRange(of: bytes("⎋[14t")) == nil)
        #expect(wrapped.firstRange(of: bytes("⎋⎋[16t")) != nil)
        #expect(TerminalQueries.tmuxWrapped(bytes("⎋[c")) == bytes("⎋Ptmux;⎋⎋[c⎋\\"))
    }
}

@Suite(.serialized) struct ProbeTests {
    let timeout = Duration.milliseconds(300)

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    @Test func kittyLikeTerminal() throws {
        let terminal = try ScriptedTerminal(columns: 100, rows: 40, pixels: (1000, 800))
        defer { terminal.close() }
        let queries = TerminalQueries.all(passthrough: false)
        terminal.play(expecting: queries.count, answers: [Array(kittyReplies.prefix(9)), Array(kittyReplies.dropFirst(9))])
        let before = terminal.slaveAttributes()
        let start = ContinuousClock.now
        let support = TerminalProbe.probe(input: terminal.slave, output: terminal.slave, environment: [:], timeout: .seconds(2))
        let elapsed = ContinuousClock.now - start
        let transcript = terminal.transcript()
        #expect(transcript.received == queries)
        #expect(transcript.echo == false)  // raw while the terminal was asked
        #expect(terminal.slaveAttributes() == before)
        #expect(support.best == .kitty && support.answered)
        #expect(support.cellSize == PixelSize(width: 9, height: 18))  // its answer, not the window's 10×20
        #expect(seconds(elapsed) < 1)  // ended on DA1, not the 2 s timeout
    }

    @Test func sixelLikeTerminalWithWindowPixels() throws {
        let terminal = try ScriptedTerminal(columns: 100, rows: 40, pixels: (1000, 800))
        defer { terminal.close() }
        let replies = bytes("⎋[?1;0;256S⎋[?2;0;1000;1000Sq⎋[?63;1;2;4;6;9;15;22c")
        terminal.play(expecting: TerminalQueries.all(passthrough: false).count, answers: replies.map { [$0] }, pause: .zero)
        let result = TerminalProbe.probeKeepingInput(input: terminal.slave, output: terminal.slave, environment: [:], timeout: .seconds(2))
        #expect(result.support.best == .sixel && result.support.colorRegisters == 256)
        #expect(result.support.cellSize == PixelSize(width: 10, height: 20))  // 1000×800 ÷ 100×40
        #expect(result.leftover == bytes("q"))
        let window = TerminalProbe.windowSize(terminal.slave)
        #expect(window?.cells.columns == 100 && window?.cells.rows == 40)
        #expect(window?.pixels == PixelSize(width: 1000, height: 800))
    }

    @Test func silentTerminalTimesOut() throws {
        let terminal = try ScriptedTerminal()
        defer { terminal.close() }
        terminal.play(expecting: TerminalQueries.all(passthrough: false).count, answers: [])
        let before = terminal.slaveAttributes()
        let start = ContinuousClock.now
        let support = TerminalProbe.probe(input: terminal.slave, output: terminal.slave, environment: [:], timeout: timeout)
        let elapsed = seconds(ContinuousClock.now - start)
        #expect(support.best == .blocks && !support.answered)
        #expect(support.reason == "the terminal did not answer")
        #expect(elapsed >= seconds(timeout) && elapsed < 1, "took \(elapsed) s")
        #expect(terminal.slaveAttributes() == before)
        #expect(TerminalProbe.windowSize(terminal.slave)?.pixels == nil)  // 0×0 pixels: not set
    }

    @Test func halfAnswerThenStall() throws {
        let terminal = try ScriptedTerminal()
        defer { terminal.close() }
        terminal.play(expecting: TerminalQueries.all(passthrough: false).count, answers: [bytes("⎋_Gi=31;OK⎋\\⎋[?1;0")])
        let before = terminal.slaveAttributes()
        let start = ContinuousClock.now
        let support = TerminalProbe.probe(input: terminal.slave, output: terminal.slave, environment: [:], timeout: timeout)
        let elapsed = seconds(ContinuousClock.now - start)
        #expect(support.kitty && support.best == .kitty && !support.answered)
        #expect(elapsed >= seconds(timeout) && elapsed < 1, "took \(elapsed) s")
        #expect(terminal.slaveAttributes() == before)
    }

    @Test func insideTmuxWithoutPassthroughTheKittyQueryIsLeftOut() throws {
        let terminal = try ScriptedTerminal()
        defer { terminal.close() }
        // tmux 3.4 built with sixel answers these itself
        let expected = TerminalQueries.all(passthrough: false, kitty: false)
        terminal.play(expecting: expected.count, answers: [bytes("⎋[?2;0;2048;2048S⎋[?1;2;4c")])
        let support = TerminalProbe.probe(
            input: terminal.slave, output: terminal.slave, environment: ["TMUX": "/tmp/tmux-0/default,1,0"],
            timeout: .seconds(2))
        let received = terminal.transcript().received
        #expect(received == expected)
        #expect(received.firstRange(of: bytes("⎋_G")) == nil)
        #expect(support.best == .sixel && support.sixelMaxSize == PixelSize(width: 2048, height: 2048))
    }

    @Test func insideTmuxWithPassthroughEverythingIsWrapped() throws {
        let terminal = try ScriptedTerminal()
        defer { terminal.close() }
        let expected = TerminalQueries.all(passthrough: true)
        terminal.play(expecting: expected.count, answers: [kittyReplies])
        let support = TerminalProbe.probe(
            input: terminal.slave, output: terminal.slave, environment: ["TMUX": "/tmp/tmux-0/default,1,0"],
            timeout: .seconds(2), passthrough: true)
        #expect(terminal.transcript().received == expected)
        #expect(support.best == .kitty)
    }

    @Test func endOfFileEndsTheProbe() {
        var input: [Int32] = [-1, -1], output: [Int32] = [-1, -1]
        #expect(pipe(&input) == 0 && pipe(&output) == 0)
        defer { [input[0], output[0], output[1]].forEach { _ = close($0) } }
        close(input[1])  // nobody will ever answer
        let start = ContinuousClock.now
        let support = TerminalProbe.probe(input: input[0], output: output[1], environment: [:], timeout: .seconds(5))
        #expect(seconds(ContinuousClock.now - start) < 1)
        #expect(support.best == .blocks && support.reason == "the terminal did not answer (end of input)")
        var written = [UInt8](repeating: 0, count: 4096)
        let n = written.withUnsafeMutableBytes { read(output[0], $0.baseAddress, $0.count) }
        #expect(n > 0 && Array(written[0..<max(n, 0)]) == TerminalQueries.all(passthrough: false))
    }
}

/// The probe in a real terminal, by hand: inside the terminal (xterm, kitty, tmux), run
/// `DDIM_PROBE_REPORT=/tmp/report .build/release/ddimPackageTests.xctest --testing-library
/// swift-testing --filter probeThisTerminal`; it writes what it found there. Not under `swift test`:
/// that runs the tests outside the terminal's foreground process group, so reading it gives EIO.
@Test(.enabled(if: ProcessInfo.processInfo.environment["DDIM_PROBE_REPORT"] != nil))
func probeThisTerminal() throws {
    let environment = ProcessInfo.processInfo.environment
    let tty = open("/dev/tty", O_RDWR | O_NOCTTY)
    try #require(tty >= 0)
    defer { close(tty) }
    let tmux = TmuxGraphics.passthrough(environment: environment)
    let start = ContinuousClock.now
    let result = TerminalProbe.probeKeepingInput(
        input: tty, output: tty, environment: environment, passthrough: tmux == .allowed)
    let report = "\(result.support)\ntmux: \(tmux)\nleftover: \(result.leftover)\ntook: \(ContinuousClock.now - start)\n"
    try report.write(toFile: environment["DDIM_PROBE_REPORT"] ?? "", atomically: true, encoding: .utf8)
}

@Suite(.serialized) struct TmuxPassthroughTests {
    @Test func outsideTmux() {
        #expect(TmuxGraphics.passthrough(environment: [:]) == .notTmux)
        #expect(TmuxGraphics.passthrough(environment: ["TMUX": ""]) == .notTmux)
    }

    @Test func offThenOnThenThePanesOwn() throws {
        let tmux = try PrivateTmux()
        defer { tmux.close() }
        #expect(tmux.run(["set-option", "-g", "allow-passthrough", "off"]) == 0)
        guard case .refused(let reason) = TmuxGraphics.passthrough(environment: tmux.environment) else {
            Issue.record("passthrough off was not refused")
            return
        }
        #expect(reason.contains("tmux set -g allow-passthrough on"))
        #expect(tmux.run(["set-option", "-g", "allow-passthrough", "on"]) == 0)
        #expect(TmuxGraphics.passthrough(environment: tmux.environment) == .allowed)
        // The pane's own value wins: off in the pane, on globally.
        #expect(tmux.run(["set-option", "-p", "-t", "%0", "allow-passthrough", "off"]) == 0)
        var pane = tmux.environment
        pane["TMUX_PANE"] = "%0"
        #expect(TmuxGraphics.passthrough(environment: pane) != .allowed)
        #expect(TmuxGraphics.passthrough(environment: tmux.environment) == .allowed)
    }

    @Test func deadSocketIsRefusedQuickly() {
        let start = ContinuousClock.now
        let answer = TmuxGraphics.passthrough(environment: ["TMUX": "/tmp/ddim-gfx-no-such-socket-\(getpid()),1,0"])
        #expect(ContinuousClock.now - start < .seconds(3))
        guard case .refused(let reason) = answer else {
            Issue.record("a dead socket gave \(answer)")
            return
        }
        #expect(reason.contains("no-such-socket"))
    }
}
