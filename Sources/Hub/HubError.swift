/// Why a hub name could not be turned into a model folder: one line that names the name, the
/// file, the URL or the cache path concerned and the cause.
public struct HubError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The line shown to the user.
    public let description: String

    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}
