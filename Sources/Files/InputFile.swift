#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A regular file opened for reading: the one way ddim reads a file it is pointed at.
///
/// A path given by a user may name anything: a FIFO (whose `open` or `read` would wait for a
/// writer for ever), a directory, `/dev/zero` (endless), a 50 GB file. So the path is `stat`ed
/// and refused unless it is a regular file; then opened with `O_NONBLOCK` (a FIFO swapped in
/// between the two cannot block the open) and checked again with `fstat` on the descriptor,
/// which is what is read. ``contents(of:limit:)`` refuses files over the caller's limit before
/// reading a byte; big files (safetensors weights) are read a range at a time with
/// ``read(into:at:)``, which says where a file that shrank meanwhile ended.
///
/// Reads go through `pread`, so they share no file position: one `InputFile` may serve several
/// threads. Interrupted reads are retried and short reads continued.
public final class InputFile: RandomAccessBytes {
    /// The path as given (for messages).
    public let path: String
    /// The size when the file was opened.
    public let count: Int
    private let descriptor: Int32

    /// Opens `path` for reading; refuses anything but a regular file, and a file over `limit`.
    public init(_ path: String, limit: ReadLimit? = nil) throws(FileError) {
        self.path = path
        var status = stat()
        // a first look without opening: opening some devices has effects of its own
        guard stat(path, &status) == 0 else { throw .cannotOpen(path: path, reason: Self.lastError()) }
        try Self.checkRegular(status, path: path)
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: Self.lastError()) }
        // the file read is the one opened, whatever the path names by now
        guard fstat(fd, &status) == 0 else {
            let reason = Self.lastError()
            close(fd)
            throw .cannotOpen(path: path, reason: reason)
        }
        do throws(FileError) {
            try Self.checkRegular(status, path: path)
            if let limit, Int(status.st_size) > limit.bytes {
                throw .tooLarge(path: path, size: Int(status.st_size), limit: limit)
            }
        } catch {
            close(fd)
            throw error
        }
        descriptor = fd
        count = Int(status.st_size)
    }

    deinit { close(descriptor) }

    /// The whole file at `path`, refused before any read when it is not a regular file or is
    /// larger than `limit` (also when it grows past the limit while it is read).
    public static func contents(of path: String, limit: ReadLimit) throws(FileError) -> [UInt8] {
        try InputFile(path, limit: limit).readToEnd(limit: limit)
    }

    /// Everything from byte 0 to the end of the file as it is now, at most `limit` bytes.
    public func readToEnd(limit: ReadLimit) throws(FileError) -> [UInt8] {
        // one byte more than expected: a file that grew is read on until its end or the limit
        var bytes = [UInt8](repeating: 0, count: min(count, limit.bytes) + 1)
        var filled = 0
        while true {
            if filled == bytes.count {
                guard filled <= limit.bytes else { throw .tooLarge(path: path, size: filled, limit: limit) }
                bytes += [UInt8](repeating: 0, count: min(bytes.count, limit.bytes + 1 - filled))
            }
            let result = bytes.withUnsafeMutableBytes { raw in
                Result { () throws(FileError) -> Int in
                    guard let base = raw.baseAddress else { return 0 }
                    return try readSome(into: base + filled, count: raw.count - filled, at: filled)
                }
            }
            let n = try result.get()
            if n == 0 { break }
            filled += n
        }
        bytes.removeLast(bytes.count - filled)
        return bytes
    }

    /// Fills `buffer` with the bytes from `offset` on; ``FileError/endedEarly(path:offset:)``
    /// names the byte where the file ended if it is shorter now than the range asked for.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(FileError) {
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let n = try readSome(into: base + done, count: buffer.count - done, at: offset + done)
            guard n > 0 else { throw .endedEarly(path: path, offset: offset + done) }
            done += n
        }
    }

    /// One `pread` of at most `count` bytes (and at most 1 GiB), retried when interrupted; 0 at
    /// the end of the file.
    private func readSome(into pointer: UnsafeMutableRawPointer, count: Int, at offset: Int) throws(FileError) -> Int {
        while true {
            let n = pread(descriptor, pointer, min(count, 1 << 30), off_t(offset))
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw .cannotRead(path: path, offset: offset, reason: Self.lastError())
        }
    }

    // MARK: - File types

    private static func checkRegular(_ status: stat, path: String) throws(FileError) {
        let type = status.st_mode & fileTypeMask
        guard type == regularFile else { throw .notRegular(path: path, kind: kind(of: type)) }
    }

    // S_IFMT and the S_IF… values (the C macros do not import everywhere)
    private static let fileTypeMask: mode_t = 0o170000
    private static let regularFile: mode_t = 0o100000

    /// "a FIFO", "a directory", … for the file type bits of `st_mode`.
    static func kind(of type: mode_t) -> String {
        switch type {
        case 0o010000: "a FIFO"
        case 0o020000: "a character device"
        case 0o040000: "a directory"
        case 0o060000: "a block device"
        case 0o120000: "a symbolic link"
        case 0o140000: "a socket"
        default: "a special file"
        }
    }

    static func lastError() -> String { String(cString: strerror(errno)) }
}
