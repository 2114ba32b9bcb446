import Preview
import Testing

struct TerminalCapabilitiesTests {
    func mode(_ environment: [String: String]) -> ColorMode {
        TerminalCapabilities.detectColorMode(environment: environment)
    }

    @Test func colorModes() {
        #expect(mode(["TERM": "xterm-256color", "COLORTERM": "truecolor"]) == .truecolor)
        #expect(mode(["TERM": "xterm-256color", "COLORTERM": "24bit"]) == .truecolor)
        #expect(mode(["TERM": "xterm-direct"]) == .truecolor)
        #expect(mode(["TERM": "xterm-256color"]) == .palette256)
        #expect(mode(["TERM": "tmux-256color", "COLORTERM": "yes"]) == .palette256)
        #expect(mode(["TERM": "xterm"]) == .palette16)
        #expect(mode(["TERM": "linux"]) == .palette16)
        #expect(mode(["TERM": "vt100"]) == .mono)
        #expect(mode(["TERM": "dumb", "COLORTERM": "truecolor"]) == .mono)
        #expect(mode([:]) == .mono)
        #expect(mode(["TERM": "xterm-256color", "COLORTERM": "truecolor", "NO_COLOR": "1"]) == .mono)
        #expect(mode(["TERM": "xterm-256color", "NO_COLOR": ""]) == .palette256)  // empty NO_COLOR is ignored
    }

    @Test func unicodeAndBlitter() {
        let utf8 = TerminalCapabilities.detect(environment: ["TERM": "xterm-256color", "LANG": "en_US.UTF-8"])
        #expect(utf8 == TerminalCapabilities(colorMode: .palette256, unicode: true, blitter: .half))
        #expect(TerminalCapabilities.detectUnicode(environment: ["TERM": "xterm", "LC_ALL": "C.utf8"]))
        #expect(!TerminalCapabilities.detectUnicode(environment: ["TERM": "xterm", "LANG": "C"]))
        #expect(!TerminalCapabilities.detectUnicode(environment: ["TERM": "xterm"]))
        // LC_ALL outranks LC_CTYPE outranks LANG; empty values are skipped.
        #expect(!TerminalCapabilities.detectUnicode(environment: ["TERM": "xterm", "LC_ALL": "POSIX", "LANG": "en_US.UTF-8"]))
        #expect(TerminalCapabilities.detectUnicode(environment: ["TERM": "xterm", "LC_ALL": "", "LC_CTYPE": "de_DE.UTF-8", "LANG": "C"]))
        let console = TerminalCapabilities.detect(environment: ["TERM": "linux", "LANG": "en_US.UTF-8"])
        #expect(console == TerminalCapabilities(colorMode: .palette16, unicode: false, blitter: .ascii))
        let dumb = TerminalCapabilities.detect(environment: ["TERM": "dumb", "LANG": "en_US.UTF-8"])
        #expect(dumb == TerminalCapabilities(colorMode: .mono, unicode: false, blitter: .ascii))
    }
}

@Suite("One colour-depth detection: the environment capped by terminfo")
struct ColorDepthTests {
    @Test("terminfo colour counts")
    func terminfo() {
        #expect(TerminalCapabilities.colorMode(terminfoColors: 1 << 24) == .truecolor)
        #expect(TerminalCapabilities.colorMode(terminfoColors: 256) == .palette256)
        #expect(TerminalCapabilities.colorMode(terminfoColors: 88) == .palette16)
        #expect(TerminalCapabilities.colorMode(terminfoColors: 8) == .palette16)
        #expect(TerminalCapabilities.colorMode(terminfoColors: 0) == .mono)
    }

    @Test("the guess is capped by what terminfo shows; NO_COLOR rules colour out; unknown terminfo caps nothing")
    func capped() {
        let env = ["TERM": "xterm-256color", "COLORTERM": "truecolor", "LANG": "C.UTF-8"]
        let direct = TerminalCapabilities.detect(environment: env, terminfoColors: 1 << 24)
        #expect(direct.colorMode == .truecolor && direct.maxColorMode == .truecolor)
        let palette = TerminalCapabilities.detect(environment: env, terminfoColors: 256)
        #expect(palette.colorMode == .palette256 && palette.maxColorMode == .palette256)
        // a 256-colour guess on a direct terminfo entry: the user may still pick truecolour
        let guess = TerminalCapabilities.detect(environment: ["TERM": "xterm-256color"], terminfoColors: 1 << 24)
        #expect(guess.colorMode == .palette256 && guess.maxColorMode == .truecolor)
        let none = TerminalCapabilities.detect(environment: env.merging(["NO_COLOR": "1"]) { $1 }, terminfoColors: 1 << 24)
        #expect(none.colorMode == .mono && none.maxColorMode == .mono)
        #expect(TerminalCapabilities.detect(environment: env) == TerminalCapabilities.detect(environment: env, terminfoColors: nil))
        #expect(TerminalCapabilities.detect(environment: env).maxColorMode == .truecolor)
    }

    @Test("the -direct terminfo entry to try first")
    func directEntry() {
        func name(_ env: [String: String]) -> String? { TerminalCapabilities.directTerminfoName(environment: env) }
        #expect(name(["TERM": "xterm-256color", "COLORTERM": "truecolor"]) == "xterm-direct")
        #expect(name(["TERM": "tmux-256color", "COLORTERM": "24BIT"]) == "tmux-direct")
        #expect(name(["COLORTERM": "truecolor"]) == "xterm-direct")
        #expect(name(["TERM": "xterm-direct", "COLORTERM": "truecolor"]) == nil)
        #expect(name(["TERM": "xterm-256color"]) == nil)
        #expect(name(["TERM": "xterm-256color", "COLORTERM": "truecolor", "NO_COLOR": "x"]) == nil)
        #expect(name(["TERM": "xterm-256color", "COLORTERM": "truecolor", "NO_COLOR": ""]) == "xterm-direct")
    }

    @Test("depth order and capping")
    func depth() {
        #expect(ColorMode.mono.depth < ColorMode.palette16.depth)
        #expect(ColorMode.palette16.depth < ColorMode.palette256.depth)
        #expect(ColorMode.palette256.depth < ColorMode.truecolor.depth)
        #expect(ColorMode.truecolor.capped(at: .palette16) == .palette16)
        #expect(ColorMode.mono.capped(at: .truecolor) == .mono)
    }
}
