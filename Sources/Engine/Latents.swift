import Foundation
import Imaging
import Sampling
import Tensors
import UNet
import Output

/// x_T on disk: a safetensors file with one F32 tensor `x_T` of shape (B, C, H, W), so that
/// `ddim invert --save-latent` and `ddim sample --latent` (and PyTorch's `safetensors.torch.load_file`)
/// read the same thing.
public enum LatentFile {
    /// The tensor's name in the file.
    public static let tensorName = "x_T"

    /// Writes x (B, C, H, W) with `metadata` (model, steps, …); atomic, and a signal leaves no
    /// temporary file (``AtomicFile``).
    public static func write(_ x: Tensor, to path: String, metadata: [String: String] = [:]) throws {
        try AtomicFile.write(SafeTensorsWriter.encode([tensorName: x], metadata: metadata), to: path)
    }

    /// The number of samples in the file, from its header alone (nothing is converted): what a
    /// run from it will hold, known before it reads them. A file that ``read(_:sampleShape:)``
    /// would refuse counts as 1 (the read names what is wrong).
    public static func sampleCount(_ path: String) throws -> Int {
        let file = try SafeTensorsFile(url: URL(fileURLWithPath: path))
        guard let shape = file.entries[tensorName]?.shape, shape.count == 4 else { return 1 }
        return max(1, shape[0])
    }

    /// Reads x_T for a model whose samples are `sampleShape` (C, H, W); a (C, H, W) tensor is
    /// taken as a batch of one. Errors name the file and the tensor.
    public static func read(_ path: String, sampleShape: [Int]) throws -> Tensor {
        try read(SafeTensorsFile(url: URL(fileURLWithPath: path)), sampleShape: sampleShape)
    }

    /// The largest |x| accepted in x_T. x_T is Gaussian noise (or a DDIM inversion of a
    /// picture, which ends as noise): |x| > 10 is already unlikely; 10⁴ cannot be noise, and
    /// values like 10³⁰ would overflow in the first forward pass, where the NaN check would
    /// blame the model.
    static let maxMagnitude: Float = 1e4

    /// x_T from an opened safetensors file (as ``read(_:sampleShape:)``; the fuzz harness reads
    /// files from memory through this).
    public static func read(_ file: SafeTensorsFile, sampleShape: [Int]) throws -> Tensor {
        let path = file.path
        guard let entry = file.entries[tensorName] else {
            let names = file.entries.keys.sorted().joined(separator: ", ")
            throw ModelError(file: path, "no tensor '\(tensorName)' (the file has: \(names.isEmpty ? "none" : names))")
        }
        guard [3, 4].contains(entry.shape.count), Array(entry.shape.suffix(3)) == sampleShape, entry.shape.count == 3 || entry.shape[0] >= 1 else {
            throw ModelError(file: path, "tensor '\(tensorName)' has shape \(entry.shape); the model samples (B, \(sampleShape.map(String.init).joined(separator: ", ")))")
        }
        var x = try file.tensor(tensorName)
        if entry.shape.count == 3 { x = x.reshaped([1] + entry.shape) }
        guard x.data.allSatisfy(\.isFinite) else { throw ModelError(file: path, "tensor '\(tensorName)' holds NaN or infinite values") }
        if let i = x.data.firstIndex(where: { abs($0) > maxMagnitude }) {
            throw ModelError(file: path, "tensor '\(tensorName)' holds \(x.data[i]) (element \(i)), far outside what noise can be (|x| ≤ \(Int(maxMagnitude)))")
        }
        return x
    }
}

extension LoadedModel {
    /// x_T of one seed, as `ddim sample --seed S --batch 1` draws it: torch.randn((1, C, H, W))
    /// after torch.manual_seed(S).
    public func latent(seed: UInt64) -> Tensor {
        var source = TorchRandom(seed: seed)
        return source.normal(shape: [1] + sampleShape())
    }

    /// A PNG as a model input x₀ (1, C, H, W) in [−1, 1] (x = p/127.5 − 1). Grey and RGB are
    /// converted to the model's channel count; the size must be the model's.
    public func image(at path: String) throws -> Tensor {
        let shape = sampleShape()
        let picture = try PNGReader().read(path, channels: shape[0])
        guard picture.height == shape[1], picture.width == shape[2] else {
            throw ImagingError.invalidPixels(reason: "\(path) is \(picture.width)×\(picture.height) pixels; the model \(name) takes \(shape[2])×\(shape[1])")
        }
        return Tensor(shape: [1] + shape, data: picture.chwFloats())
    }
}
