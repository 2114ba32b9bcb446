import Foundation
import Testing
import TUI

/// Lines laid out in whole fields, ASCII chrome, the palette given back: pure, no terminal.
@Suite("Whole fields, ASCII chrome")
struct FieldLineTests {
    @Test("fields that do not fit go by priority, whole, the rest in order")
    func fields() {
        let fields: [FieldLine.Field] = [.init("step 5/50", priority: 0), .init("t=900", priority: 4), .init("abar=0.01", priority: 6), .init("sigma=0", priority: 5)]
        #expect(FieldLine(fields, width: 100).text == "step 5/50  t=900  abar=0.01  sigma=0")
        #expect(FieldLine(fields, width: 25).text == "step 5/50  t=900  sigma=0")
        #expect(FieldLine(fields, width: 20).text == "step 5/50  t=900")
        #expect(FieldLine(fields, width: 9).text == "step 5/50")
        #expect(FieldLine(fields, width: 8).fields.isEmpty)
        #expect(FieldLine(fields, width: 30, separator: " - ").placed(at: 2).map(\.column) == [2, 14, 22])
    }

    @Test("the progress line drops fields, then its bar; fields never overlap and the bar fills the rest")
    func progress() {
        let left: [FieldLine.Field] = [.init("step 146/1000", priority: 0), .init("t=854", priority: 4), .init("ᾱ=0.000713", priority: 6)]
        let right: [FieldLine.Field] = [.init("17 ms/step", priority: 3), .init("57.4 it/s", priority: 7), .init("ETA 16.2s", priority: 2)]
        for width in [20, 36, 54, 76, 116, 196] {
            let line = ProgressLineLayout(left: left, right: right, width: width, barPriority: 3)
            let used = line.left.width + line.right.width + (line.barWidth > 0 ? line.barWidth + 5 : 2)
            #expect(used <= width, "\(width): \(line)")
            #expect(line.left.fields.first?.text == "step 146/1000", "\(width)")
            #expect(line.barWidth == 0 || line.barWidth >= ProgressLineLayout.minimumBar)
        }
        let wide = ProgressLineLayout(left: left, right: right, width: 116, barPriority: 3)
        #expect(wide.left.fields.count == 3 && wide.right.fields.count == 3 && wide.barWidth == 116 - wide.left.width - wide.right.width - 5)
        // at 54 cells the rate and ᾱ go before the bar does
        let mid = ProgressLineLayout(left: left, right: right, width: 54, barPriority: 3)
        #expect(mid.barWidth > 0 && !mid.left.text.contains("ᾱ") && !mid.right.text.contains("it/s"))
    }

    @Test("the key line keeps ? and q at any width, dropping whole groups")
    func footer() {
        #expect(KeyBindings.footer(width: 200).hasPrefix("e/E η  s/S/1–6 steps  n seed  space pause"))
        for width in [20, 34, 54, 74] {
            let line = KeyBindings.footer(width: width)
            #expect(line.count <= width && line.hasSuffix("? help  q quit"), "\(width): \(line)")
        }
        #expect(KeyBindings.footer(width: 74, transform: { Chrome.ascii($0) }).allSatisfy { $0.isASCII })
    }

    @Test("ASCII chrome: symbols spelled out, boxes and bars in ASCII, nothing else left")
    func ascii() {
        #expect(Chrome.ascii("η 0.30  σ̂  ᾱ=0.5  x̂₀ → x_T") == "eta 0.30  sigma-hat  abar=0.5  x0 -> x_T")
        #expect(Chrome.ascii("┌─ ● running ─┐ │█▌░│ ✓ 2⁶⁴ − 1 ±1") == "+- * running -+ |##.| + 2^64 - 1 +/-1")
        #expect(Chrome.ascii("plain text") == "plain text")
        #expect(Chrome.ascii("日本").allSatisfy { $0.isASCII })
    }

    @Test("the grey ramp's slots get xterm's cube colours back")
    func cube() {
        #expect(GreyRamp.cubeColor(slot: 16) == (0, 0, 0))
        #expect(GreyRamp.cubeColor(slot: 231) == (1000, 1000, 1000))
        #expect(GreyRamp.cubeColor(slot: 196) == (1000, 0, 0))
        #expect(GreyRamp.cubeColor(slot: 16 + 36 + 12 + 3) == (372, 529, 686))
    }
}

