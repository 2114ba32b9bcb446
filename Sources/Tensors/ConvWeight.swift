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
    /// Whether the original weights are held beside the planes (row-major, or packed for the
    /// GEMM: ``gemmPacked``).
    public var keepsWeights: Bool { stored != nil || gemmPacked != nil }
    private let stored: [Float]?
    /// (out)
    public let bias: [Float]?
    /// 3×3 kernels only, when asked for: the Winograd planes U_k = (G g Gᵀ)_k (out × in) — 16
    /// for F(2×2, 3×3), 36 for F(4×4, 3×3) — made once at load and packed in blocks of 6 output
    /// channels for the convolution's own GEMM kernel (`ddim_winograd_pack_weights`; ``ConvolutionAlgorithm``, ``ConvPolicy``).
    /// nil in bf16 (``winogradBF16`` holds them then).
    public let winograd: [Float]?
    /// The output tile those planes are for (nil without planes).
    public let winogradTile: WinogradTile?
    /// The planes in bf16 pairs instead (`ddim_winograd_bf16_from_packed`), when asked for and
    /// the CPU runs them: the Winograd path then multiplies in bf16 (``ConvPolicy/Precision/bf16``),
    /// in half the memory.
    public let winogradBF16: [Float]?
    /// Whether the layer has Winograd planes, in either precision.
    public var hasWinograd: Bool { winogradTile != nil }
    /// The weights as an (out × in·k·k) GEMM operand packed once in blocks of 6 rows for ddim's
    /// own GEMM kernel (1×1 convolutions and im2col), where OpenBLAS's sgemm would pack them
    /// again on every call; it replaces the row-major copy. nil: OpenBLAS on the row-major
    /// weights (``packsGEMMByDefault``).
    public let gemmPacked: PackedMatrix?

    /// Whether layers pack their GEMM weights: yes unless `DDIM_GEMM=blas` (OpenBLAS, for A/B
    /// runs). Measured in docs/performance.md on the Zen 5 EPYC: cifar10-32 ~6 % faster at batch 1
    /// than OpenBLAS's own AVX-512 (Cooperlake) kernels, 10–20 % than its AVX2 ones; the same
    /// memory, as the packed copy is the only one.
    public static let packsGEMMByDefault = ProcessInfo.processInfo.environment["DDIM_GEMM"] != "blas"

    /// Wraps PyTorch-layout weights `(out, in, k, k)` and an optional bias `(out)`. A 3×3 kernel
    /// also gets the Winograd planes of `winograd` (F(2×2, 3×3) unless told; nil: none), used by
    /// stride-1, padding-1 convolutions of large enough images: 16/9 (F(2×2)) or 36/9 (F(4×4))
    /// of the weights in memory. `keepWeights: false` drops the originals once the planes are
    /// made (for layers that only Winograd will run: 9/25 or 9/45 of their memory saved).
    /// `packGEMM`: also the packed GEMM operand (``gemmPacked``) for the layers that use a GEMM
    /// (1×1, and any kernel whose original weights are kept).
    /// `bf16`: the planes, and the packed GEMM operand, in bf16 pairs instead (``winogradBF16``,
    /// ``PackedMatrix/bf16``), where the CPU runs them.
    public init(weight: Tensor, bias: Tensor?, winograd: WinogradTile? = .f2x2, keepWeights: Bool = true,
                packGEMM: Bool = ConvWeight.packsGEMMByDefault, bf16: Bool = false) {
        precondition(weight.rank == 4 && weight.shape[2] == weight.shape[3], "ConvWeight: shape \(weight.shape)")
        outChannels = weight.shape[0]
        inChannels = weight.shape[1]
        kernel = weight.shape[2]
        let keep = keepWeights || winograd == nil || weight.shape[2] != 3
        gemmPacked = keep && packGEMM
            ? PackedMatrix(weight.data, rows: weight.shape[0], columns: weight.count / weight.shape[0], bf16: bf16) : nil
        self.stored = keep && gemmPacked == nil ? weight.data : nil
        self.bias = bias?.data
        if let tile = winograd, kernel == 3 {
            let (cout, cin) = (outChannels, inChannels)
            var packed = uninitializedFloats(ddim_winograd_packed_count(Int32(tile.rawValue), cout, cin))
            weight.data.withUnsafeBufferPointer { g in
                packed.withUnsafeMutableBufferPointer { pp in
                    ddim_winograd_pack_weights(g.start, Int32(tile.rawValue), cout, cin, pp.start)
                }
            }
            self.winogradTile = tile
            if bf16 && ddim_bf16_supported() != 0 {
                var half = uninitializedFloats(ddim_winograd_bf16_count(Int32(tile.rawValue), cout, cin))
                packed.withUnsafeBufferPointer { pp in
                    half.withUnsafeMutableBufferPointer { hp in
                        ddim_winograd_bf16_from_packed(pp.start, Int32(tile.rawValue), cout, cin, hp.start)
                    }
                }
                (self.winograd, winogradBF16) = (nil, half)
            } else {
                (self.winograd, winogradBF16) = (packed, nil)
            }
        } else {
            self.winograd = nil
            self.winogradTile = nil
            self.winogradBF16 = nil
        }
    }

    /// The weights as an (out, in·k·k) row-major matrix, the PyTorch layout (out, in, kh, kw)
    /// flattened: the stored ones; unpacked from ``gemmPacked`` (exactly); or, for a layer whose
    /// original weights were not kept (``keepsWeights``), from its Winograd planes (~1e-7
    /// relative) — both into a new array on every call.
    public func unpackedWeights() -> [Float] {
        if let stored { return stored }
        if let gemmPacked { return gemmPacked.unpacked() }
        guard let tile = winogradTile else { return [] }
        var planes = winograd ?? []
        if let half = winogradBF16 {
            // the bf16 planes as floats (exact), then the way back as from float planes
            planes = uninitializedFloats(ddim_winograd_packed_count(Int32(tile.rawValue), outChannels, inChannels))
            half.withUnsafeBufferPointer { hp in
                planes.withUnsafeMutableBufferPointer { pp in
                    ddim_winograd_bf16_to_packed(hp.start, Int32(tile.rawValue), outChannels, inChannels, pp.start)
                }
            }
        }
        var g = uninitializedFloats(outChannels * inChannels * 9)
        planes.withUnsafeBufferPointer { up in
            g.withUnsafeMutableBufferPointer { gp in
                ddim_winograd_unpack_weights(up.start, Int32(tile.rawValue), outChannels, inChannels, gp.start)
            }
        }
        return g
    }
}
