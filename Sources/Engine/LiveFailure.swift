/// The error that stopped a live run or view, kept typed until it is drawn: the UI prints its
/// ``description``, a caller that wants more can look at ``error``.
///
/// Two failures are equal when their descriptions are (errors are not `Equatable` in general);
/// a string literal is a failure with that message (what a test compares with).
public struct LiveFailure: Error, Sendable, Equatable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The error itself (a ``Sampling/SamplingError``, a ``ModelError``, …).
    public let error: any Error

    /// Wraps `error`.
    public init(_ error: any Error) { self.error = error }

    /// A failure that is only a message.
    public init(stringLiteral message: String) { error = Message(text: message) }

    /// The error's one-line message.
    public var description: String { "\(error)" }

    /// Whether the two failures say the same.
    public static func == (a: LiveFailure, b: LiveFailure) -> Bool { a.description == b.description }

    private struct Message: Error, Sendable, CustomStringConvertible {
        var text: String
        var description: String { text }
    }
}
