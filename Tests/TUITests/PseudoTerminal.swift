import Foundation
import Testing

/// A command on a pseudo-terminal of the test's own: every byte it writes, as a terminal gets
/// them (tmux would interpret, and drop, the pixel protocols), keys typed into it, and answers to
/// what it asks the terminal (``answer(_:with:)``). Killed on `close`.
final class PseudoTerminal: @unchecked Sendable {
    let master: Int32
    let pid: pid_t
    private let lock = NSLock()
    private var output: [UInt8] = []
    private var answers: [(query: [UInt8], reply: [UInt8], answered: Bool)] = []
    private var reader: Thread?
    private var exitStatus: Int32?
    /// Set when the reader has read everything the child's side wrote (it closed).
    private var drained = false

    /// Starts `arguments` (argv[0] a path) on a `columns`×`rows` terminal whose cells are
    /// `cellWidth`×`cellHeight` pixels (as the window size's pixels report them).
    init(_ arguments: [String], environment: [String: String], columns: Int = 100, rows: Int = 30,
         cellWidth: Int = 10, cellHeight: Int = 20, directory: String? = nil) throws {
        var (m, s): (Int32, Int32) = (-1, -1)
        var size = winsize(ws_row: UInt16(rows), ws_col: UInt16(columns), ws_xpixel: UInt16(columns * cellWidth), ws_ypixel: UInt16(rows * cellHeight))
        guard openpty(&m, &s, nil, nil, &size) == 0 else { throw PseudoTerminalError.openpty(errno) }
        master = m
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in 0...2 { posix_spawn_file_actions_adddup2(&actions, s, fd) }
        posix_spawn_file_actions_addclose(&actions, m)
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
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | Self.spawnSetSID))
        // in `directory`: GNU env's -C (glibc's addchdir_np is not visible to Swift)
        let command = directory.map { ["/usr/bin/env", "-C", $0] + arguments } ?? arguments
        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, command[0], &actions, &attributes, argv, envp)
        Glibc.close(s)
        guard rc == 0 else { Glibc.close(m); throw PseudoTerminalError.spawn(rc) }
        pid = child
        let thread = Thread { [unowned self] in self.readLoop() }
        reader = thread
        thread.start()
    }

    /// Reads until the child's side closes, answering queries as they arrive.
    private func readLoop() {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            lock.lock()
            output += chunk[0..<n]
            var replies: [UInt8] = []
            for i in answers.indices where !answers[i].answered && Self.find(answers[i].query, in: output) != nil {
                answers[i].answered = true
                replies += answers[i].reply
            }
            lock.unlock()
            if !replies.isEmpty { send(replies) }
        }
        lock.lock()
        drained = true
        lock.unlock()
    }

    /// Waits (up to `timeout` s) until the reader has everything the exited child wrote: its
    /// last bytes may still sit in the pty when waitpid reports the exit.
    private func waitDrained(timeout: Double = 2) {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            lock.lock()
            let done = drained
            lock.unlock()
            if done { return }
            usleep(5_000)
        }
    }

    /// From now on, once `query` has been written (anywhere in the output), `reply` is typed back,
    /// once: a terminal answering a probe.
    func answer(_ query: String, with reply: String) {
        lock.lock()
        answers.append((Array(query.utf8), Array(reply.utf8), false))
        lock.unlock()
    }

    /// Everything written so far.
    var bytes: [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        return output
    }

    /// Everything written so far, as text (invalid UTF-8 repaired).
    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Types `bytes` into the terminal.
    func send(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count, let base = raw.baseAddress {
                let n = write(master, base + offset, raw.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }

    /// Types `text`.
    func send(_ text: String) { send(Array(text.utf8)) }

    /// Waits until `condition` holds for the output (at most `timeout` seconds); whether it did.
    func wait(timeout: Double = 20, _ condition: ([UInt8]) -> Bool) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if condition(bytes) { return true }
            usleep(20_000)
        }
        return condition(bytes)
    }

    /// Waits until the output contains `text`.
    func wait(for text: String, timeout: Double = 20) -> Bool {
        let needle = Array(text.utf8)
        return wait(timeout: timeout) { Self.find(needle, in: $0) != nil }
    }

    /// The exit status once the child ended (nil: still running after `timeout` seconds).
    func waitExit(timeout: Double = 20) -> Int32? {
        if let exitStatus { return exitStatus }
        let end = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while Date() < end {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                // exited normally: its code; by a signal: 128 + the signal, as a shell says
                let code = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
                exitStatus = code
                waitDrained()
                return code
            }
            usleep(20_000)
        }
        return nil
    }

    /// Kills the child if it still runs, and closes the terminal.
    func close() {
        if waitExit(timeout: 0) == nil {
            kill(pid, SIGKILL)
            _ = waitExit(timeout: 5)
        }
        Glibc.close(master)
    }

    /// The index of the first occurrence of `needle` in `haystack` at or after `start`.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        var i = max(0, start)
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0] && Array(haystack[i..<i + needle.count]) == needle { return i }
            i += 1
        }
        return nil
    }

    /// Every index where `needle` occurs.
    static func all(_ needle: String, in haystack: [UInt8]) -> [Int] {
        let n = Array(needle.utf8)
        var found: [Int] = []
        var from = 0
        while let i = find(n, in: haystack, from: from) {
            found.append(i)
            from = i + 1
        }
        return found
    }

    enum PseudoTerminalError: Error { case openpty(Int32), spawn(Int32) }

    /// glibc's POSIX_SPAWN_SETSID (the child leads a session of its own, as under a terminal
    /// emulator), which Swift does not import.
    static let spawnSetSID: Int32 = 0x80
}
