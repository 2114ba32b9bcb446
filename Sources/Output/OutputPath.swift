#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import Files

/// Where an output file goes, decided from what is at its path before any work is spent on it.
public enum OutputDestination: Equatable, Sendable {
    /// `-`: the bytes are streamed to standard output.
    case standardOutput
    /// A regular file, created or replaced whole (``AtomicFile``). `path` is the file written:
    /// the user's path with symbolic links followed, so a link is kept and its target replaced.
    case file(path: String)
    /// An existing FIFO or character device (`/dev/null`, `/dev/stdout` on a pipe, `>(cmd)`):
    /// written through, never replaced.
    case stream(path: String)
}

/// Output paths, decided by our own code, total on any string: one-character names, `.`, names of
/// 255 bytes, leading dots and spaces, links, devices, FIFOs. Nothing here traps; every refusal is
/// an ``WriteError/cannotWrite(path:reason:)`` naming the path and the reason.
///
/// The rules (docs/reliability.md):
/// - a missing file is created in its folder, which must exist and be a folder;
/// - an existing regular file is replaced whole; a symbolic link is followed (the link stays, its
///   target is replaced; a dangling link creates its target);
/// - an existing FIFO or character device is written through (`/dev/null`, a pipe); a FIFO with no
///   reader is refused rather than waited on, and so is a terminal;
/// - `-` is standard output (not a terminal);
/// - folders, sockets and block devices are refused: nothing that is not a regular file is ever
///   replaced.
public enum OutputPath {
    /// The longest file name Linux file systems take (NAME_MAX).
    static let maxNameBytes = 255

