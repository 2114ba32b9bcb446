import Foundation

/// A file of named tensors a model's weights are read from: ``SafeTensorsFile`` or
/// ``TorchCheckpointFile``. Opened (and checked) once; each tensor read when asked for.
public protocol WeightSource: AnyObject, Sendable {
    /// The path the file was read from (for messages).
    var path: String { get }
    /// What kind of file it is, for `ddim info`: "safetensors", "PyTorch zip checkpoint", ….
    var formatName: String { get }
    /// The names of all tensors, sorted.
    var names: [String] { get }
    /// The shape of tensor `name`, nil if the file has none of that name.
    func shape(of name: String) -> [Int]?
    /// The tensor `name` converted to Float; throws, naming the file and the tensor, if it is
    /// absent or cannot be read.
    func tensor(_ name: String) throws -> Tensor
    /// The tensor `name`, which must have exactly `shape`; the error names both shapes.
    func tensor(_ name: String, shape: [Int]) throws -> Tensor
}

/// Opens weights files by their name.
public enum WeightFile {
    /// `url` as a PyTorch checkpoint when its name ends in `.bin`, `.pt` or `.pth`, else as
    /// safetensors; errors name the file.
    public static func open(_ url: URL) throws -> any WeightSource {
        switch url.pathExtension.lowercased() {
        case "bin", "pt", "pth": try TorchCheckpointFile(url: url)
        default: try SafeTensorsFile(url: url)
        }
    }
}
