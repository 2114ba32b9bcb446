/// Why a file from the outside could not be read; every message names the file.
public enum FileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `open` or `stat` failed (no such file, permission denied, …); `reason` is strerror's text.
    case cannotOpen(path: String, reason: String)
    /// Not a regular file: `kind` is "a FIFO", "a directory", "a character device", ….
    case notRegular(path: String, kind: String)
    /// Larger than the caller's limit for this kind of file.
    case tooLarge(path: String, size: Int, limit: ReadLimit)
    /// `read` failed at byte `offset` (an I/O error); `reason` is strerror's text.
    case cannotRead(path: String, offset: Int, reason: String)
    /// The file ended at byte `offset`, before the bytes asked for (it shrank after it was opened).
    case endedEarly(path: String, offset: Int)

    /// The file concerned.
    public var path: String {
        switch self {
        case .cannotOpen(let path, _), .notRegular(let path, _), .tooLarge(let path, _, _),
            .cannotRead(let path, _, _), .endedEarly(let path, _):
            path
        }
    }

    /// One line naming the file: "X is a FIFO, not a regular file", "cannot read X: …".
    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            "cannot read \(path): \(reason)"
        case .notRegular(let path, let kind):
            "\(path) is \(kind), not a regular file"
        case .tooLarge(let path, let size, let limit):
            "\(path) is \(size) bytes, over the \(limit) limit for \(limit.what)"
        case .cannotRead(let path, let offset, let reason):
            "cannot read \(path) at byte \(offset): \(reason)"
        case .endedEarly(let path, let offset):
            "\(path) ended at byte \(offset)"
        }
    }
}

/// The most bytes a reader accepts for one kind of file, and what to call that kind in messages.
public struct ReadLimit: Sendable, Equatable, CustomStringConvertible {
    /// The largest size accepted, in bytes.
    public let bytes: Int
    /// The kind of file, for messages: "a config.json", "a theme file", ….
    public let what: String

    /// A limit of `bytes` for files described as `what`.
    public init(bytes: Int, what: String) {
        precondition(bytes >= 0 && bytes < Int.max, "ReadLimit: \(bytes) bytes")
        (self.bytes, self.what) = (bytes, what)
    }

    /// The size in the largest binary unit that divides it: "1 MiB", "256 KiB", "1000 bytes".
    public var description: String {
        for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] where bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift) \(unit)"
        }
        return "\(bytes)-byte"
    }
}
