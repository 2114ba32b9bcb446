import ArgumentParser
import Engine
import Foundation
import Output

/// `ddim convert`: a PyTorch checkpoint rewritten as safetensors.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write diffusion_pytorch_model.safetensors beside a model folder's diffusion_pytorch_model.bin.",
        discussion: """
            The checkpoint is read with ddim's restricted unpickler (nothing in it is run): torch's zip
            format or its legacy format, float32/float16/bfloat16 tensors, all written as F32.
            ddim reads the .bin directly too; converting only saves the check on every load.
            """)

    @Argument(help: ArgumentHelp("A diffusers model folder (or pipeline folder) with diffusion_pytorch_model.bin.", valueName: "dir"))
    var folder: String

    @Flag(name: .long, help: "Replace an existing diffusion_pytorch_model.safetensors.")
    var force = false

    func run() throws {
        let r = try WeightConversion.convert(folder: URL(fileURLWithPath: folder), force: force)
        try StandardOutput.print("\(r.target.path): \(r.tensors) tensors, \(r.bytes) bytes (from the \(r.format) \(r.source.lastPathComponent))")
    }
}
