import Foundation
import Preview
import Testing
import TUI

@Suite("Layout, themes and keys")
struct LayoutThemeTests {
    @Test("tiles fit the screen, do not overlap and keep the image's aspect")
    func layout() {
        for (cols, rows, count) in [(120, 40, 4), (80, 24, 1), (200, 60, 16), (40, 12, 3), (60, 20, 8)] {
            let l = Layout(columns: cols, rows: rows, count: count, sourceWidth: 32, sourceHeight: 32, blitter: .half)
            #expect(l.tiles.count == count, "\(cols)×\(rows)")
            for t in l.tiles {
                #expect(t.column >= 1 && t.column + t.geometry.columns + 2 <= cols - 1)
                #expect(t.row >= 1 && t.row + t.geometry.rows + 2 <= l.progressRow)
                // half blocks: 1×2 pixels a cell, so a square image has columns = 2 × rows ± 1
                #expect(abs(t.geometry.columns - 2 * t.geometry.rows) <= 1)
            }
            for (a, b) in zip(l.tiles, l.tiles.dropFirst()) where a.row == b.row {
                #expect(a.column + a.geometry.columns + 2 <= b.column)
            }
        }
        #expect(Layout(columns: 39, rows: 30, count: 1, sourceWidth: 32, sourceHeight: 32, blitter: .half).tooSmall)
        #expect(Layout(columns: 80, rows: 11, count: 1, sourceWidth: 32, sourceHeight: 32, blitter: .half).tooSmall)
    }

    @Test("bundled theme files parse, with every element")
    func bundled() throws {
        let folder = repository.appendingPathComponent("themes")
        for name in ["dusk", "paper", "contrast"] {
            let theme = try Theme.load(file: folder.appendingPathComponent("\(name).theme"))
            #expect(theme.name == name)
            for e in Theme.Element.allCases where e != .background || name != "dusk" {
                #expect(theme.colors[e] != nil, "\(name): \(e)")
            }
        }
    }

    @Test("a bad theme line is an error naming the file and line", arguments: [
        ("border = #12345", 1, "'#12345' is not a #rrggbb colour"),
        ("title = #ffffff 300", 1, "'300' is not a 256-colour index"),
        ("\n\nsparkle = #ffffff", 3, "unknown element 'sparkle'"),
        ("text = #ffffff 15 purple", 1, "'purple' is not a 16-colour name"),
        ("colormap = jet", 1, "unknown colormap 'jet'"),
        ("just words", 1, "expected 'element = colour'"),
    ])
    func badTheme(text: String, line: Int, message: String) {
        let e = #expect(throws: ThemeError.self) { try Theme.parse(text, name: "t", file: "t.theme") }
        #expect(e?.line == line)
        #expect(e?.description.hasPrefix("t.theme:\(line): ") == true)
        #expect(e?.reason.contains(message) == true, "\(e?.reason ?? "")")
    }

    @Test("colours per depth: truecolor hex, 256 and 16 fallbacks, default")
    func colours() throws {
        let t = try Theme.parse("title = #ff0000 160 bright-red\nbackground = default", name: "t", file: "t")
        #expect(t[.title].number(for: .truecolor) == 0xFF0000)
        #expect(t[.title].number(for: .palette256) == 160)
        #expect(t[.title].number(for: .palette16) == 9)
        #expect(t[.background].number(for: .truecolor) == -1)
        #expect(t[.text].number(for: .palette16) == -1)
    }

    @Test("docs/keys.md lists every key binding of the help")
    func keysDocumented() throws {
        let doc = try String(contentsOf: repository.appendingPathComponent("docs/keys.md"), encoding: .utf8)
        for b in KeyBindings.all {
            #expect(doc.contains("| `\(b.label)` | \(b.help) |"), "\(b.label)")
        }
        // every key maps to exactly one action
        var seen: Set<Character> = []
        for b in KeyBindings.all { for k in b.keys { #expect(seen.insert(k).inserted, "\(k) bound twice") } }
    }
}

@Suite("The fine grey ramp")
struct GreyRampTests {
    @Test("slots avoid the theme's colours, span black to white, and map greys evenly")
    func ramp() throws {
        let ramp = try #require(GreyRamp(levels: 64, reserved: [16, 17, 59, 180]))
        #expect(ramp.slots.count == 64)
        #expect(!ramp.slots.contains(16) && !ramp.slots.contains(17) && !ramp.slots.contains(59))
        #expect(ramp.slots.allSatisfy { (16...231).contains($0) })
        #expect(ramp.intensity(0) == 0 && ramp.intensity(63) == 1000)
        #expect(ramp.slot(grey: 0) == ramp.slots[0] && ramp.slot(grey: 255) == ramp.slots[63])
        #expect(ramp.slot(grey: 128) == ramp.slots[32])
        #expect(GreyRamp(levels: 300, reserved: []) == nil)
    }
}
