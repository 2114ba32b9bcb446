/// Why a scheduler config cannot be used; every case names the field (and, from
/// ``SchedulerConfig/load(from:)``, the file).
public enum SchedulerConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A field holds a value this package does not implement.
    case unsupported(field: String, value: String, supported: [String])
    /// A field holds a value of the wrong type or out of range.
    case invalid(field: String, value: String, reason: String)
    /// The file could not be read or is not JSON of the expected shape.
    case unreadable(file: String, reason: String)
    /// An error about a field, in the named file.
    indirect case inFile(String, SchedulerConfigError)

    /// The field the error is about, if it is about one.
    public var field: String? {
        switch self {
        case .unsupported(let field, _, _), .invalid(let field, _, _): field
        case .unreadable: nil
        case .inFile(_, let inner): inner.field
        }
    }

    /// A one-line message naming the field, the value and what would be accepted.
    public var description: String {
        switch self {
        case .unsupported(let field, let value, let supported):
            "scheduler config: \(field) = \"\(value)\" is not supported (supported: \(supported.joined(separator: ", ")))"
        case .invalid(let field, let value, let reason):
            "scheduler config: \(field) = \(value): \(reason)"
        case .unreadable(let file, let reason):
            "scheduler config \(file): \(reason)"
        case .inFile(let file, let inner):
            "\(file): \(inner)"
        }
    }
}
