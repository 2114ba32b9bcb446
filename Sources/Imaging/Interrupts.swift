#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import Foundation

/// The temporary file an ``AtomicFile`` write has in flight, readable from a signal handler:
/// a NUL-terminated path in memory allocated once, empty (first byte 0) when none.
nonisolated(unsafe) private let pendingPath: UnsafeMutablePointer<CChar> = {
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: Interrupts.pathCapacity + 1)
    p.initialize(repeating: 0, count: Interrupts.pathCapacity + 1)
    return p
}()

/// Serialises writers of ``pendingPath`` (the signal handler only reads it).
private let pendingLock = NSLock()

/// Signal handling for the headless commands, so that no signal leaves a half-written file.
///
/// - SIGINT, SIGTERM and SIGHUP remove the temporary file of the write in flight (if any), then
///   end the process by the same signal (the exit status says which).
/// - SIGPIPE is ignored: a write to a closed pipe then fails with `EPIPE`, which the caller
///   reports (``StandardOutput``), instead of killing the process without a word.
public enum Interrupts {
    /// The longest temporary path that can be cleaned up on a signal.
    static let pathCapacity = 4095

    /// Installs the handlers (once per process; the live sampler installs its own instead).
    public static func installForHeadless() {
        signal(SIGPIPE, SIG_IGN)
        // A parent may have left these blocked (they would then wait, pending, forever).
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, onTerminatingSignal)
            sigaddset(&unblock, sig)
        }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    }

    /// Records `path` as the write in flight; returns false when another write already holds the
    /// slot or the path is too long (that write is then not cleaned up on a signal).
    static func register(_ path: [CChar]) -> Bool {
        pendingLock.lock()
        defer { pendingLock.unlock() }
        let length = path.firstIndex(of: 0) ?? path.count
        guard pendingPath[0] == 0, length > 0, length <= pathCapacity else { return false }
        // The first byte last: the handler never sees a path that is still being copied.
        for i in 1..<length { pendingPath[i] = path[i] }
        pendingPath[length] = 0
        pendingPath[0] = path[0]
        return true
    }

    /// Clears the slot taken by ``register(_:)``.
    static func unregister() {
        pendingLock.lock()
        pendingPath[0] = 0
        pendingLock.unlock()
    }
}

/// Async-signal-safe: `unlink`, `signal` and `raise` only.
private func onTerminatingSignal(_ sig: Int32) {
    if pendingPath[0] != 0 { unlink(pendingPath) }
    signal(sig, SIG_DFL)
    raise(sig)
}

/// Standard output for the headless commands: every line is flushed and checked, so a closed
/// pipe (`ddim … | head -1`) is an error that names the cause rather than a silent death.
public enum StandardOutput {
    /// Writes `line` and a newline to standard output.
    /// - Throws: ``ImagingError/cannotWrite(path:reason:)`` with path "standard output" when the
    ///   write fails (`EPIPE`: "Broken pipe").
    public static func print(_ line: String) throws(ImagingError) {
        // write(2) on descriptor 1, unbuffered: nothing is held back in a stdio buffer.
        let bytes = Array((line + "\n").utf8)
        let failure = bytes.withUnsafeBytes { buffer -> String? in
            var offset = 0
            while offset < buffer.count {
                let n = writeDescriptor(1, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
                offset += n
            }
            return nil
        }
        if let failure { throw .cannotWrite(path: "standard output", reason: failure) }
    }
}

/// `write(2)`, named apart from the standard library's `print`-style names above.
private func writeDescriptor(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, bytes, count)
}
