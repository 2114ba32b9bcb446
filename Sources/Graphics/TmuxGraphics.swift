#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whether tmux lets this pane's escape sequences through to the outer terminal.
public enum TmuxPassthrough: Equatable, Sendable {
    /// Not inside tmux (`$TMUX` unset or empty).
    case notTmux
    /// tmux passes sequences wrapped with ``TerminalQueries/tmuxWrapped(_:)`` through.
    case allowed
    /// tmux will not pass them through, or could not be asked; `reason` says why and what to do.
    case refused(reason: String)
}

/// Asks tmux about passthrough (`allow-passthrough`, tmux ≥ 3.3, off by default).
public enum TmuxGraphics {
    /// How long one tmux command may take before it is killed and counted as no answer.
    static let commandTimeout: Duration = .seconds(1)

    /// Inside tmux (`$TMUX` set), whether tmux passes escape sequences through: asks the server
    /// that `$TMUX` names (`tmux -S <socket> show -gv allow-passthrough`, then the pane's own value,
    /// `show -pv -t $TMUX_PANE`, which wins when set). `on` or `all` is ``TmuxPassthrough/allowed``;
    /// `off`, a server that does not answer (within a second per command) or an unexpected answer
    /// is ``TmuxPassthrough/refused(reason:)`` with the fix. A tmux older than 3.3 has no such
    /// option and passes sequences through always: allowed. Outside tmux: ``TmuxPassthrough/notTmux``.
    public static func passthrough(environment: [String: String]) -> TmuxPassthrough {
        guard let tmux = environment["TMUX"], !tmux.isEmpty else { return .notTmux }
        // $TMUX is "socket,server pid,session index".
        let socket = String(tmux.split(separator: ",", omittingEmptySubsequences: false).first ?? "")
        guard !socket.isEmpty else { return .refused(reason: "$TMUX (\(tmux)) names no tmux socket") }

        let global = run(["-S", socket, "show-options", "-gv", "allow-passthrough"])
        guard global.status == 0 else {
            if global.error.contains("invalid option") || global.error.contains("unknown option") {
                return olderTmux(socket: socket)
            }
            let said = global.error.isEmpty ? "" : " (\(global.error))"
            return .refused(reason: "tmux did not say whether it allows passthrough\(said)")
        }
        var value = global.output
        if let pane = environment["TMUX_PANE"], !pane.isEmpty {
            let own = run(["-S", socket, "show-options", "-pv", "-t", pane, "allow-passthrough"])
            if own.status == 0 && !own.output.isEmpty { value = own.output }
        }
        switch value {
        case "on", "all":
            return .allowed
        case "off":
            return .refused(
                reason: "tmux's allow-passthrough is off: run `tmux set -g allow-passthrough on` for pixels in tmux")
        default:
            return .refused(reason: "tmux's allow-passthrough is \"\(value)\", not on")
        }
    }

    /// Inside tmux: the top-left cell of this pane (`$TMUX_PANE`) in the outer terminal, where a
    /// picture passed through is placed (the outer terminal's cursor is not the pane's); nil
    /// outside tmux or when tmux does not say.
    public static func paneOffset(environment: [String: String]) -> (row: Int, column: Int)? {
        guard let tmux = environment["TMUX"], !tmux.isEmpty,
              let socket = tmux.split(separator: ",", omittingEmptySubsequences: false).first.map(String.init), !socket.isEmpty
        else { return nil }
        let target = environment["TMUX_PANE"].map { ["-t", $0] } ?? []
        let answer = run(["-S", socket, "display-message", "-p"] + target + ["#{pane_top} #{pane_left}"])
        let numbers = answer.output.split(separator: " ").compactMap { Int($0) }
        guard answer.status == 0, numbers.count == 2, numbers.allSatisfy({ (0...100_000).contains($0) }) else { return nil }
        return (numbers[0], numbers[1])
    }

