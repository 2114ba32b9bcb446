/// Bytes read by range: an ``InputFile`` on disk, or ``MemoryBytes`` (the fuzz harness and
/// tests read files from memory through the same code).
public protocol RandomAccessBytes: Sendable {
    /// The file's name, for messages.
    var path: String { get }
    /// How many bytes there are (for a file: its size when it was opened).
    var count: Int { get }
    /// Fills `buffer` with the bytes from `offset` on, or throws
    /// ``FileError/endedEarly(path:offset:)`` naming the byte where they ended.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(FileError)
}

extension RandomAccessBytes {
    /// `count` bytes from `offset` on (see ``read(into:at:)``).
    public func bytes(at offset: Int, count: Int) throws(FileError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let result = out.withUnsafeMutableBytes { raw in Result { () throws(FileError) in try read(into: raw, at: offset) } }
        try result.get()
        return out
    }
}

/// A whole file already in memory, read as ``InputFile`` reads one on disk.
public struct MemoryBytes: RandomAccessBytes {
    /// The file's contents.
    public let contents: [UInt8]
    /// Its name, for messages.
    public let path: String

    /// `contents` under the name `path`.
    public init(_ contents: [UInt8], path: String) { (self.contents, self.path) = (contents, path) }

    /// The number of bytes.
    public var count: Int { contents.count }

    /// Copies the bytes from `offset` on; past the end is ``FileError/endedEarly(path:offset:)``.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(FileError) {
        guard offset >= 0, offset <= contents.count else { throw .endedEarly(path: path, offset: contents.count) }
        let available = contents.count - offset
        guard buffer.count <= available else { throw .endedEarly(path: path, offset: contents.count) }
        contents.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<(offset + buffer.count)]))
        }
    }
}