    /// Decides where `path` goes (see the type's rules).
    public static func resolve(_ path: String) throws(WriteError) -> OutputDestination {
        func fail(_ reason: String) -> WriteError { .cannotWrite(path: path, reason: reason) }
        if path == "-" {
            guard isatty(1) == 0 else { throw fail("standard output is a terminal; redirect it to a file or a pipe") }
            return .standardOutput
        }
        guard !path.isEmpty else { throw fail("the path is empty") }
        guard !path.utf8.contains(0) else { throw fail("the path holds a NUL byte") }
        let (_, name) = split(path)
        if name.isEmpty || name == "." || name == ".." {
            throw fail("the path names a folder, not a file")
        }
        guard name.utf8.count <= maxNameBytes else {
            throw fail("the file name is \(name.utf8.count) bytes, over the \(maxNameBytes)-byte limit of file names")
        }
        var info = stat()
        if stat(path, &info) == 0 {
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                // A link (of any depth) to a regular file: its target is the file replaced.
                let target = try finalTarget(of: path, user: path)
                try checkWritable(folder: split(target).folder, user: path)
                return .file(path: target)
            case S_IFIFO, S_IFCHR:
                return .stream(path: path)
            case S_IFDIR:
                throw fail("it is a folder")
            case S_IFSOCK:
                throw fail("it is a socket, not a regular file")
            case S_IFBLK:
                throw fail("it is a block device, not a regular file (nothing but a regular file is ever replaced)")
            default:
                throw fail("it is not a regular file")
            }
        }
        let missing = errno
        guard missing == ENOENT else { throw fail(errorText(missing)) }
        // Nothing there, or a dangling link: the file to create is the link's final target.
        let target = try finalTarget(of: path, user: path)
        let (folder, targetName) = split(target)
        guard targetName.utf8.count <= maxNameBytes else {
            throw fail("the file name is \(targetName.utf8.count) bytes, over the \(maxNameBytes)-byte limit of file names")
        }
        var folderInfo = stat()
        guard stat(folder, &folderInfo) == 0 else {
            let e = errno
            throw fail(e == ENOENT ? "the folder \(display(folder)) does not exist" : "the folder \(display(folder)): \(errorText(e))")
        }
        guard folderInfo.st_mode & S_IFMT == S_IFDIR else { throw fail("\(display(folder)) is not a folder") }
        try checkWritable(folder: folder, user: path)
        return .file(path: target)
    }

    /// Refuses a folder this process cannot create files in (permissions, a read-only file system):
    /// found before any sampling rather than when the result is written.
    public static func checkWritable(folder: String, user path: String) throws(WriteError) {
        guard access(folder, W_OK | X_OK) == 0 else {
            throw .cannotWrite(path: path, reason: "the folder \(display(folder)) is not writable (\(errorText(errno)))")
        }
    }

    /// Follows symbolic links of `path` (its last component, up to 40 hops, as the kernel does)
    /// to the path of the file itself; relative link targets are read from the link's folder.
    static func finalTarget(of path: String, user: String) throws(WriteError) -> String {
        var current = path
        for _ in 0..<40 {
            var info = stat()
            guard lstat(current, &info) == 0, info.st_mode & S_IFMT == S_IFLNK else { return current }
            guard let target = readLink(current) else {
                throw .cannotWrite(path: user, reason: "cannot read the symbolic link \(display(current)): \(errorText(errno))")
            }
            current = target.hasPrefix("/") ? target : join(split(current).folder, target)
        }
        throw .cannotWrite(path: user, reason: "too many levels of symbolic links")
    }

    /// `readlink(2)`; nil on failure (errno set).
    private static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n >= 0 else { return nil }
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The folder (`.` when none, `/` for the root) and the last component of `path`. Total: any
    /// string splits, trailing slashes give an empty name.
    public static func split(_ path: String) -> (folder: String, name: String) {
        let bytes = Array(path.utf8)
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return (".", path) }
        var end = slash
        // "a//b" → folder "a"
        while end > 0 && bytes[end - 1] == UInt8(ascii: "/") { end -= 1 }
        let folder = end == 0 ? "/" : String(decoding: bytes[..<end], as: UTF8.self)
        return (folder, String(decoding: bytes[(slash + 1)...], as: UTF8.self))
    }

    /// `folder/name` (no doubled slash after `/`).
    public static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }

    /// The temporary name beside `name` for an atomic write, as bytes without the NUL:
    /// `.NAME.tmp-XXXXXX`, or, when that would pass the 255-byte limit of file names,
    /// `.` + the name's first bytes + `.tmp-XXXXXX`, so that every writable name has one.
    static func temporaryName(for name: String) -> [UInt8] {
        let suffix = Array(".tmp-XXXXXX".utf8)
        let room = maxNameBytes - 1 - suffix.count
        return [UInt8(ascii: ".")] + Array(name.utf8.prefix(room)) + suffix
    }

    /// A path as a one-line message may show it (``PathText/display(_:)``).
    public static func display(_ path: String) -> String { PathText.display(path) }

    /// `strerror(code)`.
    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
}

/// Which node an output lands on, so that two outputs of one command never land on the same file:
/// a regular file by its folder's device and inode and its name; a stream by its own.
public struct OutputIdentity: Hashable, Sendable {
    let device: UInt64, inode: UInt64
    let name: String

    /// The identity of a destination; nil when its node cannot be looked up (it is then refused
    /// when written).
    public init?(_ destination: OutputDestination) {
        var info = stat()
        switch destination {
        case .standardOutput:
            guard fstat(1, &info) == 0 else { return nil }
            name = ""
        case .stream(let path):
            guard stat(path, &info) == 0 else { return nil }
            name = ""
        case .file(let path):
            let (folder, file) = OutputPath.split(path)
            guard stat(folder, &info) == 0 else { return nil }
            name = file
        }
        (device, inode) = (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    /// A file `name` in the existing folder `folder`; nil when the folder does not exist yet.
    public init?(folder: String, name: String) {
        var info = stat()
        guard stat(folder, &info) == 0 else { return nil }
        (device, inode, self.name) = (UInt64(info.st_dev), UInt64(info.st_ino), name)
    }
}

/// An existing file by its device and inode (links followed), so that an output that would
/// overwrite one of the command's own inputs is refused.
public struct FileNode: Hashable, Sendable {
    let device: UInt64, inode: UInt64

    /// The file at `path`; nil when nothing is there.
    public init?(_ path: String) {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        (device, inode) = (UInt64(info.st_dev), UInt64(info.st_ino))
    }
}
