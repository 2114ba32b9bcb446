#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Asks the terminal which pixel protocols it speaks: writes ``TerminalQueries``, reads the
/// replies with ``TerminalReplies`` until the DA1 reply or a timeout. Call it before the TUI
/// takes the terminal (before `initscr`): the replies are read from the same input as keys.
public enum TerminalProbe {
    /// Writes the queries to `output`, reads `input` until the DA1 reply or `timeout`, and
    /// returns what the replies say. Never blocks longer than `timeout` (poll(2) with the time
    /// left, EINTR retried; end of file and errors end the read). If `input` is a terminal, its
    /// termios is set to raw (no echo, no canonical mode) for the probe and restored exactly
    /// after, on every exit. Never throws, never traps.
    ///
    /// Inside tmux (`$TMUX` set in `environment`) pass `passthrough` as ``TmuxGraphics`` allows:
    /// with it every query is wrapped for the outer terminal (see ``TerminalQueries/all(passthrough:kitty:)``);
    /// without it the kitty query is left out (tmux would show it as the pane's title) and tmux
    /// answers the rest itself (sixel where tmux is built with it).
    public static func probe(
        input: Int32, output: Int32, environment: [String: String],
        timeout: Duration = .milliseconds(250), passthrough: Bool = false
    ) -> GraphicsSupport {
        probeKeepingInput(
            input: input, output: output, environment: environment, timeout: timeout, passthrough: passthrough
        ).support
    }

    /// ``probe(input:output:environment:timeout:passthrough:)``, also giving back the bytes read
    /// that were no reply (keys typed during the probe), for the caller to hand on.
    public static func probeKeepingInput(
        input: Int32, output: Int32, environment: [String: String],
        timeout: Duration = .milliseconds(250), passthrough: Bool = false
    ) -> (support: GraphicsSupport, leftover: [UInt8]) {
        let deadline = ContinuousClock.now + timeout
        let size = windowSize(output) ?? windowSize(input)
        var replies = TerminalReplies()
        func result(_ why: String? = nil) -> (support: GraphicsSupport, leftover: [UInt8]) {
            var support = replies.support(environment: environment, windowPixels: size?.pixels, cells: size?.cells)
            if let why, support.best == .blocks { support.reason = why }
            return (support, replies.leftover)
        }

        // Raw for the probe: the replies must not echo, and must arrive before a newline.
        var saved = termios()
        let isTerminal = isatty(input) == 1 && tcgetattr(input, &saved) == 0
        if isTerminal {
            var raw = saved
            raw.c_lflag &= ~tcflag_t(ECHO | ICANON | IEXTEN)
            // VMIN 0, VTIME 0: a read returns what is there and never waits (poll does the waiting).
            withUnsafeMutableBytes(of: &raw.c_cc) { cc in
                cc[Int(VMIN)] = 0
                cc[Int(VTIME)] = 0
            }
            guard setAttributes(input, raw) else { return result("could not set the terminal to raw mode") }
        }
        defer { if isTerminal { _ = setAttributes(input, saved) } }

        let insideTmux = !(environment["TMUX"] ?? "").isEmpty
        let queries = TerminalQueries.all(passthrough: passthrough, kitty: passthrough || !insideTmux)
        guard writeAll(queries, to: output, before: deadline) else {
            return result("could not write the queries to the terminal")
        }

        var buffer = [UInt8](repeating: 0, count: 4096)
        var ended: String?  // why reading stopped before the DA1 reply, other than the timeout
        while !replies.complete && ended == nil {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { break }
            var descriptor = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, milliseconds(left))
            if ready < 0 {
                if errno != EINTR { ended = "poll failed: \(errorName(errno))" }
                continue
            }
            if ready == 0 { break }
            if descriptor.revents & Int16(POLLIN) == 0 {
                ended = descriptor.revents & Int16(POLLNVAL) != 0 ? "not an open descriptor" : "end of input"
                continue
            }
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count > 0 {
                replies.feed(buffer[0..<count])
            } else if count == 0 {
                ended = "end of input"
            } else if errno != EINTR && errno != EAGAIN {
                ended = "read failed: \(errorName(errno))"
            }
        }
        var outcome = result()
        if let ended, !replies.complete, outcome.support.best == .blocks, let reason = outcome.support.reason {
            outcome.support.reason = "\(reason) (\(ended))"
        }
        return outcome
    }

    private static func errorName(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// TIOCGWINSZ of `fd`: the cells, and the window's pixels when the terminal sets
    /// ws_xpixel/ws_ypixel (nil when either is 0). Nil when `fd` is no terminal or has no size.
    public static func windowSize(_ fd: Int32) -> (cells: (columns: Int, rows: Int), pixels: PixelSize?)? {
        var size = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 else { return nil }
        let pixels =
            size.ws_xpixel > 0 && size.ws_ypixel > 0
            ? PixelSize(width: Int(size.ws_xpixel), height: Int(size.ws_ypixel)) : nil
        return ((Int(size.ws_col), Int(size.ws_row)), pixels)
    }

    // MARK: - Helpers

    private static func setAttributes(_ fd: Int32, _ attributes: termios) -> Bool {
        var attributes = attributes
        while tcsetattr(fd, TCSANOW, &attributes) != 0 {
            if errno != EINTR { return false }
        }
        return true
    }

    /// Writes all of `bytes`, waiting (poll) on a full non-blocking descriptor until `deadline`.
    private static func writeAll(_ bytes: [UInt8], to fd: Int32, before deadline: ContinuousClock.Instant) -> Bool {
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                written += count
                continue
            }
            if count < 0 && errno == EINTR { continue }
            guard count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) else { return false }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return false }
            var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            if poll(&descriptor, 1, milliseconds(left)) < 0 && errno != EINTR { return false }
        }
        return true
    }

    /// `duration` in whole milliseconds, rounded up (so a poll never ends before the deadline),
    /// at least 1 and at most a minute.
    private static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        guard seconds < 60 else { return 60_000 }
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(max(1, min(ms, 60_000)))
    }
}