    /// Inside tmux: the outer terminal as tmux knows it from its own XTVERSION query
    /// (`#{client_termtype}`: "kitty(0.35.2)"); nil outside tmux, or when tmux does not say.
    public static func outerTerminal(environment: [String: String]) -> String? {
        guard let tmux = environment["TMUX"], !tmux.isEmpty,
              let socket = tmux.split(separator: ",", omittingEmptySubsequences: false).first.map(String.init), !socket.isEmpty
        else { return nil }
        let target = environment["TMUX_PANE"].map { ["-t", $0] } ?? []
        let answer = run(["-S", socket, "display-message", "-p"] + target + ["#{client_termtype}"])
        guard answer.status == 0, !answer.output.isEmpty, answer.output.count < 200 else { return nil }
        return answer.output
    }

    /// tmux does not know `allow-passthrough`: before 3.3 passthrough needed no option.
    private static func olderTmux(socket: String) -> TmuxPassthrough {
        let version = run(["-S", socket, "-V"]).output  // "tmux 3.2a"
        let number = version.split(separator: " ").last.map(String.init) ?? ""
        let parts = number.split(separator: ".").map { Int($0.prefix { $0.isNumber }) }
        if parts.count >= 2, let major = parts[0], let minor = parts[1], (major, minor) < (3, 3) {
            return .allowed
        }
        return .refused(reason: "tmux (\(version.isEmpty ? "version unknown" : version)) does not know allow-passthrough")
    }

    // MARK: - Running tmux

    /// Runs `tmux arguments` with stdin /dev/null; its stdout and stderr, trimmed, and its exit
    /// status (-1 when it could not start or was killed after ``commandTimeout``).
    static func run(_ arguments: [String]) -> (status: Int32, output: String, error: String) {
        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        guard pipe(&outPipe) == 0 else { return (-1, "", "no pipe") }
        guard pipe(&errPipe) == 0 else {
            close(outPipe[0])
            close(outPipe[1])
            return (-1, "", "no pipe")
        }
        // Not inherited by anything else this process starts (the child gets its copies by dup2).
        for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        // The child starts with default signal handling and nothing blocked, whatever ours are.
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

        let argv = (["tmux"] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, "tmux", &actions, &attributes, argv, environ)
        close(outPipe[1])
        close(errPipe[1])
        defer {
            close(outPipe[0])
            close(errPipe[0])
        }
        guard spawned == 0 else { return (-1, "", "could not run tmux (\(String(cString: strerror(spawned))))") }

        // Read both pipes until the child has exited and they are drained, or the time is up.
        let deadline = ContinuousClock.now + commandTimeout
        var output: [UInt8] = [], error: [UInt8] = []
        var open = [true, true]
        var status: Int32 = 0
        var exited = false
        var chunk = [UInt8](repeating: 0, count: 4096)
        while open.contains(true) {
            if !exited && waitpid(pid, &status, WNOHANG) == pid { exited = true }
            let left = deadline - ContinuousClock.now
            if left <= .zero { break }
            var descriptors = [
                pollfd(fd: open[0] ? outPipe[0] : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: open[1] ? errPipe[0] : -1, events: Int16(POLLIN), revents: 0),
            ]
            // Short slices: a server the command started could keep the pipes open after it exits.
            let slice: Int32 = exited ? 0 : 20
            let ready = poll(&descriptors, 2, slice)
            if ready < 0 && errno != EINTR { break }
            if ready == 0 && exited { break }
            for index in 0..<2 where open[index] && descriptors[index].revents != 0 {
                let fd = index == 0 ? outPipe[0] : errPipe[0]
                let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    if index == 0 { output += chunk[0..<count].prefix(65_536 - output.count) }
                    else { error += chunk[0..<count].prefix(65_536 - error.count) }
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    open[index] = false
                }
            }
        }
        // The pipes closed as the child exits: give it until the deadline to be reaped.
        while !exited && ContinuousClock.now < deadline {
            if waitpid(pid, &status, WNOHANG) == pid { exited = true } else { usleep(2_000) }
        }
        if !exited {
            kill(pid, SIGKILL)
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            return (-1, text(output), "tmux did not answer within \(commandTimeout)")
        }
        let code: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : -1  // WIFEXITED, WEXITSTATUS
        return (code, text(output), text(error))
    }

    /// The bytes as text without leading and trailing spaces and newlines.
    private static func text(_ bytes: [UInt8]) -> String {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }),
            let last = bytes.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
