// swift-tools-version: 6.0
import PackageDescription

/// ddim: watch a diffusion model draw, live, in a terminal.
/// Layers (arrows point down only): ddim → TUI → Engine → {Sampling, UNet, Imaging, Preview, Hub} → Tensors → C shims;
/// Graphics (pixel protocols: kitty, sixel, iTerm2) sits on Preview and Imaging, under TUI and ddim.
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
        .systemLibrary(
            name: "CSixel", pkgConfig: "libsixel",
            providers: [.apt(["libsixel-dev"])]),

        // MARK: - Libraries
        .target(name: "CKernels"),
        // The version and the commit the binary was built from (`ddim --version`; the Makefile
        // writes the commit into a git-ignored header before each build).
        .target(name: "BuildInfo"),
        // Reading outside files (bounded, regular files only) and strict JSON.
        .target(name: "Files"),
        // Writing outside files (OutputPath, AtomicFile) and the process's signals (Interrupts).
        .target(name: "Output", dependencies: ["Files"]),
        .target(name: "Tensors", dependencies: ["CBLAS", "CKernels", "Files"]),
        .target(name: "UNet", dependencies: ["Tensors", "Files"]),
        .target(name: "Sampling", dependencies: ["Tensors", "Files"]),
        .target(name: "Imaging", dependencies: ["CPNG", "Files", "Output"]),
        .target(name: "Preview"),
        // Real pixels in the terminal: kitty graphics, sixel (libsixel), iTerm2 inline images, the
        // terminal's answers to the detection queries, tmux passthrough. zlib comes with CPNG.
        .target(name: "Graphics", dependencies: ["Preview", "Imaging", "CPNG", "CSixel"]),
        .target(name: "DefaultModel", resources: [.copy("digits")]),
        // Hub names (org/name[@revision]) through the Hugging Face cache, downloads into it
        // (URLSession: FoundationNetworking, libcurl on Linux), our own SHA-256.
        .target(name: "Hub"),
        .target(
            name: "Engine", dependencies: ["Tensors", "UNet", "Sampling", "Imaging", "DefaultModel", "Files", "Output", "Hub"]),
        .target(
            name: "Themes", path: "themes",
            resources: [.copy("dusk.theme"), .copy("paper.theme"), .copy("contrast.theme")]),
        .target(
            name: "TUI", dependencies: ["CNCurses", "Engine", "Preview", "Graphics", "Imaging", "Themes", "Files", "Output"]),

        // MARK: - The command
        .executableTarget(
            name: "ddim",
            dependencies: [
                "Engine", "TUI", "Output", "Graphics", "Preview", "BuildInfo", "Hub",
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
        .testTarget(name: "GraphicsTests", dependencies: ["Graphics", "Preview", "Imaging", "CPNG", "CSixel"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "ddim", "Output"]),
        .testTarget(name: "TUITests", dependencies: ["TUI", "Preview", "ddim"]),
        .testTarget(name: "FuzzTests", dependencies: ["FuzzTargets"]),
        .testTarget(name: "HubTests", dependencies: ["Hub", "Engine", "ddim", "Imaging"]),
    ],
    swiftLanguageModes: [.v6]
)

// Every Swift module is built with -O, bounds and overflow checks kept: -Ounchecked (all modules
// until session 9) saved 0.4–0.9 % of the instructions of a forward pass (callgrind, digits model,
// batch 1 and 4; the hot loops are the C kernels'), and compiled out every precondition of the
// parsers, the engine and the UI. docs/reliability.md.
