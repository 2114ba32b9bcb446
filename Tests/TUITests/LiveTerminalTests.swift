import Foundation
import Imaging
import Testing

let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let fixtures = repository.appendingPathComponent("Tests/Fixtures")

/// The built `ddim` beside this test binary.
let ddimBinary: String = {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("ddim").path
}()

/// The live sampler in a real terminal: tmux on a private socket, keys typed with send-keys,
/// the screen read with capture-pane. The model is the tiny pipeline fixture (16×16 RGB).
@Suite("Live sampler in tmux", .serialized)
final class LiveTerminalTests {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-tui-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: work) }

    func start(_ args: String, columns: Int = 120, rows: Int = 40, term: String = "tmux-direct") throws -> TmuxSession {
        let model = fixtures.appendingPathComponent("pipeline/tiny").path
        let command = "env -u NO_COLOR -u COLORTERM TERM=\(term) LANG=C.UTF-8 \(ddimBinary) --model \(model) \(args); echo EXIT=$?; sleep 120"
        return try TmuxSession(command, directory: work.path, columns: columns, rows: rows)
    }

    @Test("keys change the run as typed; save, resize and quit leave the terminal as found")
    func session() throws {
        let t = try start("--steps 1000 --batch 2 --seed 5 --paused")
        defer { t.close() }
        // Paused on x_T: the header says so, the parameters show what was asked for.
        #expect(try t.wait { $0.contains("paused") && $0.contains("steps 1000") && $0.contains("seed 5") && $0.contains("step 0/1000") },
                "\(t.dump())")
        // Coloured block glyphs: truecolor SGR and half blocks inside the tiles.
        #expect(try t.wait(colours: true) { $0.contains("\u{1B}[38;2;") && $0.contains("▀") }, "\(t.dump(colours: true))")

        // One step while paused.
        try t.send(".")
        #expect(try t.wait { $0.contains("step 1/1000") })

        // η up, shown at once.
        try t.send("E")
        #expect(try t.wait { $0.contains("η 0.10") })

        // Steps change mid-run: the rest of the plan is re-made below the current t (x_t kept),
        // so the run is 1 done + t = 998 + the 20-step plan's 20 timesteps below 998.
        try t.send("2")
        #expect(try t.wait { $0.contains("steps 20") })
        try t.send(".")
        #expect(try t.wait { $0.contains("step 2/22") })

        // Resume: the run ends.
        try t.send("Space")
        #expect(try t.wait(timeout: 20) { $0.contains("done") && $0.contains("step 22/22") })

        // Save the grid as PNG in the working folder.
        try t.send("w")
        #expect(try t.wait { $0.contains("saved ddim-5-s20-e0.1-22.png") })
        let saved = work.appendingPathComponent("ddim-5-s20-e0.1-22.png").path
        let image = try PNGReader().read(saved)
        #expect(image.channels == 3 && image.width > 32)

        // Resize: re-laid out; too small: a message, not a crash; back again.
        try t.resize(columns: 70, rows: 20)
        #expect(try t.wait { $0.split(separator: "\n").first?.count ?? 0 <= 70 && $0.contains("seed 6") })
        try t.resize(columns: 30, rows: 8)
        #expect(try t.wait { $0.contains("too small") }, "\(t.dump()) \((try? t.format("#{window_width}x#{window_height}")) ?? "")")
        try t.resize(columns: 100, rows: 30)
        #expect(try t.wait { $0.contains("step 22/22") })

        // Help overlay, then quit.
        try t.send("?")
        #expect(try t.wait { $0.contains("this help") }, "\(t.dump())")
        try t.send("Escape")
        #expect(try t.wait { !$0.contains("this help") })
        try t.send("q")
        #expect(try t.wait { $0.contains("EXIT=0") })
        #expect(try t.format("#{alternate_on}") == "0")
        #expect(try t.format("#{cursor_flag}") == "1")
    }

    /// Truecolour tiles are written by ddim itself after ncurses' frame (Terminal's direct
    /// cells): the help overlay must cover them and give them back, and a tile that goes away
    /// must leave no picture behind.
    @Test("truecolour tiles: under the help and back, and gone with their tile")
    func directCells() throws {
        let t = try start("--steps 5 --batch 2 --seed 3")
        defer { t.close() }
        #expect(try t.wait(timeout: 20) { $0.contains("done") })
        // half blocks: the tiles (the progress bar is made of full blocks)
        func blocks() throws -> Int { try t.screen().filter { "▀▄".contains($0) }.count }
        _ = try t.settledScreen()
        let two = try blocks()
        #expect(two > 0, "\(t.dump())")
        try t.send("?")
        #expect(try t.wait { $0.contains("this help") })
        #expect(try blocks() < two, "the help covers the tiles")
        try t.send("Escape")
        #expect(try t.wait { !$0.contains("this help") && (try? blocks()) == two }, "\(t.dump())")
        // one sample fewer: a new run with one big tile; the screen above the progress line,
        // colours included, must equal that of a fresh start with one sample
        let fresh = try start("--steps 5 --batch 1 --seed 3")
        defer { fresh.close() }
        #expect(try fresh.wait(timeout: 20) { $0.contains("done") })
        func pictures(_ screen: String) -> [Substring] {
            let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
            return Array(lines.prefix { !$0.contains("step 5/5") }.dropFirst())
        }
        // compared as seen (``TmuxSession/visible(_:)``)
        let freshPictures = pictures(try fresh.settledScreen()).joined(separator: "\n")
        let expected = TmuxSession.visible(freshPictures)
        #expect(expected.count > 10)
        try t.send("-")
        #expect(try t.wait(timeout: 20, colours: true) { TmuxSession.visible(pictures($0).joined(separator: "\n")) == expected },
                "after '-':\n\(t.dump(colours: true))\nfresh:\n\(freshPictures)")
    }

    @Test("the last frame of a run is exact: the paced frames' colour tolerance leaves nothing behind")
    func exactWhenDone() throws {
        // long enough for many paced picture frames, each allowed to leave cells within a few
        // levels of their new colour (unpaced: paced, 400 steps would take 28 s)
        let t = try start("--steps 400 --batch 2 --seed 8 --pace 0")
        defer { t.close() }
        #expect(try t.wait(timeout: 60) { $0.contains("done") })
        let done = try t.settledScreen()
        // the help over the tiles and away again: every tile cell is written anew, exactly
        try t.send("?")
        #expect(try t.wait { $0.contains("this help") })
        try t.send("Escape")
        #expect(try t.wait { !$0.contains("this help") })
        let repainted = try t.settledScreen()
        let same = TmuxSession.visible(done) == TmuxSession.visible(repainted)
        #expect(same, "done:\n\(done)\nrepainted:\n\(repainted)")
    }

    @Test("a finished run shows its sampling time; --measure-ui compares the blocks drawn and not drawn")
    func timing() throws {
        let t = try start("--steps 60 --batch 1 --seed 2 --measure-ui 5")
        defer { t.close() }
        #expect(try t.wait(timeout: 30) { $0.contains("60 steps in ") && $0.contains("measure-ui: drawn") }, "\(t.dump())")
        let screen = try t.screen()
        let seconds = screen.firstMatch(of: /60 steps in ([0-9.]+) s  ([0-9.]+) ms\/step/)
        #expect((seconds.flatMap { Double($0.1) } ?? 0) > 0, "\(screen)")
        // 12 blocks of 5 steps; the first two left out, 5 drawn and 5 not
        let result = screen.firstMatch(of: /measure-ui: drawn ([0-9.]+) ms\/step \(25 steps\), not drawn ([0-9.]+) ms\/step \(25 steps\): ×([0-9.]+)/)
        #expect(result != nil, "\(screen)")
        if let result, let drawn = Double(result.1), let quiet = Double(result.2), let ratio = Double(result.3) {
            #expect(drawn > 0 && quiet > 0 && abs(ratio - drawn / quiet) < 0.03 * ratio, "\(screen)")
        }
        let bad = try start("--measure-ui 0")
        defer { bad.close() }
        #expect(try bad.wait { $0.contains("--measure-ui 0: give a block of at least 1 step") && $0.contains("EXIT=64") }, "\(bad.dump())")
    }

    @Test("Ctrl-C, SIGTERM and any other terminating signal restore the terminal, then exit 128 + n")
    func interrupts() throws {
        let t = try start("--steps 1000 --paused")
        defer { t.close() }
        #expect(try t.wait { $0.contains("paused") })
        try t.send("C-c")
        #expect(try t.wait { $0.contains("EXIT=130") }, "\(t.dump())")
        #expect(try t.format("#{alternate_on}") == "0")

        let u = try start("--steps 1000 --paused")
        defer { u.close() }
        #expect(try u.wait { $0.contains("paused") })
        let pid = try u.format("#{pane_pid}")
        // the pane runs sh → ddim; signal ddim, the shell's child
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["pkill", "-TERM", "-P", pid]
        try p.run()
        p.waitUntilExit()
        #expect(try u.wait { $0.contains("EXIT=143") }, "\(u.dump())")
        #expect(try u.format("#{alternate_on}") == "0")
        #expect(try u.format("#{cursor_flag}") == "1")

        // signals the live sampler did not handle before ended it with the terminal still raw
        for (name, status) in [("USR1", 138), ("ALRM", 142), ("QUIT", 131)] {
            let v = try start("--steps 1000 --paused")
            defer { v.close() }
            #expect(try v.wait { $0.contains("paused") })
            let kill = Process()
            kill.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            kill.arguments = ["pkill", "-\(name)", "-P", try v.format("#{pane_pid}")]
            try kill.run()
            kill.waitUntilExit()
            #expect(try v.wait { $0.contains("EXIT=\(status)") }, "SIG\(name): \(v.dump())")
            #expect(try v.format("#{alternate_on}") == "0")
            #expect(try v.format("#{cursor_flag}") == "1")
        }
    }

    @Test("a fatal signal still gives the terminal back: modes, alternate screen, cursor; exit 128 + n",
          arguments: [("SEGV", 139), ("BUS", 135), ("ABRT", 134), ("FPE", 136), ("ILL", 132)])
    func fatalSignals(_ name: String, _ status: Int) throws {
        let model = fixtures.appendingPathComponent("pipeline/tiny").path
        // after ddim, the shell prints whether the line discipline is canonical again (ddim runs raw)
        let command = "env TERM=tmux-direct LANG=C.UTF-8 \(ddimBinary) --model \(model) --steps 1000 --paused; echo EXIT=$?; "
            + "stty -a | tr ' ' '\\n' | grep -x -e icanon -e -icanon | sed 's/^/MODE=/'; sleep 120"
        let t = try TmuxSession(command, directory: work.path, columns: 120, rows: 40)
        defer { t.close() }
        #expect(try t.wait { $0.contains("paused") })
        let kill = Process()
        kill.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        kill.arguments = ["pkill", "-\(name)", "-P", try t.format("#{pane_pid}")]
        try kill.run()
        kill.waitUntilExit()
        #expect(try t.wait { $0.contains("EXIT=\(status)") && $0.contains("MODE=") }, "SIG\(name): \(t.dump())")
        #expect(try t.screen().contains("MODE=icanon"), "SIG\(name): \(t.dump())")
        #expect(try t.format("#{alternate_on}") == "0")
        #expect(try t.format("#{cursor_flag}") == "1")
    }

    @Test("256-colour and monochrome terminals, ASCII blitter")
    func colourModes() throws {
        let t = try start("--paused --color palette256 --blitter quadrant", term: "xterm-256color")
        defer { t.close() }
        #expect(try t.wait { $0.contains("256 colours") && $0.contains("quadrant") }, "\(t.dump())")
        #expect(try t.wait(colours: true) { $0.contains("\u{1B}[38;5;") })
        let m = try start("--paused --color mono --blitter ascii", term: "xterm-256color")
        defer { m.close() }
        #expect(try m.wait { $0.contains("mono") && $0.contains("ascii") })
        #expect(!(try m.screen(colours: true).contains("\u{1B}[38;5;")))
    }
}

