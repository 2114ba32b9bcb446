import CBLAS
import CKernels

/// The one place that calls BLAS: C = α·op(A)·op(B) + β·C on row-major matrices, split into
/// bands of rows (or columns) over ddim's thread pool when it is large enough to pay
/// (``Threads``), each band one single-threaded OpenBLAS call.
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
    ddim_sgemm(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

/// `count` products C_i = α·op(A_i)·op(B_i) + β·C_i of one shape in one parallel loop (see
/// ``gemm(m:n:k:_:lda:transposeA:_:ldb:transposeB:_:ldc:alpha:beta:)``): A_i = a + i·strideA,
/// B_i = b + i·strideB, C_i = c + i·strideC; a stride of 0 shares that operand.
@inline(__always)
func gemmBatched(
    count: Int, m: Int, n: Int, k: Int,
    _ a: UnsafePointer<Float>, lda: Int, strideA: Int, transposeA: Bool = false,
    _ b: UnsafePointer<Float>, ldb: Int, strideB: Int, transposeB: Bool = false,
    _ c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int,
    alpha: Float = 1, beta: Float = 0
) {
    ddim_sgemm_batched(count, transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, alpha, a, lda, strideA, b, ldb, strideB,
                       beta, c, ldc, strideC)
}

/// ddim's thread pool (`pool.c`), which runs every parallel part of a forward: GEMM bands and
/// the Winograd convolutions' transforms and products. OpenBLAS itself runs on one thread.
public enum Threads {
    /// Sets how many threads a forward uses (the calling thread included); more than the CPUs
    /// this process may use works, but gains nothing (the extra threads do not spin).
    public static func set(_ n: Int) { ddim_pool_set_threads(Int32(max(1, min(n, 64)))) }
    /// The number of threads a forward uses now (default: the CPUs this process may run on).
    public static var current: Int { Int(ddim_pool_threads()) }
    /// When OpenBLAS fell back to pre-AVX2 kernels on an AVX2 + FMA CPU it did not recognise
    /// (Debian 12's 0.3.21 chose Prescott's on a hypervisor's Xeon), re-executes the program
    /// once with OPENBLAS_CORETYPE naming the kernels the CPU can run; OpenBLAS reads it only as
    /// it loads. Does nothing when OPENBLAS_CORETYPE is set. Under a finite RLIMIT_AS, also
    /// keeps one malloc arena and re-executes with OPENBLAS_NUM_THREADS=1, so that no idle
    /// OpenBLAS thread holds its 128 MB buffer (``blasBufferBytes``). Call first in `main`.
    public static func upgradeUnrecognisedCPU() {
        ddim_blas_upgrade_core(CommandLine.unsafeArgv)
    }

    /// Pool workers started so far (the calling thread not included): threads whose stacks are
    /// already mapped.
    public static var workersStarted: Int { Int(ddim_pool_workers_started()) }

    /// Has every thread of the pool take an OpenBLAS buffer at once, so that each maps its own
    /// (``blasBufferBytes``) now rather than at a call later; returns how many threads did. Meant
    /// for before the first forward: with the pool busy the threads cannot meet (each waits 0.2 s).
    @discardableResult
    public static func warmBLAS() -> Int { Int(ddim_blas_warm()) }

    /// Address space OpenBLAS 0.3.21 maps for each thread that calls it, at its first call, and
    /// keeps: BUFFER_SIZE (32 << 22 on x86_64, common_x86_64.h) plus a page.
    public static let blasBufferBytes = (32 << 22) + 4096

    /// The implementation of ddim's own kernels (Winograd GEMM and transforms, attention core)
    /// this process runs: "avx512", "avx2" or "portable" — the best the CPU has, unless
    /// DDIM_KERNELS (or DDIM_GENERIC_KERNEL=1) asked for a lower one.
    public static var kernelPath: String { String(cString: ddim_kernel_path_name(ddim_kernel_path())) }

    /// The kernel family OpenBLAS chose for this CPU (e.g. "Haswell").
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }
}

/// Runs `body(i)` for i in 0..<count on ddim's thread pool and returns when all have run.
/// `body` runs concurrently on several threads: each index must touch its own data. Serial
/// on one thread, inside another loop's task, or while another caller holds the pool.
public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    withoutActuallyEscaping(body) { body in
        var task = body
        withUnsafeMutablePointer(to: &task) { p in
            ddim_parallel_for(count, { ctx, i in
                ctx?.assumingMemoryBound(to: ((Int) -> Void).self).pointee(i)
            }, p)
        }
    }
}

/// Runs `body` over consecutive chunks of 0..<count on ddim's thread pool: about four chunks a
/// thread, none smaller than `grain` items, so that a small job stays one piece on the calling
/// thread (a parallel loop costs a few microseconds). For element-wise passes over activations,
/// which otherwise leave the pool's other threads waiting.
func parallelChunks(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
    let chunks = max(1, min(4 * Threads.current, count / max(1, grain)))
    if chunks == 1 {
        body(0..<count)
        return
    }
    parallelFor(chunks) { i in body((count * i / chunks)..<(count * (i + 1) / chunks)) }
}

/// Floats per chunk of an element-wise pass (64 KB): copying that takes a few microseconds, about
/// what handing it to another thread costs.
let elementwiseGrain = 16384

/// How the process allocates the large, short-lived buffers of a forward pass.
public enum Memory {
    /// Keeps freed blocks below 512 MB in the heap for reuse instead of returning them to the
    /// kernel. glibc otherwise serves each buffer above its (adaptive) mmap threshold with fresh
    /// pages, and every page is faulted in and zeroed by the kernel again on every step: measured
    /// as half the system time of a sampling run. Safe to call more than once.
    public static func keepFreedBuffers() {
        ddim_keep_freed_buffers()
    }

    /// Bytes free inside malloc's arenas, which the next buffers reuse without mapping more
    /// (glibc's `mallinfo2().fordblks`; 0 elsewhere).
    public static var heapFreeBytes: Int { Int(ddim_heap_free_bytes()) }

    /// The stack a new thread maps (RLIMIT_STACK's soft limit, or glibc's default; 8 MB when unknown).
    public static var threadStackBytes: Int {
        let bytes = Int(ddim_default_thread_stack())
        return bytes > 0 ? bytes : 8 << 20
    }
}
