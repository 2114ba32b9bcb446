/// The output tile of a Winograd convolution: F(m×m, 3×3) computes m×m outputs from an
/// (m + 2)² input tile with (m + 2)² multiplies per input channel.
public enum WinogradTile: Int, Sendable {
    /// F(2×2, 3×3): 16 planes, 4 multiplies per output (9 directly); error ~1e-6 relative.
    case f2x2 = 2
    /// F(4×4, 3×3): 36 planes, 2.25 multiplies per output; error ~1e-5–1e-4 relative (larger
    /// transform constants), and tiles of 4×4 need maps of 16×16 or more to fill the kernel.
    case f4x4 = 4

    /// The number of planes: (m + 2)².
    public var planes: Int { (rawValue + 2) * (rawValue + 2) }
}