/// The live sampler in the terminals people use: sizes, a C locale, colour depths, a dumb terminal.
@Suite("Every terminal, in tmux", .serialized)
final class EveryTerminalTests {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-terms-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: work) }

    func start(_ args: String, columns: Int, rows: Int, term: String = "xterm-256color", lang: String = "C.UTF-8") throws -> TmuxSession {
        let command = "env -u NO_COLOR -u COLORTERM -u LC_ALL -u LC_CTYPE TERM=\(term) LANG=\(lang) \(ddimBinary) \(args); echo EXIT=$?; sleep 120"
        return try TmuxSession(command, directory: work.path, columns: columns, rows: rows)
    }

    @Test("80×24, 60×20, 40×12, 200×60: the picture, step n/N, η, steps, ? and q stay; nothing is cut or overprinted",
          arguments: [(80, 24), (60, 20), (40, 12), (200, 60)])
    func sizes(_ size: (Int, Int)) throws {
        let t = try start("--steps 1000 --paused", columns: size.0, rows: size.1)
        defer { t.close() }
        #expect(try t.wait { $0.contains("step 0/1000") && $0.contains("? help  q quit") }, "\(t.dump())")
        let lines = try t.screen().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let title = lines[0], footer = lines[size.1 - 1], progress = lines[size.1 - 4], parameters = lines[size.1 - 2]
        #expect(title.hasPrefix("┌─ ddim") && title.contains("paused") && title.hasSuffix("┐"), "\(title)")
        // whole fields only: every title field is one the title can show
        let shown = try #require(title.firstMatch(of: /┌─ (.*?) ─+ ❚❚ paused ─┐/), "\(title)").output.1
        for f in shown.split(separator: " ─ ").map(String.init) {
            #expect(["ddim", "digits", "256 colours", "half", "(1 ch, 32×32, 1.1 M params)"].contains(f), "'\(f)' in \(title)")
        }
        #expect(footer.contains("e/E η") && footer.hasSuffix("┘"), "\(footer)")
        #expect(progress.hasPrefix("│ step 0/1000") && progress.hasSuffix(" │"), "\(progress)")
        #expect(parameters.contains("η 0.00") && parameters.contains("steps 1000"), "\(parameters)")
        #expect(lines.filter { $0.contains("▀") || $0.contains("▄") }.count >= 2, "the picture")
        try t.send("q")
        #expect(try t.wait { $0.contains("EXIT=0") })
    }

    @Test("a C locale gets ASCII chrome and the ASCII blitter, and the title says so")
    func cLocale() throws {
        let t = try start("--steps 20 --seed 4", columns: 80, rows: 24, lang: "C")
        defer { t.close() }
        #expect(try t.wait(timeout: 20) { $0.contains("+ done -+") }, "\(t.dump())")
        let screen = try t.screen()
        #expect(screen.unicodeScalars.allSatisfy { $0.isASCII }, "\(screen)")
        #expect(screen.contains("ASCII: the locale is not UTF-8") && screen.contains("eta 0.00") && screen.contains("? help  q quit"))
        #expect(screen.contains("20 steps in "))
        try t.send("q")
        #expect(try t.wait { $0.contains("EXIT=0") })
    }

    @Test("16 colours, NO_COLOR, xterm-direct and a light theme run; TERM=dumb is refused before the screen is touched")
    func depths() throws {
        let x = try start("--paused --theme paper", columns: 130, rows: 30, term: "xterm")
        defer { x.close() }
        #expect(try x.wait { $0.contains("16 colours") && $0.contains("theme paper") }, "\(x.dump())")
        let command = "env NO_COLOR=1 TERM=xterm-256color LANG=C.UTF-8 \(ddimBinary) --paused; echo EXIT=$?; sleep 120"
        let n = try TmuxSession(command, directory: work.path, columns: 100, rows: 30)
        defer { n.close() }
        #expect(try n.wait { $0.contains("mono") && $0.contains("paused") }, "\(n.dump())")
        #expect(!(try n.screen(colours: true).contains("\u{1B}[38;")))
        let direct = try start("--paused", columns: 100, rows: 30, term: "xterm-direct")
        defer { direct.close() }
        #expect(try direct.wait { $0.contains("truecolor") && $0.contains("paused") }, "\(direct.dump())")
        #expect(try direct.wait(colours: true) { $0.contains("\u{1B}[38;2;") })
        let d = try start("--paused", columns: 100, rows: 30, term: "dumb")
        defer { d.close() }
        #expect(try d.wait { $0.contains("EXIT=1") }, "\(d.dump())")
        #expect(try d.screen().contains("Error: TERM=dumb cannot move the cursor"))
        #expect(try d.format("#{alternate_on}") == "0")
    }

    @Test("z shows one tile full-screen, then the next, then all of them again; so does a click on a tile")
    func zoom() throws {
        let t = try start("--batch 3 --seed 7 --paused", columns: 120, rows: 40)
        defer { t.close() }
        // the tiles' captions in their boxes' bottom edges
        func tiles(_ screen: String) -> [String] { screen.matches(of: /└ seed (\d+) ─/).map { String($0.output.1) } }
        #expect(try t.wait { tiles($0) == ["7", "8", "9"] }, "\(t.dump())")
        try t.send("z")
        #expect(try t.wait { tiles($0) == ["7"] && $0.contains("(z: next)") }, "\(t.dump())")
        try t.send("z")
        #expect(try t.wait { tiles($0) == ["8"] }, "\(t.dump())")
        try t.send("z", "z")
        #expect(try t.wait { tiles($0) == ["7", "8", "9"] }, "\(t.dump())")
        // a click (xterm's SGR mouse report: press and release) on the middle tile zooms it; one more shows all
        let click = "\u{1B}[<0;61;11M\u{1B}[<0;61;11m"
        try t.tmux(["send-keys", "-t", "0", "-l", click])
        #expect(try t.wait { tiles($0) == ["8"] }, "\(t.dump())")
        try t.tmux(["send-keys", "-t", "0", "-l", click])
        #expect(try t.wait { tiles($0) == ["7", "8", "9"] }, "\(t.dump())")
    }

    @Test("a finished run is stepped through with ← → Home End; < and > halve and double the pace")
    func scrubAndPace() throws {
        let t = try start("--steps 10 --pace 0 --seed 3", columns: 120, rows: 40)
        defer { t.close() }
        #expect(try t.wait(timeout: 20) { $0.contains("10 steps in ") }, "\(t.dump())")
        try t.send("Left")
        #expect(try t.wait { $0.contains("step 9/10  (stepping through: ← → Home End)") }, "\(t.dump())")
        try t.send("Home")
        #expect(try t.wait { $0.contains("step 0/10  (stepping through") })
        try t.send("End")
        #expect(try t.wait { $0.contains("step 10/10") && $0.contains("10 steps in ") && !$0.contains("stepping through") })
        // the mouse: the wheel up steps back; a click on the bar's first cell goes to x_T
        try t.tmux(["send-keys", "-t", "0", "-l", "\u{1B}[<64;60;20M"])
        #expect(try t.wait { $0.contains("step 9/10  (stepping through") }, "\(t.dump())")
        let bar = try #require(try t.screen().split(separator: "\n").first { $0.contains("step 9/10") })
        let barColumn = try #require(bar.firstIndex { "█░▏▎▍▌▋▊▉".contains($0) }).utf16Offset(in: bar)
        try t.tmux(["send-keys", "-t", "0", "-l", "\u{1B}[<0;\(barColumn + 1);37M\u{1B}[<0;\(barColumn + 1);37m"])
        #expect(try t.wait { $0.contains("step 0/10  (stepping through") }, "\(t.dump())")
        try t.send("End")
        try t.send(">")
        #expect(try t.wait { $0.contains("pace: at least 1 ms a step") && $0.contains("pace 1 ms") }, "\(t.dump())")
        try t.send(">", ">")
        #expect(try t.wait { $0.contains("pace 4 ms") })
    }

    @Test("limits said when hit; σ̂ gives η back; a studio view's lines never overprint, and its pause shows as paused")
    func rulesAndStudio() throws {
        let t = try start("--steps 20 --pace 0 --seed 0 --eta 0.3", columns: 120, rows: 40)
        defer { t.close() }
        #expect(try t.wait(timeout: 20) { $0.contains("20 steps in ") }, "\(t.dump())")
        try t.send("N")
        #expect(try t.wait { $0.contains("seed 0 is the first") }, "\(t.dump())")
        try t.send("h")
        #expect(try t.wait { $0.contains("η σ̂") })
        try t.send("h")
        #expect(try t.wait { $0.contains("η 0.30") }, "\(t.dump())")
        // the η comparison: its own explanation, then a save's status in the same row, alone
        try t.send("K")
        #expect(try t.wait(timeout: 30) { $0.contains("η = 0 is deterministic, each η > 0 adds fresh noise") }, "\(t.dump())")
        try t.send("w")
        #expect(try t.wait { $0.contains("│ saved ddim-compare-eta-0.png" + String(repeating: " ", count: 10)) }, "\(t.dump())")
        // a new view, paused at once: the title says paused, never pausing
        try t.send("K", "k", "Space")
        #expect(try t.wait { $0.contains("compare steps") && $0.contains("❚❚ paused") }, "\(t.dump())")
        Thread.sleep(forTimeInterval: 1)
        #expect(!(try t.screen().contains("pausing")))
    }

    @Test("--batch over 64 is refused in one line")
    func batch() throws {
        let t = try start("--batch 1000", columns: 100, rows: 30)
        defer { t.close() }
        #expect(try t.wait { $0.contains("EXIT=64") }, "\(t.dump())")
        #expect(try t.screen().contains("--batch 1000: the live sampler shows at most 64 tiles"))
    }
}
