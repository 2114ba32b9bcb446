import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A pseudo-terminal pair whose master side a thread plays as a terminal: it reads the queries the
/// program writes to the slave, notes whether the slave was in raw mode meanwhile, and answers
/// with scripted replies, one chunk at a time. The program under test uses the slave.
final class ScriptedTerminal: @unchecked Sendable {
    let master: Int32
    let slave: Int32
    private let lock = NSLock()
    private var receivedBytes: [UInt8] = []
    private var echoWhileAsked: Bool?
    private let finished = DispatchSemaphore(value: 0)

    /// A pair whose window is `columns`×`rows` cells and `pixels` (0×0: the terminal does not say).
    init(columns: Int = 80, rows: Int = 24, pixels: (width: Int, height: Int) = (0, 0)) throws {
        var master: Int32 = -1, slave: Int32 = -1
        var size = winsize(
            ws_row: UInt16(rows), ws_col: UInt16(columns), ws_xpixel: UInt16(pixels.width),
            ws_ypixel: UInt16(pixels.height))
        guard openpty(&master, &slave, nil, nil, &size) == 0 else { throw Failure.openpty(errno) }
        self.master = master
        self.slave = slave
    }

    enum Failure: Error { case openpty(Int32) }

    /// Starts the terminal: it reads until `expecting` bytes came (or 3 s passed), then writes
    /// each of `answers`, `pause` apart.
    func play(expecting: Int, answers: [[UInt8]], pause: Duration = .milliseconds(5)) {
        let thread = Thread { [self] in
            var got: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            let deadline = ContinuousClock.now + .seconds(3)
            while got.count < expecting && ContinuousClock.now < deadline {
                var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
                guard poll(&descriptor, 1, 50) > 0 else { continue }
                let n = chunk.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
                if n > 0 { got += chunk[0..<n] } else if n == 0 || errno != EINTR { break }
            }
            var attributes = termios()
            let echo = tcgetattr(slave, &attributes) == 0 ? attributes.c_lflag & tcflag_t(ECHO) != 0 : nil
            lock.withLock {
                receivedBytes = got
                echoWhileAsked = echo
            }
            for answer in answers {
                Thread.sleep(forTimeInterval: Double(pause.components.attoseconds) / 1e18 + Double(pause.components.seconds))
                answer.withUnsafeBytes { _ = write(master, $0.baseAddress, $0.count) }
            }
            finished.signal()
        }
        thread.start()
    }

    /// What the program wrote, and whether the slave echoed while the terminal was being asked;
    /// waits (at most 5 s) for the terminal to finish its script.
    func transcript() -> (received: [UInt8], echo: Bool?) {
        _ = finished.wait(timeout: .now() + 5)
        return lock.withLock { (receivedBytes, echoWhileAsked) }
    }

    /// The slave's termios, as raw bytes for an exact comparison.
    func slaveAttributes() -> [UInt8] {
        var attributes = termios()
        guard tcgetattr(slave, &attributes) == 0 else { return [] }
        return withUnsafeBytes(of: &attributes) { Array($0) }
    }

    func close() {
        Glibc.close(slave)
        Glibc.close(master)
    }
}

/// A tmux server on a private socket in /tmp (a path, as `$TMUX` names one), killed by `close`.
final class PrivateTmux {
    let socket = "/tmp/ddim-gfx-\(getpid())-\(UUID().uuidString.prefix(8))"

    init() throws {
        guard run(["new-session", "-d", "-x", "80", "-y", "24", "sleep 60"]) == 0 else { throw Failure.start }
    }

    enum Failure: Error { case start }

    /// `tmux -S socket -f /dev/null args`, its stdio on /dev/null (a server it starts keeps those,
    /// not ours); its exit status.
    @discardableResult
    func run(_ args: [String]) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // The server starts with nothing blocked: kill-server is a SIGTERM it sends itself, which
        // a mask inherited from the test runner would leave pending (and the server running).
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
        let argv = (["tmux", "-S", socket, "-f", "/dev/null"] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawnp(&pid, "tmux", &actions, &attributes, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : -1
    }

    /// `$TMUX` as tmux sets it for a pane of this server: socket, server pid, session.
    var environment: [String: String] { ["TMUX": "\(socket),1,0"] }

    func close() {
        run(["kill-server"])
        unlink(socket)
    }
}
