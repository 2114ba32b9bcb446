/// Which algorithm stride-1, padding-1 3×3 convolutions use (``ConvPolicy/algorithm``; benchmarks
/// and tests compare the two).
public enum ConvolutionAlgorithm: Sendable {
    /// im2col + one GEMM per band or group of images: 9·Cin multiplies per output.
    case im2col
    /// Winograd F(4×4, 3×3) or F(2×2, 3×3), per the weights' planes (``WinogradTile``):
    /// 2.25·Cin or 4·Cin multiplies per output.
    case winograd

    /// Below this many tiles per convolution (batch × ⌈H/m⌉ × ⌈W/m⌉) im2col is used: the
    /// Winograd kernel works on panels of 16 tiles, and a panel mostly of padding costs more
    /// than the transforms save (4×4 maps at batch 1 with F(2×2), 8×8 with F(4×4)).
    public static let winogradMinTiles = 16
}
