import Engine
import Files
import Foundation
import Imaging
import Sampling
import Tensors
import TUI
import UNet

/// The parsers of files `ddim` reads from the outside, driven with arbitrary bytes: what the
/// libFuzzer harness (`make fuzz`) and the corpus replay test run. A thrown error is the expected
/// answer to a bad file; a trap, a crash or a runaway allocation is a bug.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case safetensors, config, scheduler, png, theme, latent, json, pickle

    /// The file name the bytes are written to (some readers look at the extension).
    var fileName: String {
        switch self {
        case .safetensors: "diffusion_pytorch_model.safetensors"
        case .config: "config.json"
        case .scheduler: "scheduler_config.json"
        case .png: "input.png"
        case .theme: "input.theme"
        case .latent: "x.safetensors"
        case .json: "input.json"
        case .pickle: "diffusion_pytorch_model.bin"
        }
    }

    /// Feeds `bytes` to this parser, in memory, and exercises what a successful parse hands on.
    /// Returns whether the input was accepted. This is what libFuzzer runs (no file per input).
    @discardableResult
    public func run(_ bytes: [UInt8]) -> Bool {
        do {
            try parse(Data(bytes), name: fileName)
            return true
        } catch {
            // a clear error is a correct answer; it must name the file
            precondition("\(error)".contains(fileName) || self == .scheduler, "error without the file: \(error)")
            return false
        }
    }

    /// The same bytes through the file readers `ddim` uses on disk (written to a scratch file):
    /// the replay tests run both routes.
    @discardableResult
    public func runThroughFile(_ bytes: [UInt8]) -> Bool {
        // a folder per call: callers may run in parallel (the replay tests do)
        let folder = Self.scratch.appendingPathComponent(UUID().uuidString)
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent(fileName)
        do {
            try Data(bytes).write(to: url)
            try exercise(url)
            return true
        } catch {
            precondition("\(error)".contains(url.path) || self == .theme || self == .scheduler, "error without the file: \(error)")
            return false
        }
    }

    private func parse(_ data: Data, name: String) throws {
        switch self {
        case .safetensors:
            let file = try SafeTensorsFile(bytes: data, path: name)
            try Self.checkRoundTrip(file)
        case .latent:
            _ = try Self.latent(try SafeTensorsFile(bytes: data, path: name))
        case .json:
            try Self.readJSON([UInt8](data), name: name)
        case .pickle:
            try Self.readAll(try TorchCheckpointFile(bytes: [UInt8](data), path: name))
        case .config:
            _ = try UNetConfig.decode(data, file: name).blockOutChannels.count
        case .scheduler:
            try plan(try SchedulerConfig.decode(data, file: name))
        case .theme:
            _ = try Theme.parse(String(decoding: data, as: UTF8.self), name: "fuzz", file: name)
        case .png:
            let bytes = [UInt8](data)
            _ = try PNGReader().read(bytes: bytes, name: name).chwFloats()
            _ = try PNGReader().readText(bytes: bytes, name: name)
        }
    }

    private func plan(_ config: SchedulerConfig) throws {
        let scheduler = try DDIMScheduler(config: config)
        for steps in [1, 2, 10, 50, config.trainTimesteps] {
            for spacing in TimestepSpacing.allCases {
                _ = try? scheduler.timesteps(steps: steps, spacing: spacing)
            }
        }
    }

    private func exercise(_ url: URL) throws {
        switch self {
        case .safetensors:
            let file = try SafeTensorsFile(url: url)
            for name in file.names { _ = try file.tensor(name) }
        case .latent:
            _ = try Self.latent(try SafeTensorsFile(url: url))
        case .json:
            try Self.readJSON(try InputFile.contents(of: url.path, limit: ReadLimit(bytes: 1 << 20, what: "a fuzz input")), name: url.path)
        case .pickle:
            try Self.readAll(try TorchCheckpointFile(url: url))
        case .config:
            let config = try UNetConfig.load(from: url)
            _ = config.blockOutChannels.count
        case .scheduler:
            try plan(try SchedulerConfig.load(from: url))
        case .png:
            _ = try PNGReader().read(url.path).chwFloats()
            _ = try PNGReader().readText(url.path)
        case .theme:
            _ = try Theme.load(file: url)
        }
    }

    /// Every tensor of an accepted file, written back by ``SafeTensorsWriter`` and read again:
    /// the reader must accept what the writer makes of it, bit for bit.
    private static func checkRoundTrip(_ file: SafeTensorsFile) throws {
        var tensors: [String: Tensor] = [:]
        for name in file.names { tensors[name] = try file.tensor(name) }
        let again = try SafeTensorsFile(bytes: Data(try SafeTensorsWriter.encode(tensors, metadata: file.metadata)), path: file.path)
        precondition(again.names == file.names && again.metadata == file.metadata, "round trip changed the names or metadata")
        for (name, t) in tensors {
            let u = try again.tensor(name)
            precondition(u.shape == t.shape && u.data.map(\.bitPattern) == t.data.map(\.bitPattern), "round trip changed tensor '\(name)'")
        }
    }

    /// Every tensor of an accepted checkpoint, which must have its entry's shape.
    private static func readAll(_ file: TorchCheckpointFile) throws {
        for name in file.names {
            let t = try file.tensor(name)
            precondition(t.shape == file.shape(of: name) && t.data.count == t.shape.reduce(1, *), "tensor '\(name)' read with another shape")
        }
    }

    /// x_T as `ddim sample --latent` reads it, for a model whose samples have the shape of the
    /// file's own x_T (so that the value checks are reached).
    private static func latent(_ file: SafeTensorsFile) throws -> Tensor {
        let shape = file.entries[LatentFile.tensorName]?.shape ?? []
        return try LatentFile.read(file, sampleShape: shape.count >= 3 ? Array(shape.suffix(3)) : [3, 16, 16])
    }

    /// Reads one JSON document to its end, as the safetensors reader reads a header; the error
    /// names the file.
    private static func readJSON(_ bytes: [UInt8], name: String) throws {
        var json = JSONReader(bytes)
        do {
            try json.skipValue()
            try json.finish()
        } catch {
            throw FuzzInputError(file: name, reason: error.description)
        }
    }

    /// A folder of this process's own for the input files.
    static let scratch: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()
}

/// A JSON document refused by the `json` target, with the file's name.
struct FuzzInputError: Error, CustomStringConvertible {
    let file: String
    let reason: String
    var description: String { "\(file): \(reason)" }
}
