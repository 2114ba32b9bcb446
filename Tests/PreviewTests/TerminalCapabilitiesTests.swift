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
