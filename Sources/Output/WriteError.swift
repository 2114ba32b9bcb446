import Files

/// Why an output could not be written; the message names the file (control characters escaped).
public enum WriteError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be created, written, synced or renamed into place, or the path names
    /// something that is never written (a folder, a socket, a terminal, …).
    case cannotWrite(path: String, reason: String)

    /// The path as given.
    public var path: String {
        switch self {
        case .cannotWrite(let path, _): path
        }
    }

    /// Why, without the path.
    public var reason: String {
        switch self {
        case .cannotWrite(_, let reason): reason
        }
    }

    /// "cannot write PATH: REASON".
    public var description: String { "cannot write \(PathText.display(path)): \(reason)" }
}
