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

/// Signal handling for the headless commands, so that no signal leaves a half-written file and
/// every signal that ends the process ends it with the shell's status 128 + n.
///
/// - Every signal whose default action ends the process and that others send (SIGHUP, SIGINT,
///   SIGQUIT, SIGUSR1/2, SIGALRM, SIGTERM, SIGXCPU, SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGSTKFLT and
///   the real-time signals): the temporary file of the write in flight is removed, then the process
///   ends by the same signal, without a core file (SIGQUIT otherwise printed Swift's crash report
///   and let the run go on).
/// - Faults (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT, SIGSYS): the temporary file is
///   removed, then the handler that was there before (Swift's crash report) takes the signal.
/// - SIGXFSZ (a write past `ulimit -f`) is ignored: the write then fails with EFBIG and
///   ``AtomicFile`` reports "File too large" naming the file.
/// - SIGPIPE is ignored: a write to a closed pipe then fails with `EPIPE`, which the caller
///   reports (``StandardOutput``), instead of killing the process without a word.
public enum Interrupts {
    /// The longest temporary path that can be cleaned up on a signal.
    static let pathCapacity = 4095

    /// The signals others send whose default action ends the process (see the type's notes).
    public static var terminatingSignals: [Int32] {
        var list = [SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM, SIGXCPU, SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGSTKFLT]
        list += Array(__libc_current_sigrtmin()...__libc_current_sigrtmax())
        return list
    }

    /// Faults: the process's own errors, reported by the handler installed before ours.
    static let faultSignals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT, SIGSYS]

    /// Installs the handlers (once per process; the live sampler installs its own for
    /// ``terminatingSignals`` instead, which restore the terminal first).
    public static func installForHeadless() {
        // Swift initialises globals lazily, with an allocation: done here, not first in a
        // handler, which could deadlock on malloc's lock if the signal came inside malloc.
        pendingPath[0] = 0
        _ = previousActions
        TerminalRescue.prepare()
        signal(SIGPIPE, SIG_IGN)
        signal(SIGXFSZ, SIG_IGN)
        // A parent may have left these blocked (they would then wait, pending, forever).
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for sig in terminatingSignals {
            signal(sig, onTerminatingSignal)
            sigaddset(&unblock, sig)
        }
        for sig in faultSignals {
            var action = sigaction()
            action.__sigaction_handler.sa_sigaction = onFault
            action.sa_flags = SA_SIGINFO
            sigemptyset(&action.sa_mask)
            sigaction(sig, &action, previousActions + Int(sig))
        }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    }

    /// Ends the process by `sig` as its default action would (the shell then reports 128 + n),
    /// without a core file; for callers that caught the signal and cleaned up first.
    public static func end(by sig: Int32) -> Never {
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &none)
        signal(sig, SIG_DFL)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, sig)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        raise(sig)
        // not reached for a signal whose default action ends the process
        _exit(128 + sig)
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

/// The actions the fault signals had before ``Interrupts/installForHeadless()``, by signal number.
nonisolated(unsafe) private let previousActions: UnsafeMutablePointer<sigaction> = {
    let p = UnsafeMutablePointer<sigaction>.allocate(capacity: 65)
    p.initialize(repeating: sigaction(), count: 65)
    return p
}()

/// Async-signal-safe: `unlink`, `setrlimit`, `signal`, `sigprocmask` and `raise` only.
private func onTerminatingSignal(_ sig: Int32) {
    TerminalRescue.giveBack()
    if pendingPath[0] != 0 { unlink(pendingPath) }
    Interrupts.end(by: sig)
}

/// A fault: the temporary file goes, then the handler from before (Swift's crash report) takes
/// the signal — a real fault recurs on the faulting instruction when this handler returns, a
/// signal the process sent itself (`abort`) is raised again. The same signal sent by another
/// process is no fault of ours: it ends the process like the other terminating signals (Swift's
/// handler would print a crash report for it and let the run go on).
private func onFault(_ sig: Int32, _ info: UnsafeMutablePointer<siginfo_t>?, _ context: UnsafeMutableRawPointer?) {
    TerminalRescue.giveBack()
    if pendingPath[0] != 0 { unlink(pendingPath) }
    // si_code ≤ 0: sent by kill, tgkill or sigqueue, not raised by the CPU
    let sent = (info?.pointee.si_code ?? 1) <= 0
    if sent, let sender = info?.pointee._sifields._kill.si_pid, sender != getpid() { Interrupts.end(by: sig) }
    sigaction(sig, previousActions + Int(sig), nil)
    if sent { raise(sig) }
}

