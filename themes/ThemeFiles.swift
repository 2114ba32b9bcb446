import Foundation

/// The theme files of this folder, copied by SwiftPM into `ddim_Themes.resources/` beside the
/// executable, so that `--theme NAME` works from any working directory.
public enum ThemeFiles {
    /// The bundled themes, the default first.
    public static let names = ["dusk", "paper", "contrast"]

    /// The folder holding `NAME.theme` files in this build.
    public static var folder: URL {
        let exe = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                      ?? CommandLine.arguments[0]).resolvingSymlinksInPath()
        return exe.deletingLastPathComponent().appendingPathComponent("ddim_Themes.resources")
    }
}
