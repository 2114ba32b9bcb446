import Files
import Output

/// Everything that can go wrong while building, reading or writing an image.
///
/// Each case names the file (or the offending value) so that a message alone says what to fix.
public enum ImagingError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The pixel buffer does not match the stated shape, or the channel count is not 1 or 3.
    case invalidPixels(reason: String)
    /// A grid was asked for with no images, or with a negative padding or a column count below 1.
    case invalidLayout(reason: String)
    /// A tEXt/iTXt keyword or value cannot be stored (empty, too long, not printable Latin-1, NUL).
    case invalidText(key: String, reason: String)
    /// The file could not be created, written, synced or renamed into place.
    case cannotWrite(path: String, reason: String)
    /// The file could not be read: missing, not a regular file, over its size limit, …
    case unreadable(FileError)
    /// The file does not start with the PNG signature.
    case notPNG(path: String)
    /// The file starts like a PNG but libpng (or the chunk walk) rejects its contents.
    case corrupt(path: String, reason: String)
    /// The image is larger than the reader's cap, checked before any pixel memory is allocated.
    case tooLarge(path: String, width: Int, height: Int, limit: Int)

    /// The writer's error, as an image's: the same path and reason.
    public init(_ error: WriteError) { self = .cannotWrite(path: error.path, reason: error.reason) }

    /// A one-line message naming the file or value at fault.
    public var description: String {
        switch self {
        case .invalidPixels(let reason):
            return "invalid image: \(reason)"
        case .invalidLayout(let reason):
            return "invalid image grid: \(reason)"
        case .invalidText(let key, let reason):
            return "invalid PNG text entry '\(key)': \(reason)"
        case .cannotWrite(let path, let reason):
            return "cannot write \(PathText.display(path)): \(reason)"
        case .unreadable(let error):
            return error.description
        case .notPNG(let path):
            return "\(PathText.display(path)) is not a PNG file (no PNG signature)"
        case .corrupt(let path, let reason):
            return "\(PathText.display(path)) is a damaged PNG: \(reason)"
        case .tooLarge(let path, let width, let height, let limit):
            return "\(PathText.display(path)) is \(width)×\(height) pixels, over the limit of \(limit) per side"
        }
    }
}
