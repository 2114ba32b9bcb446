import Files
import Foundation
import Output
import Tensors
import UNet

/// `ddim convert`: a PyTorch checkpoint rewritten as safetensors beside it.
public enum WeightConversion {
    /// What a conversion did.
    public struct Result: Sendable {
        /// The checkpoint read.
        public let source: URL
        /// The safetensors file written.
        public let target: URL
        /// Its format ("PyTorch zip checkpoint", …).
        public let format: String
        /// Tensors written.
        public let tensors: Int
        /// Bytes written.
        public let bytes: Int
    }

    /// Reads `diffusion_pytorch_model.bin` in the model folder `folder` (its `unet/` in a
    /// pipeline folder) and writes every tensor, as F32, to `diffusion_pytorch_model.safetensors`
    /// beside it (metadata `format: pt`, as diffusers writes). An existing safetensors file is
    /// refused unless `force`; the file is written whole or not at all (``AtomicFile``). The
    /// whole model is held in memory twice while it is written (its tensors and the file's bytes).
    public static func convert(folder: URL, force: Bool = false) throws -> Result {
        let fm = FileManager.default
        var dir = folder
        if fm.fileExists(atPath: folder.appendingPathComponent("model_index.json").path) {
            dir = folder.appendingPathComponent("unet")
        }
        let source = dir.appendingPathComponent("diffusion_pytorch_model.bin")
        guard fm.fileExists(atPath: source.path) else {
            throw ModelError(file: source.path, "no such file (ddim convert reads diffusion_pytorch_model.bin)")
        }
        let target = dir.appendingPathComponent("diffusion_pytorch_model.safetensors")
        if fm.fileExists(atPath: target.path), !force {
            throw ModelError(file: target.path, "already exists (give --force to replace it)")
        }
        let checkpoint = try TorchCheckpointFile(url: source)
        var tensors: [String: Tensor] = [:]
        for name in checkpoint.names { tensors[name] = try checkpoint.tensor(name) }
        let bytes = try SafeTensorsWriter.encode(tensors, metadata: ["format": "pt"])
        try AtomicFile.write(bytes, to: target.path)
        return Result(source: source, target: target, format: checkpoint.formatName, tensors: tensors.count, bytes: bytes.count)
    }
}
