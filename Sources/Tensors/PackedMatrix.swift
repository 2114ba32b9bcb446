import CKernels

/// A weight matrix W (M × K) packed once at load in blocks of 6 rows, the left operand of ddim's
/// own GEMM kernel (`ddim_gemm_packed_batch`: the 24 × 16 AVX-512 kernel, or the 6 × 16 AVX2 or
/// portable one) — what OpenBLAS's sgemm would repack from the row-major weights on every call.
/// Holds ⌈M/6⌉·6·K floats, or, in bf16 (`--precision bf16`), half that in pairs of columns for
/// the AVX-512 BF16 kernel; the row-major matrix is recovered by ``unpacked()``.
public struct PackedMatrix: Sendable {
    /// M: output rows.
    public let rows: Int
    /// K: the inner dimension.
    public let columns: Int
    /// Whether it is held, and multiplied, in bf16.
    public let bf16: Bool
    private let packed: [Float]

    /// Packs the row-major M × K matrix `a`; in bf16 pairs when asked and the CPU runs them
    /// (``ConvPolicy/Precision/supported``).
    public init(_ a: [Float], rows: Int, columns: Int, bf16: Bool = false) {
        precondition(a.count == rows * columns, "PackedMatrix: \(a.count) floats for \(rows) × \(columns)")
        (self.rows, self.columns) = (rows, columns)
        var p = uninitializedFloats(ddim_gemm_packed_count(rows, columns))
        a.withUnsafeBufferPointer { ap in
            p.withUnsafeMutableBufferPointer { pp in ddim_gemm_pack_weights(ap.start, rows, columns, pp.start) }
        }
        self.bf16 = bf16 && ddim_bf16_supported() != 0
        if self.bf16 {
            var half = uninitializedFloats(ddim_gemm_bf16_count(rows, columns))
            p.withUnsafeBufferPointer { pp in
                half.withUnsafeMutableBufferPointer { hp in ddim_gemm_bf16_from_packed(pp.start, rows, columns, hp.start) }
            }
            p = half
        }
        packed = p
    }

    /// Floats held (rows rounded up to 6; halved in bf16).
    public var storedCount: Int { packed.count }

    /// The row-major M × K matrix, into a new array (in bf16, the rounded values, exactly).
    public func unpacked() -> [Float] {
        var source = packed
        if bf16 {
            source = uninitializedFloats(ddim_gemm_packed_count(rows, columns))
            packed.withUnsafeBufferPointer { hp in
                source.withUnsafeMutableBufferPointer { pp in ddim_gemm_bf16_to_packed(hp.start, rows, columns, pp.start) }
            }
        }
        var a = uninitializedFloats(rows * columns)
        source.withUnsafeBufferPointer { pp in
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
                let biasPointer = bias == nil ? nil : bp.baseAddress
                return bf16
                    ? ddim_gemm_packed_batch_bf16(a.start, rows, columns, count, b, n, ldb, strideB, c, ldc, strideC,
                                                  biasPointer, add, ldAdd, strideAdd)
                    : ddim_gemm_packed_batch(a.start, rows, columns, count, b, n, ldb, strideB, c, ldc, strideC,
                                             biasPointer, add, ldAdd, strideAdd)
            }
        }
        precondition(status == 0, "GEMM: out of memory for a panel of \(columns) × 16 floats")
    }
}
