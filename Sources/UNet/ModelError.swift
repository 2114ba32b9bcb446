/// A problem with a model folder, its config or its weights. The message names the file and
/// the field or tensor, and what was expected.
public struct ModelError: Error, CustomStringConvertible, Equatable {
    /// The file (or folder) concerned.
    public let file: String
    /// What is wrong.
    public let reason: String
    /// "FILE: REASON".
    public var description: String { "\(file): \(reason)" }

    /// An error about `file`.
    public init(file: String, _ reason: String) { (self.file, self.reason) = (file, reason) }
}
