import Engine
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
    case safetensors, config, scheduler, png, theme

    /// The file name the bytes are written to (some readers look at the extension).
    var fileName: String {
        switch self {
        case .safetensors: "diffusion_pytorch_model.safetensors"
        case .config: "config.json"
        case .scheduler: "scheduler_config.json"
        case .png: "input.png"
        case .theme: "input.theme"
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
            for name in file.names { _ = try file.tensor(name) }
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

    /// A folder of this process's own for the input files.
    static let scratch: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()
}