/// The studio views (compare, interpolate, invert) in a real terminal, on the tiny model.
@Suite("Studio views in tmux", .serialized)
final class StudioTerminalTests {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-studio-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: work) }

    func start(_ args: String) throws -> TmuxSession {
        let model = fixtures.appendingPathComponent("pipeline/tiny").path
        let command = "env -u NO_COLOR -u COLORTERM TERM=tmux-256color LANG=C.UTF-8 \(ddimBinary) --model \(model) \(args); echo EXIT=$?; sleep 120"
        return try TmuxSession(command, directory: work.path, columns: 120, rows: 40)
    }

    @Test("k compares step counts, K η values; i interpolates and [ ] move α; u inverts; each key again goes back")
    func views() throws {
        let t = try start("--steps 10 --seed 3")
        defer { t.close() }
        #expect(try t.wait(timeout: 20) { $0.contains("done") && $0.contains("step 10/10") }, "\(t.dump())")

        #expect(try t.wait { $0.contains("clip ±1") }, "\(t.dump())")
        // compare across step counts: four columns from one x_T, MSE to the last one when done
        try t.send("k")
        #expect(try t.wait(timeout: 30) {
            $0.contains("compare steps") && $0.contains("S=10 η=0") && $0.contains("S=100 η=0") && $0.contains("reference")
                && $0.contains("step 180/180") && $0.contains("MSE 0.")
        }, "\(t.dump())")
        // η changes re-sample every column
        try t.send("E")
        #expect(try t.wait(timeout: 30) { $0.contains("S=10 η=0.1") && $0.contains("reference") }, "\(t.dump())")
        try t.send("K")
        #expect(try t.wait(timeout: 30) { $0.contains("compare η") && $0.contains("S=10 η=0.2") && $0.contains("S=10 η=1") }, "\(t.dump())")
        try t.send("K")
        #expect(try t.wait { !$0.contains("compare η") && $0.contains("step 10/10") }, "\(t.dump())")

        // interpolation: the slider moves and only the middle is re-sampled
        try t.send("i")
        #expect(try t.wait(timeout: 20) { $0.contains("interpolate") && $0.contains("α 0.5") && $0.contains("seed 3") && $0.contains("seed 4")
            && $0.contains("step 30/30") }, "\(t.dump())")
        try t.send("]")
        #expect(try t.wait(timeout: 20) { $0.contains("α 0.6") && $0.contains("α=0.60") && $0.contains("step 30/30") }, "\(t.dump())")
        try t.send("Left", "Left")
        #expect(try t.wait(timeout: 20) { $0.contains("α 0.4") && $0.contains("α=0.40") }, "\(t.dump())")
        try t.send("w")
        #expect(try t.wait { $0.contains("saved ddim-interpolate-3.png") }, "\(t.dump())")
        let strip = try PNGReader().read(work.appendingPathComponent("ddim-interpolate-3.png").path)
        #expect(strip.width == 3 * 18 + 2)
        try t.send("i")
        #expect(try t.wait { !$0.contains("interpolate ─") }, "\(t.dump())")

        // inversion of the current result: original, x_T, reconstruction with its MSE
        try t.send("u")
        #expect(try t.wait(timeout: 30) {
            $0.contains("invert") && $0.contains("x₀ (seed 3)") && $0.contains("x_T") && $0.contains("reconstruction")
                && $0.contains("step 20/20") && $0.contains("MSE ")
        }, "\(t.dump())")
        try t.send("u")
        #expect(try t.wait { !$0.contains("invert ─") && $0.contains("step 10/10") }, "\(t.dump())")
        try t.send("q")
        #expect(try t.wait { $0.contains("EXIT=0") })
        #expect(try t.format("#{alternate_on}") == "0")
    }

    @Test("--image opens the inversion view on a picture; a picture of the wrong size is one line and exit 1")
    func imageOption() throws {
        // a 16×16 RGB picture for the tiny model, from `ddim sample`
        let picture = work.appendingPathComponent("p.png").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ddimBinary)
        p.arguments = ["sample", "--model", fixtures.appendingPathComponent("pipeline/tiny").path, "--steps", "5", "--out", picture, "-q"]
        try p.run()
        p.waitUntilExit()
        let t = try start("--steps 10 --no-clip --image \(picture)")
        defer { t.close() }
        #expect(try t.wait(timeout: 30) { $0.contains("invert") && $0.contains("x₀ (p.png)") && $0.contains("MSE ") && $0.contains("clip off") },
                "\(t.dump())")
        try t.send("q")
        #expect(try t.wait { $0.contains("EXIT=0") })

        // o: type a path; a wrong one is a line in the status bar, a good one opens the view
        let v = try start("--steps 10 --paused")
        defer { v.close() }
        #expect(try v.wait { $0.contains("paused") })
        try v.send("o")
        #expect(try v.wait { $0.contains("open PNG") }, "\(v.dump())")
        try v.send("-l", "nope.png")
        try v.send("Enter")
        #expect(try v.wait { $0.contains("cannot read nope.png") }, "\(v.dump())")
        try v.send("o")
        try v.send("-l", "p.png")
        try v.send("Enter")
        #expect(try v.wait(timeout: 30) { $0.contains("x₀ (p.png)") && $0.contains("MSE ") }, "\(v.dump())")
        try v.send("q")
        #expect(try v.wait { $0.contains("EXIT=0") })

        let digit = fixtures.appendingPathComponent("digits/00000-class2.png").path
        let u = try start("--image \(digit)")
        defer { u.close() }
        // The error names the absolute path, which may wrap at the pane's width (CI's checkout is
        // deeper than ours): read the screen with the wrapped lines joined.
        #expect(try u.wait {
            let joined = $0.replacingOccurrences(of: "\n", with: "")
            return joined.contains("EXIT=1") && joined.contains("32×32") && joined.contains("16×16")
        }, "\(u.dump())")
    }
}
