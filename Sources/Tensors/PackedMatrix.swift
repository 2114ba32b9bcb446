import CKernels

/// A weight matrix W (M × K) packed once at load in blocks of 6 rows, the left operand of ddim's
/// own GEMM kernel (`ddim_gemm_packed_batch`: the 24 × 16 AVX-512 kernel, or the 6 × 16 AVX2 or
/// portable one) — what OpenBLAS's sgemm would repack from the row-major weights on every call.
/// Holds ⌈M/6⌉·6·K floats; the row-major matrix is recovered by ``unpacked()``.
public struct PackedMatrix: Sendable {
    /// M: output rows.
    public let rows: Int
    /// K: the inner dimension.
    public let columns: Int
    private let packed: [Float]

    /// Packs the row-major M × K matrix `a`.
    public init(_ a: [Float], rows: Int, columns: Int) {
        precondition(a.count == rows * columns, "PackedMatrix: \(a.count) floats for \(rows) × \(columns)")
        (self.rows, self.columns) = (rows, columns)
        var p = uninitializedFloats(ddim_gemm_packed_count(rows, columns))
        a.withUnsafeBufferPointer { ap in
            p.withUnsafeMutableBufferPointer { pp in ddim_gemm_pack_weights(ap.start, rows, columns, pp.start) }
        }
        packed = p
    }

    /// Floats held (rows rounded up to 6).
    public var storedCount: Int { packed.count }

    /// The row-major M × K matrix, into a new array.
    public func unpacked() -> [Float] {
        var a = uninitializedFloats(rows * columns)
        packed.withUnsafeBufferPointer { pp in
            a.withUnsafeMutableBufferPointer { ap in ddim_gemm_unpack_weights(pp.start, rows, columns, ap.start) }
        }
        return a
    }

    /// C_i (M × n, row stride ldc) = W · B_i (K × n, row stride ldb) + bias + R_i for i < count,
    /// as one parallel loop on ddim's pool: B_i = b + i·strideB, C_i = c + i·strideC, and R_i =
    /// add + i·strideAdd (row stride ldAdd; it may be C_i itself, for C += W·B). `bias`: M floats
    /// or nil. Traps only when a task's 16-column panel cannot be allocated (out of memory).
    public func multiply(count: Int = 1, _ b: UnsafePointer<Float>, n: Int, ldb: Int, strideB: Int = 0,
                         into c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int = 0, bias: [Float]? = nil,
                         add: UnsafePointer<Float>? = nil, ldAdd: Int = 0, strideAdd: Int = 0) {
        let status = packed.withUnsafeBufferPointer { a in
            (bias ?? []).withUnsafeBufferPointer { bp in
                ddim_gemm_packed_batch(a.start, rows, columns, count, b, n, ldb, strideB, c, ldc, strideC,
                                       bias == nil ? nil : bp.baseAddress, add, ldAdd, strideAdd)
            }
        }
        precondition(status == 0, "GEMM: out of memory for a panel of \(columns) × 16 floats")
    }
}
