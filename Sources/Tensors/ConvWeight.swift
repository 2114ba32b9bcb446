import Foundation
import CKernels

/// Weights of a 2-D convolution, laid out once at load as a GEMM operand.
public struct ConvWeight: Sendable {
    /// Output channels.
    public let outChannels: Int
    /// Input channels.
    public let inChannels: Int
    /// Kernel height and width.
    public let kernel: Int
    /// Whether the original weights are held beside the planes.
    public var keepsWeights: Bool { stored != nil }
    private let stored: [Float]?
    /// (out)
    public let bias: [Float]?
    /// 3×3 kernels only, when asked for: the Winograd planes U_k = (G g Gᵀ)_k (out × in) — 16
    /// for F(2×2, 3×3), 36 for F(4×4, 3×3) — made once at load and packed in blocks of 6 output
    /// channels for the convolution's own GEMM kernel (`ddim_winograd_pack_weights`; ``ConvolutionAlgorithm``, ``ConvPolicy``).
    public let winograd: [Float]?
    /// The output tile those planes are for (nil without planes).
    public let winogradTile: WinogradTile?
    /// The weights as an (out × in·k·k) GEMM operand packed once in blocks of 6 rows for ddim's
    /// own GEMM kernel (`ddim_gemm_packed`: 1×1 convolutions and im2col), where OpenBLAS's
    /// sgemm would pack them again on every call; nil: OpenBLAS (``packsGEMMByDefault``).
    public let gemmPacked: [Float]?

    /// Whether layers pack their GEMM weights: only with `DDIM_GEMM=packed`. Measured on the
    /// AVX-512 machine (docs/performance.md): cifar10-32 at batch 1 ~10 % faster, batch 4 and the
    /// digits model unchanged, and a second copy of those weights (+52 MB peak for cifar10-32) —
    /// not yet worth being the default.
    public static let packsGEMMByDefault = ProcessInfo.processInfo.environment["DDIM_GEMM"] == "packed"

    /// Wraps PyTorch-layout weights `(out, in, k, k)` and an optional bias `(out)`. A 3×3 kernel
    /// also gets the Winograd planes of `winograd` (F(2×2, 3×3) unless told; nil: none), used by
    /// stride-1, padding-1 convolutions of large enough images: 16/9 (F(2×2)) or 36/9 (F(4×4))
    /// of the weights in memory. `keepWeights: false` drops the originals once the planes are
    /// made (for layers that only Winograd will run: 9/25 or 9/45 of their memory saved).
    /// `packGEMM`: also the packed GEMM operand (``gemmPacked``) for the layers that use a GEMM
    /// (1×1, and any kernel whose original weights are kept).
    public init(weight: Tensor, bias: Tensor?, winograd: WinogradTile? = .f2x2, keepWeights: Bool = true,
                packGEMM: Bool = ConvWeight.packsGEMMByDefault) {
        precondition(weight.rank == 4 && weight.shape[2] == weight.shape[3], "ConvWeight: shape \(weight.shape)")
        outChannels = weight.shape[0]
        inChannels = weight.shape[1]
        kernel = weight.shape[2]
        self.stored = keepWeights || winograd == nil || weight.shape[2] != 3 ? weight.data : nil
        self.bias = bias?.data
        if let tile = winograd, kernel == 3 {
            let (cout, cin) = (outChannels, inChannels)
            var packed = uninitializedFloats(ddim_winograd_packed_count(Int32(tile.rawValue), cout, cin))
            weight.data.withUnsafeBufferPointer { g in
                packed.withUnsafeMutableBufferPointer { pp in
                    ddim_winograd_pack_weights(g.start, Int32(tile.rawValue), cout, cin, pp.start)
                }
            }
            self.winograd = packed
            self.winogradTile = tile
        } else {
            self.winograd = nil
            self.winogradTile = nil
        }
        if packGEMM, let stored {
            let (m, k) = (outChannels, inChannels * kernel * kernel)
            var packed = uninitializedFloats(ddim_gemm_packed_count(m, k))
            stored.withUnsafeBufferPointer { a in
                packed.withUnsafeMutableBufferPointer { pp in ddim_gemm_pack_weights(a.start, m, k, pp.start) }
            }
            gemmPacked = packed
        } else {
            gemmPacked = nil
        }
    }

    /// The weights as an (out, in·k·k) row-major matrix, the PyTorch layout (out, in, kh, kw)
    /// flattened: the stored ones, or, for a layer whose original weights were not kept
    /// (``keepsWeights``), unpacked from its Winograd planes into a new array on every call
    /// (the im2col path then; ~1e-7 relative).
    public func unpackedWeights() -> [Float] {
        if let stored { return stored }
        guard let planes = winograd, let tile = winogradTile else { return [] }
        var g = uninitializedFloats(outChannels * inChannels * 9)
        planes.withUnsafeBufferPointer { up in
            g.withUnsafeMutableBufferPointer { gp in
                ddim_winograd_unpack_weights(up.start, Int32(tile.rawValue), outChannels, inChannels, gp.start)
            }
        }
        return g
    }
}
