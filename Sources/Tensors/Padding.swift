/// Zero padding on each side of the image, in pixels.
public struct Padding: Sendable, Equatable {
    public var top: Int, left: Int, bottom: Int, right: Int
    /// The same padding on every side.
    public init(_ all: Int) { (top, left, bottom, right) = (all, all, all, all) }
    /// Padding per side.
    public init(top: Int, left: Int, bottom: Int, right: Int) {
        (self.top, self.left, self.bottom, self.right) = (top, left, bottom, right)
    }
}