/// The terminal as the live sampler found it, given back by the signal handlers when the process
/// dies without reaching `endwin` (a fault, or a signal before the live sampler's own handlers):
/// the line discipline's modes (`tcsetattr`, async-signal-safe) and the terminal's own sequences
/// (leave the alternate screen, show the cursor, reset colours and keypad and the palette),
/// as htop's CRT does. Everything lives in memory allocated before any handler can run.
public enum TerminalRescue {
    /// The most bytes of restoring sequences kept.
    static let capacity = 512

    /// Allocates the storage (``Interrupts/installForHeadless()`` calls it).
    static func prepare() {
        _ = rescueState
    }

    /// Saves the modes of standard input and output; call before curses changes them.
    public static func saveModes() {
        rescueState.pointee.inputSaved = tcgetattr(0, &rescueState.pointee.input) == 0 ? 1 : 0
        rescueState.pointee.outputSaved = tcgetattr(1, &rescueState.pointee.output) == 0 ? 1 : 0
    }

    /// Arms the rescue with the bytes that give the terminal back (written to standard output).
    public static func arm(restore bytes: [UInt8]) {
        let n = min(bytes.count, capacity)
        for i in 0..<n { rescueBytes[i] = bytes[i] }
        rescueState.pointee.length = n
        rescueState.pointee.armed = 1
    }

    /// Disarms it: the terminal was given back the ordinary way.
    public static func disarm() { rescueState.pointee.armed = 0 }

    /// Async-signal-safe: `tcsetattr` and `write` of memory allocated beforehand; once only.
    static func giveBack() {
        guard rescueState.pointee.armed == 1 else { return }
        rescueState.pointee.armed = 0
        if rescueState.pointee.outputSaved == 1 { tcsetattr(1, TCSADRAIN, &rescueState.pointee.output) }
        if rescueState.pointee.inputSaved == 1 { tcsetattr(0, TCSADRAIN, &rescueState.pointee.input) }
        _ = write(1, rescueBytes, rescueState.pointee.length)
    }
}

/// What ``TerminalRescue`` keeps.
struct RescueState {
    var armed: Int32 = 0, inputSaved: Int32 = 0, outputSaved: Int32 = 0
    var length = 0
    var input = termios(), output = termios()
}

nonisolated(unsafe) private let rescueState: UnsafeMutablePointer<RescueState> = {
    let p = UnsafeMutablePointer<RescueState>.allocate(capacity: 1)
    p.initialize(to: RescueState())
    return p
}()

nonisolated(unsafe) private let rescueBytes: UnsafeMutablePointer<UInt8> = {
    let p = UnsafeMutablePointer<UInt8>.allocate(capacity: TerminalRescue.capacity)
    p.initialize(repeating: 0, count: TerminalRescue.capacity)
    return p
}()

/// Standard output for the headless commands: every line is flushed and checked, so a closed
/// pipe (`ddim … | head -1`) is an error that names the cause rather than a silent death.
public enum StandardOutput {
    /// Whether report lines go to standard error, because standard output carries a file
    /// (`--out -`); set once, before any work, by the command.
    nonisolated(unsafe) private static var diverted = false

    /// Sends the report lines to standard error from now on (standard output carries a file).
    public static func divertToStandardError() { diverted = true }

    /// Writes `line` and a newline to standard output.
    /// - Throws: ``WriteError/cannotWrite(path:reason:)`` with path "standard output" when the
    ///   write fails (`EPIPE`: "Broken pipe").
    public static func print(_ line: String) throws(WriteError) {
        // write(2) on descriptor 1 (or 2), unbuffered: nothing is held back in a stdio buffer.
        let failure = AtomicFile.writeAll(Array((line + "\n").utf8), to: diverted ? 2 : 1)
        if let failure { throw .cannotWrite(path: diverted ? "standard error" : "standard output", reason: failure) }
    }

    /// Writes `bytes` as they are to standard output (an inline picture), checked as ``print(_:)``.
    public static func write(_ bytes: [UInt8]) throws(WriteError) {
        if let failure = AtomicFile.writeAll(bytes, to: 1) { throw .cannotWrite(path: "standard output", reason: failure) }
    }
}
