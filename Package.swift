// swift-tools-version: 6.0
import PackageDescription

/// ddim: watch a diffusion model draw, live, in a terminal.
/// Layers (arrows point down only): ddim → TUI → Engine → {Sampling, UNet, Imaging, Preview} → Tensors → C shims.
let package = Package(
    name: "ddim",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ddim", targets: ["ddim"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // MARK: - System libraries
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CNCurses", pkgConfig: "ncursesw",
            providers: [.apt(["libncursesw5-dev"])]),
        .systemLibrary(
            name: "CPNG", pkgConfig: "libpng",
            providers: [.apt(["libpng-dev", "zlib1g-dev"])]),

        // MARK: - Libraries
        .target(name: "CKernels"),
        // Reading outside files (bounded, regular files only) and strict JSON: checked arithmetic
        // and bounds, not `fast`, so that a bug here traps instead of reading out of bounds.
        .target(name: "Files"),
        .target(name: "Tensors", dependencies: ["CBLAS", "CKernels", "Files"], swiftSettings: fast),
        .target(name: "UNet", dependencies: ["Tensors", "Files"], swiftSettings: fast),
        .target(name: "Sampling", dependencies: ["Tensors", "Files"], swiftSettings: fast),
        .target(name: "Imaging", dependencies: ["CPNG", "Files"], swiftSettings: fast),
        .target(name: "Preview", swiftSettings: fast),
        .target(name: "DefaultModel", resources: [.copy("digits")]),
        .target(
            name: "Engine", dependencies: ["Tensors", "UNet", "Sampling", "Imaging", "DefaultModel", "Files"],
            swiftSettings: fast),
        .target(
            name: "Themes", path: "themes",
            resources: [.copy("dusk.theme"), .copy("paper.theme"), .copy("contrast.theme")]),
        .target(
            name: "TUI", dependencies: ["CNCurses", "Engine", "Preview", "Imaging", "Themes", "Files"],
            swiftSettings: fast),

        // MARK: - The command
        .executableTarget(
            name: "ddim",
            dependencies: [
                "Engine", "TUI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // MARK: - Fuzzing (make fuzz; docs/reliability.md)
        .target(name: "FuzzTargets", dependencies: ["Engine", "TUI"]),
        .executableTarget(name: "ddim-fuzz", dependencies: ["FuzzTargets"]),

        // MARK: - Tests
        .testTarget(name: "FilesTests", dependencies: ["Files"]),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "CKernels", "Files"]),
        .testTarget(name: "UNetTests", dependencies: ["UNet", "Tensors", "Files"]),
        .testTarget(name: "SamplingTests", dependencies: ["Sampling", "Tensors"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "CPNG"]),
        .testTarget(name: "PreviewTests", dependencies: ["Preview"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "ddim"]),
        .testTarget(name: "TUITests", dependencies: ["TUI", "Preview", "ddim"]),
        .testTarget(name: "FuzzTests", dependencies: ["FuzzTargets"]),
    ],
    swiftLanguageModes: [.v6]
)

/// Kernels are bounds-checked in debug; release builds optimise across the whole module.
var fast: [SwiftSetting] { [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))] }
