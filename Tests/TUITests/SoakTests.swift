import Foundation
import Testing
import TUI

/// A soak in a real terminal: random keys (every binding, arrows, resizes, the open prompt) typed
/// into `ddim` on the embedded model for DDIM_SOAK_SECONDS (default 120; 1800 for the long run,
/// docs/reliability.md). It must not crash, its resident memory must grow by less than 10 % after
/// the first half (the first minute on long runs), and quitting must restore the terminal.
@Suite("Soak: random keys in tmux", .serialized)
final class SoakTests {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-soak-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: work) }

    /// Resident set of a process in kB (VmRSS), or nil once it is gone.
    func rss(_ pid: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }

    @Test("random keys for DDIM_SOAK_SECONDS: no crash, memory flat, terminal restored")
    func soak() throws {
        let seconds = Double(ProcessInfo.processInfo.environment["DDIM_SOAK_SECONDS"] ?? "") ?? 120
        let command = "env -u NO_COLOR -u COLORTERM TERM=tmux-256color LANG=C.UTF-8 \(ddimBinary) --steps 20 --threads 1; echo EXIT=$?; sleep 120"
        let t = try TmuxSession(command, directory: work.path, columns: 110, rows: 34)
        defer { t.close() }
        #expect(try t.wait(timeout: 20) { $0.contains("digits") }, "\(t.dump())")
        // the pane runs sh → ddim
        let shell = try t.format("#{pane_pid}")
        let children = (try? String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)) ?? ""
        let pid = try #require(children.split(separator: " ").first.map(String.init), "no ddim under the pane's shell")

        // every key of the table but quit, as tmux names them, plus arrows and specials
        var keys: [String] = KeyBindings.all.filter { $0.action != .quit && $0.action != .open }.flatMap { b in
            b.keys.map { $0 == " " ? "Space" : String($0) }
        }
        keys += ["Left", "Right", "Up", "Down", "Enter", "Escape", "BSpace", "x", "Z"]
        var state: UInt64 = 2026
        func roll(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33) % n
        }
        let sizes = [(110, 34), (80, 24), (60, 16), (30, 8), (140, 45)]
        let start = Date()
        var baseline: Int?
        var peak = 0, presses = 0
        var samples: [(Double, Int)] = []
        while Date().timeIntervalSince(start) < seconds {
            let elapsed = Date().timeIntervalSince(start)
            switch roll(40) {
            case 0:
                let (c, r) = sizes[roll(sizes.count)]
                try t.resize(columns: c, rows: r)
            case 1:
                // the open prompt: a path that does not exist, then Enter or Escape
                try t.send("o")
                try t.send("-l", "no/such/\(roll(100)).png")
                try t.send(roll(2) == 0 ? "Enter" : "Escape")
            case 2:
                // keep the batch small: memory then measures leaks, not batch size
                try t.send("-", "-", "-")
            default:
                var key = keys[roll(keys.count)]
                if key == "+" || key == "=" { key = "-" }
                try t.send(key)
            }
            presses += 1
            Thread.sleep(forTimeInterval: 0.04)
            if presses % 25 == 0 {
                guard let kb = rss(pid) else { Issue.record("ddim is gone after \(presses) keys: \(t.dump())"); return }
                samples.append((elapsed, kb))
                if baseline == nil && elapsed >= min(60, seconds / 2) { baseline = kb }
                if baseline != nil { peak = max(peak, kb) }
            }
        }
        try t.resize(columns: 110, rows: 34)
        try t.send("Escape")
        try t.send("q")
        #expect(try t.wait(timeout: 20) { $0.contains("EXIT=0") }, "\(t.dump())")
        #expect(try t.format("#{alternate_on}") == "0")
        #expect(try t.format("#{cursor_flag}") == "1")
        let base = try #require(baseline)
        #expect(Double(peak) <= Double(base) * 1.10, "RSS \(base) kB at \(min(60, seconds / 2)) s, peak \(peak) kB after")
        // the curve, for docs/reliability.md
        let curve = samples.enumerated().filter { $0.offset % max(1, samples.count / 12) == 0 }
            .map { String(format: "%.0fs:%dMB", $0.element.0, $0.element.1 / 1024) }.joined(separator: " ")
        print("soak: \(presses) keys in \(Int(seconds)) s; RSS \(curve)")
    }
}
