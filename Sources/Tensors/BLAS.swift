import CBLAS

/// The one place that calls BLAS: C = α·op(A)·op(B) + β·C on row-major matrices.
///
/// `a` is M×K (or K×M when `transposeA`), `b` is K×N (or N×K when `transposeB`), `c` is M×N
/// with leading dimension `ldc` (≥ N; larger to write a column band of a wider matrix).
@inline(__always)
public func gemm(
    m: Int, n: Int, k: Int,
    _ a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
    _ b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
    _ c: UnsafeMutablePointer<Float>, ldc: Int,
    alpha: Float = 1, beta: Float = 0
) {
    cblas_sgemm(
        CblasRowMajor,
        transposeA ? CblasTrans : CblasNoTrans,
        transposeB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k),
        alpha, a, Int32(lda), b, Int32(ldb),
        beta, c, Int32(ldc))
}

/// OpenBLAS's thread pool, as seen by the rest of the program.
public enum BLASThreads {
    /// Sets how many threads OpenBLAS uses inside one GEMM.
    public static func set(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }
    /// The number of threads OpenBLAS uses now.
    public static var current: Int { Int(openblas_get_num_threads()) }
    /// The kernel family OpenBLAS chose for this CPU (e.g. "Haswell").
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }
}

/// How the process allocates the large, short-lived buffers of a forward pass.
public enum Memory {
    /// Keeps freed blocks below 512 MB in the heap for reuse instead of returning them to the
    /// kernel. glibc otherwise serves each buffer above its (adaptive) mmap threshold with fresh
    /// pages, and every page is faulted in and zeroed by the kernel again on every step: measured
    /// as half the system time of a sampling run. Safe to call more than once.
    public static func keepFreedBuffers() {
        ddim_keep_freed_buffers()
    }
}
