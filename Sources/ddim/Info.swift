import ArgumentParser
import Engine
import Foundation
import Imaging
import Output

/// `ddim info`: what a model is.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a model: architecture, parameters, FLOPs per step, scheduler.")

    @OptionGroup var model: ModelOptions

    func run() throws {
        let m = try model.load(defaultClass: true)
        let c = m.unet.config
        let shape = m.sampleShape()
        let flops = m.unet.flops(height: shape[1], width: shape[2])
        try StandardOutput.print("model       \(m.name)  (\(m.folder.path))")
        if let weights = m.weights {
            try StandardOutput.print("weights     \(weights.file.lastPathComponent)  (\(weights.format))")
        }
        try StandardOutput.print("sample      \(shape[0]) channel\(shape[0] == 1 ? "" : "s"), \(shape[1])×\(shape[2])")
        try StandardOutput.print("parameters  \(formatCount(m.unet.parameterCount))")
        try StandardOutput.print("per step    \(String(format: "%.2f", flops / 1e9)) GFLOP (batch 1)")
        try StandardOutput.print("channels    \(c.blockOutChannels.map(String.init).joined(separator: ", ")), \(c.layersPerBlock) layer\(c.layersPerBlock == 1 ? "" : "s") per block")
        for line in m.unet.summary { try StandardOutput.print("  \(line)") }
        let s = m.scheduler
        try StandardOutput.print("scheduler   \(s.betaSchedule.rawValue) β, T = \(s.trainTimesteps), \(s.predictionType.rawValue) prediction, clip \(s.clipSample ? "±\(s.clipSampleRange)" : "off"), spacing \(s.timestepSpacing.rawValue)")
    }
}

/// 1234567 → "1.23 M".
func formatCount(_ n: Int) -> String {
    n >= 1_000_000 ? String(format: "%.2f M", Double(n) / 1e6) : n >= 1000 ? String(format: "%.1f k", Double(n) / 1e3) : "\(n)"
}
