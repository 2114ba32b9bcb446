#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes whole files atomically: temporary file in the same folder, `fsync`, `rename(2)`.
/// A headless command's SIGINT, SIGTERM or SIGHUP removes the temporary file in flight
/// (``Interrupts``), which Foundation's `Data.write(to:options: .atomic)` would leave behind.
public enum AtomicFile {
    /// Replaces (or creates) `path` with `bytes`; on any failure the temporary file is removed
    /// and `path` is left as it was.
    public static func write(_ bytes: [UInt8], to path: String) throws(ImagingError) {
        let (folder, name) = split(path)
        guard !name.isEmpty else { throw .cannotWrite(path: path, reason: "the path names a folder") }
        var template = Array("\(folder)/.\(name).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            return mkstemp(base)
        }
        guard fd >= 0 else { throw .cannotWrite(path: path, reason: lastError()) }
        let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // A signal from here on removes the temporary file (headless commands, see Interrupts).
        let registered = Interrupts.register(template)
        defer { if registered { Interrupts.unregister() } }

        var failure: String?
        if let reason = writeAll(bytes, to: fd) {
            failure = reason
        } else if fchmod(fd, 0o644) != 0 || fsync(fd) != 0 {
            failure = lastError()
        }
        if close(fd) != 0, failure == nil { failure = lastError() }
        if failure == nil, rename(temporary, path) != 0 { failure = lastError() }
        if let failure {
            unlink(temporary)
            throw .cannotWrite(path: path, reason: failure)
        }
    }

    /// The folder (`.` when none) and the last component of `path`.
    static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let folder = String(path[..<slash])
        return (folder.isEmpty ? "/" : folder, String(path[path.index(after: slash)...]))
    }

    /// Writes every byte, retrying short writes and EINTR; the error text on failure.
    private static func writeAll(_ bytes: [UInt8], to fd: Int32) -> String? {
        bytes.withUnsafeBytes { buffer -> String? in
            var offset = 0
            while offset < buffer.count {
                let n = posixWrite(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return lastError()
                }
                offset += n
            }
            return nil
        }
    }

    /// `strerror(errno)`.
    static func lastError() -> String {
        String(cString: strerror(errno))
    }
}

/// `write(2)`, named apart from ``AtomicFile/write(_:to:)``.
private func posixWrite(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, bytes, count)
}
