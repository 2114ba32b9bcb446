import ArgumentParser
import Engine
import Foundation

/// `ddim`: watch a diffusion model draw, live, in a terminal (DDIM, Song et al. 2021).
@main
struct DDIM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ddim",
        abstract: "Watch a diffusion model draw, live, in the terminal — and steer it while it draws.",
        discussion: """
            Without a subcommand, opens the live sampler on the embedded digits model (or --model DIR).
            Models are diffusers UNet2DModel folders (config.json + safetensors), e.g. google/ddpm-cifar10-32.
            """,
        subcommands: [Sample.self, Info.self, Bench.self])

    @OptionGroup var model: ModelOptions
    @OptionGroup var sampling: SamplingOptions

    func run() throws {
        guard isatty(0) == 1, isatty(1) == 1 else {
            throw ValidationError("the live sampler needs a terminal on standard input and output; for scripts use `ddim sample`")
        }
        throw ValidationError("the live terminal UI is not in this build yet; use `ddim sample`")
    }
}
