import Foundation
import Graphics
import Preview
import Sampling
import Testing
import TUI

/// The live sampler's config file (`UserConfig`) and the user's themes: parsing, where the file
/// is, files that are not files; then the built `ddim` with a config (precedence, warnings).
@Suite("The config file and the user's themes")
final class UserConfigTests {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-cfg-\(UUID().uuidString.prefix(8))")

    init() throws { try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: work) }

    @Test("every key, comments, blank lines, spaces; a later line wins")
    func parsesEveryKey() {
        let text = """
            # the live sampler's defaults
            theme    = paper
            color    = palette256   # a comment after a space
            blitter=quadrant
              graphics = sixel
            pace = 40.5

            steps = 20
            eta = 0.5
            eta = hat
            batch = 4
            save-dir = ~/Pictures/ddim
            """
        let c = UserConfig.parse(text, file: "/c/config", home: "/home/u")
        #expect(c.warnings == [])
        #expect(c.theme == "paper" && c.colorMode == .palette256 && c.blitter == .quadrant && c.graphics == .forced(.sixel))
        #expect(c.paceMilliseconds == 40.5 && c.steps == 20 && c.noise == .ddpmLarge && c.batch == 4)
        #expect(c.saveFolder == "/home/u/Pictures/ddim")
        #expect(UserConfig.parse("eta = 0\nsave-dir = /tmp/a#b\n", file: "f").noise == .eta(0))
        #expect(UserConfig.parse("save-dir = /tmp/a#b\n", file: "f").saveFolder == "/tmp/a#b")
        #expect(UserConfig.parse("graphics = auto", file: "f").graphics == .auto)
    }

    @Test("a bad line is one warning naming the file and the line, and the rest still counts")
    func badLines() {
        let text = """
            steps = 20
            steps = many
            colour = mono
            just words
            pace = 20000
            eta = -1
            batch = 65
            blitter = pixels
            graphics = png
            color = 24bit
            theme =
            save-dir = ~/x
            batch = 3
            """
        let c = UserConfig.parse(text, file: "/c/config", home: nil)
        #expect(c.steps == 20 && c.batch == 3 && c.colorMode == nil && c.paceMilliseconds == nil && c.saveFolder == nil)
        #expect(c.warnings == [
            "/c/config:2: steps 'many': give a whole number of steps, 1 or more; the line is ignored",
            "/c/config:3: unknown setting 'colour' (known: theme, color, blitter, graphics, pace, steps, eta, batch, save-dir); the line is ignored",
            "/c/config:4: expected 'key = value', got 'just words'; the line is ignored",
            "/c/config:5: pace '20000': give 0…10000 milliseconds a step (0: as fast as possible); the line is ignored",
            "/c/config:6: eta '-1': give η ≥ 0 or hat; the line is ignored",
            "/c/config:7: batch '65': give 1…64 samples (the live sampler's most tiles); the line is ignored",
            "/c/config:8: blitter 'pixels': give half, quadrant, sextant, braille, ascii; the line is ignored",
            "/c/config:9: graphics 'png': give auto, kitty, sixel, iterm, blocks; the line is ignored",
            "/c/config:10: color '24bit': give truecolor, palette256, palette16, mono; the line is ignored",
            "/c/config:11: theme has no value; the line is ignored",
            "/c/config:12: save-dir '~/x': HOME is not set, so ~ means nothing; the line is ignored",
        ])
    }

    @Test("the file: $XDG_CONFIG_HOME/ddim/config when absolute, else ~/.config/ddim/config")
    func whereTheFileIs() {
        #expect(UserConfig.file(environment: ["XDG_CONFIG_HOME": "/x/cfg", "HOME": "/home/u"]) == "/x/cfg/ddim/config")
        #expect(UserConfig.file(environment: ["XDG_CONFIG_HOME": "/x/cfg/", "HOME": "/home/u"]) == "/x/cfg/ddim/config")
        // a relative XDG_CONFIG_HOME is ignored, as the XDG base directory spec says
        #expect(UserConfig.file(environment: ["XDG_CONFIG_HOME": "cfg", "HOME": "/home/u"]) == "/home/u/.config/ddim/config")
        #expect(UserConfig.file(environment: ["HOME": "/home/u"]) == "/home/u/.config/ddim/config")
        #expect(UserConfig.file(environment: [:]) == nil)
        #expect(UserConfig.load(environment: ["XDG_CONFIG_HOME": work.path]).themesFolder == work.path + "/ddim/themes")
    }

    @Test("reading: none is nothing; XDG before HOME; a FIFO, a folder, a huge or non-UTF-8 file is one warning, at once")
    func readingTheFile() throws {
        let xdg = work.appendingPathComponent("xdg"), home = work.appendingPathComponent("home")
        // nothing there: no settings, no warning
        #expect(UserConfig.load(environment: ["XDG_CONFIG_HOME": xdg.path, "HOME": home.path]) == {
            var c = UserConfig(); c.themesFolder = xdg.path + "/ddim/themes"; return c }())
        for (folder, steps) in [(xdg, 7), (home.appendingPathComponent(".config"), 9)] {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("ddim"), withIntermediateDirectories: true)
            try "steps = \(steps)\n".write(to: folder.appendingPathComponent("ddim/config"), atomically: true, encoding: .utf8)
        }
        #expect(UserConfig.load(environment: ["XDG_CONFIG_HOME": xdg.path, "HOME": home.path]).steps == 7)
        #expect(UserConfig.load(environment: ["HOME": home.path]).steps == 9)

        let fifo = work.appendingPathComponent("fifo")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let started = Date()
        #expect(UserConfig.load(file: fifo.path, home: nil).warnings == ["\(fifo.path) is a FIFO, not a regular file; the config is ignored"])
        #expect(Date().timeIntervalSince(started) < 2)
        #expect(UserConfig.load(file: work.path, home: nil).warnings == ["\(work.path) is a directory, not a regular file; the config is ignored"])
        let huge = work.appendingPathComponent("huge")
        try Data(repeating: 0x23, count: (64 << 10) + 1).write(to: huge)
        #expect(UserConfig.load(file: huge.path, home: nil).warnings == ["\(huge.path) is 65537 bytes, over the 64 KiB limit for a config file; the config is ignored"])
        let latin1 = work.appendingPathComponent("latin1")
        try Data([0x73, 0x3D, 0xE9, 0x0A]).write(to: latin1)
        #expect(UserConfig.load(file: latin1.path, home: nil).warnings == ["\(latin1.path): not UTF-8 text; the config is ignored"])
    }

    @Test("user themes: found by name, before a bundled one of that name; t cycles through them; an unknown name lists them")
    func userThemes() throws {
        let themes = work.appendingPathComponent("themes")
        try FileManager.default.createDirectory(at: themes, withIntermediateDirectories: true)
        try "accent = #ff0000\n".write(to: themes.appendingPathComponent("mine.theme"), atomically: true, encoding: .utf8)
        try "accent = #00ff00\n".write(to: themes.appendingPathComponent("paper.theme"), atomically: true, encoding: .utf8)
        try "not a theme\n".write(to: themes.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        let mine = try Theme.load("mine", userThemes: themes.path)
        #expect(mine.name == "mine" && mine[.accent].rgb == 0xFF0000)
        #expect(try Theme.load("paper", userThemes: themes.path)[.accent].rgb == 0x00FF00)
        #expect(try Theme.load("contrast", userThemes: themes.path).name == "contrast")
        #expect(Theme.names(userThemes: themes.path) == ["dusk", "paper", "contrast", "mine"])
        #expect(Theme.names(userThemes: work.appendingPathComponent("none").path) == ["dusk", "paper", "contrast"])
        let e = #expect(throws: ThemeError.self) { try Theme.load("nope", userThemes: themes.path) }
        #expect(e?.description == "nope: no such theme (bundled: dusk, paper, contrast; yours: mine, paper; or give a path to a .theme file)")
        // a user theme that is a FIFO is refused, not waited on nor skipped
        #expect(mkfifo(themes.appendingPathComponent("pipe.theme").path, 0o600) == 0)
        let f = #expect(throws: (any Error).self) { try Theme.load("pipe", userThemes: themes.path) }
        #expect("\(f.map { "\($0)" } ?? "")" == "\(themes.path)/pipe.theme is a FIFO, not a regular file")
    }

    // MARK: - The built ddim

    /// Runs the built ddim with `environment` (no terminal), killed after 20 s.
    func ddim(_ arguments: [String], environment: [String: String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ddimBinary)
        p.arguments = arguments
        p.environment = ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"].merging(environment) { $1 }
        p.currentDirectoryURL = work
        let (out, err) = (Pipe(), Pipe())
        (p.standardOutput, p.standardError, p.standardInput) = (out, err, FileHandle.nullDevice)
        try p.run()
        let killer = DispatchWorkItem { p.terminate() }
        DispatchQueue.global().asyncAfter(deadline: .now() + 20, execute: killer)
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        killer.cancel()
        return (p.terminationStatus, stdout, stderr)
    }

    @Test("ddim --version: the version and the commit the Makefile wrote into the build")
    func version() throws {
        let r = try ddim(["--version"], environment: [:])
        #expect(r.status == 0)
        let header = repository.appendingPathComponent("Sources/BuildInfo/build_commit.h")
        // `make test` builds through `make build-info`; a plain `swift test` knows no commit
        let commit = (try? String(contentsOf: header, encoding: .utf8))?.split(separator: "\"").dropFirst().first.map(String.init) ?? "unknown"
        #expect(r.stdout == "ddim 0.11.0 (commit \(commit))\n")
    }

    @Test("without a terminal: the config's warnings on standard error, then the one refusal; a FIFO config is one line at once")
    func warningsWithoutTerminal() throws {
        let folder = work.appendingPathComponent("xdg/ddim")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let config = folder.appendingPathComponent("config")
        try "steps = 10\nsteps = -3\nwhat = ever\n".write(to: config, atomically: true, encoding: .utf8)
        let env = ["XDG_CONFIG_HOME": work.appendingPathComponent("xdg").path, "HOME": work.path]
        let r = try ddim([], environment: env)
        #expect(r.status == 64)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        #expect(Array(lines.prefix(3)) == [
            "Warning: \(config.path):2: steps '-3': give a whole number of steps, 1 or more; the line is ignored",
            "Warning: \(config.path):3: unknown setting 'what' (known: theme, color, blitter, graphics, pace, steps, eta, batch, save-dir); the line is ignored",
            "Error: the live sampler needs a terminal on standard input and output; for scripts use `ddim sample`",
        ])

        try FileManager.default.removeItem(at: config)
        #expect(mkfifo(config.path, 0o600) == 0)
        let started = Date()
        let f = try ddim([], environment: env)
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(f.status == 64)
        #expect(f.stderr.split(separator: "\n").first.map(String.init) == "Warning: \(config.path) is a FIFO, not a regular file; the config is ignored")
        // headless commands do not read the config: their runs stay what their command line says
        let s = try ddim(["sample", "--model", fixtures.appendingPathComponent("pipeline/tiny").path, "--steps", "2", "--out", "s.png", "-q"], environment: env)
        #expect(s.status == 0 && s.stderr == "", "\(s.stderr)")
    }
}

