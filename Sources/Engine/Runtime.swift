import DefaultModel
import Foundation
import Tensors
import UNet

/// Sets how many threads a forward uses (ddim's pool; OpenBLAS runs single-threaded inside it).
public func setThreads(_ n: Int) { Threads.set(n) }

/// Re-executes the program once with OPENBLAS_CORETYPE set when OpenBLAS fell back to pre-AVX2
/// kernels on a CPU it did not recognise, and with OPENBLAS_NUM_THREADS=1 under a finite
/// RLIMIT_AS (``Threads/upgradeUnrecognisedCPU()``). First in `main`.
public func upgradeBLASForUnrecognisedCPU() { Threads.upgradeUnrecognisedCPU() }

/// What the forward runs on: "2 threads (ddim's pool, avx2 kernels; OpenBLAS Haswell inside, 1 thread a call)".
public var blasDescription: String {
    "\(Threads.current) thread\(Threads.current == 1 ? "" : "s") (ddim's pool, \(Threads.kernelPath) kernels; "
        + "OpenBLAS \(Threads.coreName) inside, 1 thread a call)"
}

extension ModelStore {
    /// Where the embedded model lives: SwiftPM copies the `DefaultModel` target's resources into
    /// `ddim_DefaultModel.resources/` beside the executable.
    static var defaultModelFolder: URL {
        let exe = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                      ?? CommandLine.arguments[0]).resolvingSymlinksInPath()
        return exe.deletingLastPathComponent().appendingPathComponent(DefaultModel.bundleName)
            .appendingPathComponent(DefaultModel.folderName)
    }

    /// Loads the embedded digits model, its convolutions under `policy`; a clear error when the
    /// build does not carry it.
    public static func loadDefault(policy: ConvPolicy = ConvPolicy()) throws -> LoadedModel {
        let folder = defaultModelFolder
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path) else {
            throw ModelError(file: folder.path, "the embedded default model is not in this build; pass --model DIR")
        }
        return try load(folder, name: DefaultModel.folderName, policy: policy)
    }
}
