import Foundation
import Testing

/// A tmux server on a private socket running one command at a fixed size; killed on `close`.
final class TmuxSession {
    let socket = "ddim-test-\(getpid())-\(UUID().uuidString.prefix(8))"

    @discardableResult
    func tmux(_ args: [String]) throws -> String {
        // posix_spawn + waitpid rather than Foundation's Process: the tmux client that starts a
        // server leaves it holding the inherited descriptors, and Process never saw the client end.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(socket)-\(UUID().uuidString).out")
        defer { try? FileManager.default.removeItem(at: file) }
        let argv = ["tmux", "-L", socket, "-f", "/dev/null"] + args
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, file.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // Children start with no blocked signals and default handlers, whatever this test
        // process has (a blocked SIGWINCH would reach the app through tmux and hide resizes).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let rc = posix_spawnp(&pid, "tmux", &actions, &attributes, cArgs, environ)
        guard rc == 0 else { throw TmuxError.spawn(rc) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return Self.readAll(file.path)
    }

    /// The file's bytes as UTF-8, read with open/read: Foundation's `String(contentsOf:)` leaks
    /// its buffer when the file is empty (LeakSanitizer, docs/reliability.md), as tmux's output
    /// often is.
    static func readAll(_ path: String) -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return "" }
        defer { Glibc.close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    enum TmuxError: Error { case spawn(Int32) }

    /// Starts `command` (run by sh in `directory`) in a detached session of `columns`×`rows`.
    init(_ command: String, directory: String, columns: Int = 120, rows: Int = 40) throws {
        try tmux(["new-session", "-d", "-x", "\(columns)", "-y", "\(rows)", "-c", directory, command])
        try tmux(["set-option", "-g", "remain-on-exit", "on"])
    }

    /// Types keys (tmux key names: "q", "Space", "C-c", …).
    func send(_ keys: String...) throws { try tmux(["send-keys", "-t", "0"] + keys) }

    /// The screen's text, or with colours (`-e`: SGR escapes).
    func screen(colours: Bool = false) throws -> String {
        try tmux(["capture-pane", "-p", "-t", "0"] + (colours ? ["-e"] : []))
    }

    /// The screen with colours once it has stopped changing: a frame's truecolour tiles follow
    /// its ncurses output, so a screen read just as a frame lands can be half of one — read
    /// until two reads 0.1 s apart agree (at most 5 s).
    func settledScreen() throws -> String {
        var last = try screen(colours: true)
        for _ in 0..<50 {
            Thread.sleep(forTimeInterval: 0.1)
            let now = try screen(colours: true)
            if now == last { break }
            last = now
        }
        return last
    }

    /// What a `capture-pane -e` screen shows, one line per row, each cell as its glyph, its
    /// background, and its foreground where one can be seen: tmux keeps the foreground of a blank
    /// cell as the last one set, which ddim leaves alone for a space on a coloured background (it
    /// writes no foreground it does not need), so two equal-looking screens may differ there.
    static func visible(_ screen: String) -> [String] {
        screen.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            var (fg, bg, attributes) = ("", "", Set<Int>())
            var out = ""
            var rest = Substring(line)
            while let first = rest.first {
                if first == "\u{1B}", let m = rest.prefixMatch(of: /\u{1B}\[([0-9;:]*)m/) {
                    let params = m.1.split(whereSeparator: { $0 == ";" || $0 == ":" }).map { Int($0) ?? 0 }
                    var i = 0
                    if params.isEmpty { (fg, bg, attributes) = ("", "", []) }
                    while i < params.count {
                        switch params[i] {
                        case 0: (fg, bg, attributes) = ("", "", [])
                        case 38, 48:
                            // 38;2;r;g;b or 38;5;n
                            let n = i + 1 < params.count && params[i + 1] == 2 ? 5 : 3
                            let value = params[i..<min(i + n, params.count)].map(String.init).joined(separator: ",")
                            if params[i] == 38 { fg = value } else { bg = value }
                            i += n - 1
                        case 39: fg = ""
                        case 49: bg = ""
                        case 30...37, 90...97: fg = "\(params[i])"
                        case 40...47, 100...107: bg = "\(params[i])"
                        case let a: attributes.insert(a)
                        }
                        i += 1
                    }
                    rest = rest[m.range.upperBound...]
                    continue
                }
                // a space shows its foreground only underlined or reversed
                let seen = first != " " || attributes.contains(4) || attributes.contains(7)
                out += "\(first)[\(bg)|\(seen ? fg : "")|\(attributes.sorted())]"
                rest = rest.dropFirst()
            }
            return out
        }
    }

    /// The screen for a failure message.
    func dump(colours: Bool = false) -> String { (try? screen(colours: colours)) ?? "(no screen)" }

    /// A tmux format of the pane, e.g. "#{alternate_on}".
    func format(_ f: String) throws -> String {
        try tmux(["display-message", "-p", "-t", "0", f]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func resize(columns: Int, rows: Int) throws {
        try tmux(["resize-window", "-t", "0", "-x", "\(columns)", "-y", "\(rows)"])
    }

    /// Polls the screen until `predicate` holds (true) or `timeout` seconds pass (false).
    @discardableResult
    func wait(timeout: Double = 10, colours: Bool = false, _ predicate: (String) -> Bool) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if predicate(try screen(colours: colours)) { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    /// Kills the server and removes its socket, which tmux leaves behind in its folder
    /// (`$TMUX_TMPDIR` or /tmp, then tmux-UID) when the server exits.
    func close() {
        let asked = (try? tmux(["display-message", "-p", "#{socket_path}"]))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let folder = ProcessInfo.processInfo.environment["TMUX_TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        _ = try? tmux(["kill-server"])
        unlink(asked.isEmpty ? "\(folder)/tmux-\(getuid())/\(socket)" : asked)
    }
}
