#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes whole files: a regular file through a temporary file in the same folder, `fsync` and
/// `rename(2)`; standard output, FIFOs and character devices written through (``OutputPath``).
/// A headless command's terminating signals remove the temporary file in flight (``Interrupts``),
/// which Foundation's `Data.write(to:options: .atomic)` would leave behind.
public enum AtomicFile {
    /// Writes `bytes` to `path` as ``OutputPath/resolve(_:)`` decides: a regular file is replaced
    /// (or created) whole — on any failure the temporary file is removed and the file is left as
    /// it was —, `-` streams to standard output, an existing FIFO or character device is written
    /// through. Nothing that is not a regular file is ever replaced.
    public static func write(_ bytes: [UInt8], to path: String) throws(WriteError) {
        switch try OutputPath.resolve(path) {
        case .standardOutput:
            if let failure = writeAll(bytes, to: 1) { throw .cannotWrite(path: "standard output", reason: failure) }
        case .stream(let device):
            try writeThrough(bytes, to: device, shown: path)
        case .file(let target):
            try replace(target, with: bytes, shown: path)
        }
    }

    /// Creates `path` with `bytes` only if nothing is there yet, atomically: the whole file
    /// appears at once (a temporary file, `fsync`, then `link(2)`, which never replaces), so of
    /// several processes creating the same path at the same moment exactly one succeeds and the
    /// others read a complete file. Returns false when `path` already existed (left untouched).
    public static func create(_ bytes: [UInt8], at path: String) throws(WriteError) -> Bool {
        var created = true
        try viaTemporary(path, bytes: bytes, mode: 0o644, shown: path) { temporary in
            defer { unlink(temporary) }
            if link(temporary, path) == 0 { return nil }
            if errno == EEXIST { created = false; return nil }
            return lastError()
        }
        return created
    }

    /// The temporary file, `fsync`, `rename`: `target` is whole or as it was.
    private static func replace(_ target: String, with bytes: [UInt8], shown path: String) throws(WriteError) {
        // An existing file keeps its permissions; a new one is rw-r--r--.
        var existing = stat()
        let mode = stat(target, &existing) == 0 ? mode_t(existing.st_mode & 0o7777) : 0o644
        try viaTemporary(target, bytes: bytes, mode: mode, shown: path) { temporary in
            rename(temporary, target) == 0 ? nil : lastError()
        }
    }

    /// Writes `bytes` to a new temporary file beside `target` (mode `mode`, synced, closed), then
    /// calls `finish` with its path to put it in place (the error text on failure). On any failure
    /// the temporary file is removed; a terminating signal in between removes it too (headless
    /// commands, see ``Interrupts``).
    private static func viaTemporary(
        _ target: String, bytes: [UInt8], mode: mode_t, shown path: String, finish: (UnsafePointer<CChar>) -> String?
    ) throws(WriteError) {
        let (folder, name) = OutputPath.split(target)
        var template = Array(OutputPath.join(folder, "").utf8) + OutputPath.temporaryName(for: name)
        template.append(0)
        var cTemplate = template.map { CChar(bitPattern: $0) }
        let fd = cTemplate.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            return mkstemp(base)
        }
        if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        guard fd >= 0 else { throw .cannotWrite(path: path, reason: lastError()) }
        let registered = Interrupts.register(cTemplate)
        defer { if registered { Interrupts.unregister() } }

        var failure: String?
        if let reason = writeAll(bytes, to: fd) {
            failure = reason
        } else if fchmod(fd, mode) != 0 || fsync(fd) != 0 {
            failure = lastError()
        }
        if close(fd) != 0, failure == nil { failure = lastError() }
        if failure == nil {
            failure = cTemplate.withUnsafeBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return "no temporary file name" }
                return finish(base)
            }
        }
        if let failure {
            unlink(cTemplate)
            throw .cannotWrite(path: path, reason: failure)
        }
    }

    /// Writes into an existing FIFO or character device. Opened without blocking: a FIFO nobody
    /// reads is refused (ENXIO) instead of waited on; a terminal is refused.
    private static func writeThrough(_ bytes: [UInt8], to device: String, shown path: String) throws(WriteError) {
        let fd = open(device, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            let reason = errno == ENXIO ? "no process has the FIFO open for reading" : lastError()
            throw .cannotWrite(path: path, reason: reason)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, [S_IFIFO, S_IFCHR].contains(info.st_mode & S_IFMT) else {
            throw .cannotWrite(path: path, reason: "it changed into something that is not a FIFO or a device")
        }
        guard isatty(fd) == 0 else { throw .cannotWrite(path: path, reason: "it is a terminal; give a file or a pipe") }
        // Blocking writes from here: a slow reader is waited for, as by any pipe writer.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        if let failure = writeAll(bytes, to: fd) { throw .cannotWrite(path: path, reason: failure) }
    }

    /// Writes every byte, retrying short writes and EINTR; the error text on failure. A write
    /// past the file-size limit (`ulimit -f`; SIGXFSZ is ignored, see ``Interrupts``) fails with
    /// EFBIG and says so.
    static func writeAll(_ bytes: [UInt8], to fd: Int32) -> String? {
        bytes.withUnsafeBytes { buffer -> String? in
            var offset = 0
            while offset < buffer.count {
                let n = posixWrite(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    if errno == EFBIG { return "File too large (over the file-size limit, ulimit -f)" }
                    return lastError()
                }
                offset += n
            }
            return nil
        }
    }

    /// `strerror(errno)`.
    static func lastError() -> String { OutputPath.errorText(errno) }
}

/// `write(2)`, named apart from ``AtomicFile/write(_:to:)``.
private func posixWrite(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, bytes, count)
}
