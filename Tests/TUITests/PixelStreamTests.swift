import Foundation
import Testing

/// The live sampler drawing real pixels, read as the raw byte stream a terminal gets: each forced
/// protocol, the automatic detection against a terminal that answers and one that stays silent,
/// `g` switching, and what quitting leaves. The model is the tiny pipeline fixture (16×16 RGB).
@Suite("Pixel protocols on a pseudo-terminal", .serialized)
final class PixelStreamTests {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-pixels-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: work) }

    /// `ddim ARGS` on a 100×30 pseudo-terminal of 10×20-pixel cells.
    func start(_ args: [String], environment extra: [String: String] = [:]) throws -> PseudoTerminal {
        let model = fixtures.appendingPathComponent("pipeline/tiny").path
        let environment = ["TERM": "xterm-256color", "LANG": "C.UTF-8", "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                           "HOME": work.path].merging(extra) { $1 }
        return try PseudoTerminal([ddimBinary, "--model", model] + args, environment: environment, directory: work.path)
    }

    /// Where each picture of `intro` starts: the index of its introducer.
    func pictures(_ intro: String, in bytes: [UInt8]) -> [Int] { PseudoTerminal.all(intro, in: bytes) }

    /// The introducer of a picture in each protocol.
    static let intros = ["kitty": "\u{1B}_Ga=T", "sixel": "\u{1B}P", "iterm": "\u{1B}]1337;File=inline=1"]

    @Test("a forced protocol draws every tile as a picture at its cell, and quitting removes them", arguments: ["kitty", "sixel", "iterm"])
    func forced(graphics: String) throws {
        let t = try start(["--graphics", graphics, "--steps", "20", "--pace", "0", "--batch", "2", "--seed", "3"])
        defer { t.close() }
        let intro = try #require(Self.intros[graphics])
        #expect(t.wait(for: intro), "no \(graphics) picture in \(t.text.suffix(400).debugDescription)")
        #expect(t.wait(for: "\(graphics) pixels"), "the title names the protocol")
        // the run ends: both tiles' last pictures are out
        #expect(t.wait(for: " steps in "), "the run ends")
        usleep(300_000)
        let drawn = t.bytes
        let starts = pictures(intro, in: drawn)
        #expect(starts.count >= 2)
        for start in starts {
            // each picture is placed: DECSC, CUP inside the tile area (row ≥ 2, column ≥ 3), then the picture
            let before = String(decoding: drawn[max(0, start - 16)..<start], as: UTF8.self)
            let place = try #require(before.range(of: "\u{1B}7\u{1B}[", options: .backwards), "\(before.debugDescription)")
            let cup = before[place.upperBound...].dropLast()  // "row;column" before the final H
            let numbers = cup.split(separator: ";").compactMap { Int($0) }
            #expect(numbers.count == 2 && numbers[0] >= 2 && numbers[1] >= 3, "\(before.debugDescription)")
            #expect(before.hasSuffix("H"))
        }
        if graphics == "kitty" {
            // two tiles, two image ids; replies suppressed; the cursor stays
            let commands = PseudoTerminal.all("\u{1B}_Ga=T", in: drawn).map { String(decoding: drawn[$0..<min(drawn.count, $0 + 120)], as: UTF8.self) }
            #expect(commands.contains { $0.contains("i=1,") } && commands.contains { $0.contains("i=2,") })
            #expect(commands.allSatisfy { $0.contains("q=2") && $0.contains("C=1") })
        }
        if graphics == "sixel" {
            // every sixel ends with ST
            let ends = PseudoTerminal.all("\u{1B}\\", in: drawn)
            #expect(starts.allSatisfy { s in ends.contains { $0 > s } })
        }
        t.send("q")
        #expect(t.waitExit() == 0)
        // the end: after the last picture (a frame may still have been on its way when q came),
        // kitty's images are deleted, sixel's and iTerm2's cleared with the screen
        let all = t.bytes
        let last = try #require(pictures(intro, in: all).last)
        let after = Array(all[last...])
        if graphics == "kitty" {
            #expect(PseudoTerminal.find(Array("\u{1B}_Ga=d,d=A".utf8), in: after) != nil, "kitty's images deleted at the end")
        } else {
            #expect(PseudoTerminal.find(Array("\u{1B}[2J".utf8), in: after) != nil, "the screen cleared of \(graphics) pixels at the end")
        }
    }

    @Test("kitty's Unicode placeholders (as inside tmux): virtual placements, and each tile's cells are U+10EEEE in its id's colour")
    func placeholders() throws {
        let t = try start(["--graphics", "kitty", "--steps", "20", "--pace", "0", "--batch", "2", "--seed", "3"],
                          environment: ["DDIM_KITTY_PLACEHOLDERS": "1"])
        defer { t.close() }
        #expect(t.wait(for: "\u{1B}_Ga=T"))
        #expect(t.wait(for: " steps in "), "the run ends")
        usleep(300_000)
        let drawn = t.bytes
        let commands = PseudoTerminal.all("\u{1B}_Ga=T", in: drawn).map { String(decoding: drawn[$0..<min(drawn.count, $0 + 120)], as: UTF8.self) }
        #expect(!commands.isEmpty && commands.allSatisfy { $0.contains("U=1") && !$0.contains("C=1") }, "\(commands)")
        let text = String(decoding: drawn, as: UTF8.self)
        // the top-left cell of tile 1 and of tile 2: the id as the colour, row 0 and column 0 as marks
        for id in [1, 2] {
            let first = ["38;2;0;0;\(id)m", "38;2;0;0;\(id);49m"].map { $0 + "\u{10EEEE}\u{0305}\u{0305}" }
            #expect(first.contains { text.contains($0) }, "tile \(id)'s first placeholder cell")
        }
        t.send("q")
        #expect(t.waitExit() == 0)
    }

    @Test("g switches kitty pictures to blocks (deleting them) and back")
    func switching() throws {
        let t = try start(["--graphics", "kitty", "--steps", "1000", "--pace", "50"])
        defer { t.close() }
        #expect(t.wait(for: "\u{1B}_Ga=T"))
        let before = t.bytes.count
        t.send("g")
        #expect(t.wait { PseudoTerminal.find(Array("\u{1B}_Ga=d,d=A".utf8), in: Array($0[before...])) != nil }, "g deletes the pictures")
        #expect(t.wait { PseudoTerminal.find(Array("▀".utf8), in: Array($0[before...])) != nil }, "blocks drawn instead")
        let blocksAt = t.bytes.count
        usleep(300_000)
        #expect(pictures("\u{1B}_Ga=T", in: Array(t.bytes[blocksAt...])).isEmpty, "no pictures while blocks are chosen")
        let back = t.bytes.count
        t.send("g")
        #expect(t.wait { pictures("\u{1B}_Ga=T", in: Array($0[back...])).count > 0 }, "g again: pictures again")
        t.send("q")
        #expect(t.waitExit() == 0)
    }

    @Test("auto asks the terminal: kitty's OK gives kitty pictures, DA1's sixel attribute gives sixel")
    func detected() throws {
        let kitty = try start(["--steps", "10", "--pace", "0"])
        kitty.answer("\u{1B}[c", with: "\u{1B}_Gi=31;OK\u{1B}\\\u{1B}[?62;22c")
        defer { kitty.close() }
        #expect(kitty.wait(for: "\u{1B}_Ga=T"), "\(kitty.text.suffix(300).debugDescription)")
        // the probe asked kitty's question before DA1
        let asked = kitty.bytes
        let query = try #require(PseudoTerminal.find(Array("\u{1B}_Gi=31".utf8), in: asked))
        let da1 = try #require(PseudoTerminal.find(Array("\u{1B}[c".utf8), in: asked))
        #expect(query < da1)
        kitty.send("q")
        #expect(kitty.waitExit() == 0)

        let sixel = try start(["--steps", "10", "--pace", "0"])
        sixel.answer("\u{1B}[c", with: "\u{1B}[?63;1;2;4;6;9;15;22c")
        defer { sixel.close() }
        #expect(sixel.wait(for: "sixel pixels"), "\(sixel.text.suffix(300).debugDescription)")
        sixel.send("q")
        #expect(sixel.waitExit() == 0)
    }

    @Test("auto on a terminal that never answers: blocks, after a short wait, and no answer leaks in as keys")
    func silent() throws {
        let started = Date()
        let t = try start(["--steps", "10", "--pace", "0"])
        defer { t.close() }
        #expect(t.wait(for: "▀", timeout: 10), "blocks drawn")
        #expect(Date().timeIntervalSince(started) < 5)
        // a late answer arrives now, as typed bytes: it is swallowed, not read as keys (`_` would
        // take a sample away, digits would change the steps)
        t.send("\u{1B}_Gi=31;OK\u{1B}\\\u{1B}[?63;1;2;4;6;9;15;22c")
        usleep(300_000)
        t.send("g")
        #expect(t.wait(for: "blocks: "), "g says why there are no pixels")
        #expect(!t.text.contains("steps 1000") && !t.text.contains("steps 100 "), "no digit of the answer set the steps")
        t.send("q")
        #expect(t.waitExit() == 0)
    }

    @Test("sample --preview draws the grid in the forced protocol, also into a pipe; auto into a pipe says why not")
    func samplePreview() throws {
        let model = fixtures.appendingPathComponent("pipeline/tiny").path
        func sample(_ extra: [String]) throws -> (out: String, err: String, status: Int32) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: ddimBinary)
            p.arguments = ["sample", "--model", model, "--steps", "3", "--batch", "2", "--out", work.appendingPathComponent("g.png").path] + extra
            let (out, err) = (Pipe(), Pipe())
            (p.standardOutput, p.standardError) = (out, err)
            try p.run()
            let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self), p.terminationStatus)
        }
        for (graphics, intro) in Self.intros {
            let r = try sample(["--preview", "--graphics", graphics, "-q"])
            #expect(r.status == 0 && r.out.contains(intro), "\(graphics): \(r.err)")
        }
        let blocks = try sample(["--preview", "--graphics", "blocks", "-q"])
        #expect(blocks.status == 0 && blocks.out.contains("▀"))
        let auto = try sample(["--preview"])
        #expect(auto.status == 0 && auto.out.isEmpty && auto.err.contains("standard output is not a terminal"))
        let bad = try sample(["--preview", "--graphics", "png"])
        #expect(bad.status != 0 && bad.err.contains("--graphics"))
        let alone = try sample(["--graphics", "kitty"])
        #expect(alone.status != 0 && alone.err.contains("add --preview"))
    }
}