/// The config in the live sampler itself (tmux): the file's values, the flags over them, its
/// warning in the status line, `save-dir`.
@Suite("The config file in the live sampler", .serialized)
final class UserConfigTerminalTests {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-cfgt-\(UUID().uuidString.prefix(8))")

    init() throws { try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: work) }

    func start(_ args: String) throws -> TmuxSession {
        let model = fixtures.appendingPathComponent("pipeline/tiny").path
        let command = "env -u NO_COLOR -u COLORTERM XDG_CONFIG_HOME=\(work.path)/x HOME=\(work.path) TERM=tmux-256color LANG=C.UTF-8 "
            + "\(ddimBinary) --model \(model) \(args); echo EXIT=$?; sleep 120"
        return try TmuxSession(command, directory: work.path, columns: 160, rows: 40)
    }

    @Test("the file's steps, η, batch, pace, theme (a user theme) and save-dir; flags override each; a bad line in the status line")
    func precedence() throws {
        let folder = work.appendingPathComponent("x/ddim")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("themes"), withIntermediateDirectories: true)
        let shots = work.appendingPathComponent("shots")
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        try "accent = #ff0000\n".write(to: folder.appendingPathComponent("themes/mine.theme"), atomically: true, encoding: .utf8)
        try """
            steps = 7
            eta = 0.5
            pace = nope
            batch = 2
            pace = 0
            theme = mine
            save-dir = \(shots.path)
            """.write(to: folder.appendingPathComponent("config"), atomically: true, encoding: .utf8)

        let t = try start("--seed 3")
        defer { t.close() }
        #expect(try t.wait(timeout: 20) {
            $0.contains("η 0.50") && $0.contains("steps 7") && $0.contains("pace 0") && $0.contains("batch 2") && $0.contains("theme mine")
                && $0.contains("config:3: pace 'nope'")
        }, "\(t.dump())")
        #expect(try t.wait(timeout: 20) { $0.contains("step 7/7") }, "\(t.dump())")
        try t.send("w")
        #expect(try t.wait { $0.contains("saved \(shots.path)/ddim-3-s7-") }, "\(t.dump())")
        #expect(try FileManager.default.contentsOfDirectory(atPath: shots.path).count == 1)
        try t.send("q")
        #expect(try t.wait { $0.contains("EXIT=0") }, "\(t.dump())")

        let f = try start("--steps 9 --eta 0 --batch 1 --pace 50 --theme contrast --paused")
        defer { f.close() }
        #expect(try f.wait(timeout: 20) {
            $0.contains("η 0.00") && $0.contains("steps 9") && $0.contains("pace 50") && $0.contains("batch 1") && $0.contains("theme contrast")
        }, "\(f.dump())")
        try f.send("q")
        #expect(try f.wait { $0.contains("EXIT=0") }, "\(f.dump())")
    }
}
