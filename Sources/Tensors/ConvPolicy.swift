import CKernels
import Foundation

/// How a model's stride-1 3×3 convolutions run and which Winograd planes its loader packs for
/// them: chosen once (the command line reads it from the environment, ``init(environment:)``;
/// elsewhere the defaults unless told), passed to the loader, and kept by the model, whose
/// forward passes follow it.
public struct ConvPolicy: Sendable, Equatable {
    /// The algorithm of stride-1, padding-1 3×3 convolutions (maps of fewer than
    /// ``ConvolutionAlgorithm/winogradMinTiles`` tiles take im2col whatever it says).
    public var algorithm: ConvolutionAlgorithm
    /// Which Winograd tiles the loader may pack.
    public var tiles: WinogradTiles

    /// Which Winograd tiles a loader may pack for a layer.
    public enum WinogradTiles: Sendable {
        /// F(4×4, 3×3) where a layer's maps are wide enough (and, in large models, its channels
        /// few enough), F(2×2, 3×3) elsewhere.
        case automatic
        /// F(2×2, 3×3) throughout (for benchmarks' A/B runs).
        case onlyF2x2
    }

    /// The arithmetic of the Winograd products.
    public var precision: Precision

    /// The arithmetic of the Winograd products M_k = U_k · V_k.
    public enum Precision: String, Sendable, CaseIterable {
        /// Float throughout (the default).
        case float32 = "fp32"
        /// The convolutions' operands rounded to bfloat16 — Winograd's U and V, and the 1×1 and
        /// im2col GEMMs' — products summed in float (AVX-512 BF16 only): twice the multiply-adds
        /// an instruction, their weights in half the memory; the model's first and last
        /// convolutions stay in float, attention in float.
        case bf16

        /// Whether it runs here (bf16: AVX-512 BF16 and the AVX-512 kernels in use).
        public var supported: Bool { self == .float32 || ddim_bf16_supported() != 0 }
    }

    /// A policy; the default is Winograd with tiles picked per layer, in float.
    public init(algorithm: ConvolutionAlgorithm = .winograd, tiles: WinogradTiles = .automatic,
                precision: Precision = .float32) {
        (self.algorithm, self.tiles, self.precision) = (algorithm, tiles, precision)
    }

    /// The policy the environment asks for: `DDIM_CONV=im2col` picks im2col, `DDIM_WINOGRAD=2x2`
    /// F(2×2) throughout, `DDIM_PRECISION=bf16` bf16 products; anything else, the defaults.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.init(algorithm: environment["DDIM_CONV"] == "im2col" ? .im2col : .winograd,
                  tiles: environment["DDIM_WINOGRAD"] == "2x2" ? .onlyF2x2 : .automatic,
                  precision: environment["DDIM_PRECISION"] == "bf16" ? .bf16 : .float32)
    }
}
