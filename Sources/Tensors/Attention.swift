import CKernels
import Foundation

/// The projections of a spatial self-attention layer (diffusers `Attention`), the query, key
/// and value ones stacked into one matrix at load so that a single GEMM computes all three, all
/// packed once for ddim's own GEMM kernel (``PackedMatrix``).
public struct AttentionWeights: Sendable {
    /// [W_q; W_k; W_v] (3·inner × C).
    public let projections: PackedMatrix
    /// [b_q; b_k; b_v] (zeros for a projection without bias), nil when none of the three has one.
    public let projectionBias: [Float]?
    /// Output projection W_o: inner → C (C × inner).
    public let output: PackedMatrix
    /// b_o, or nil.
    public let outputBias: [Float]?
    /// Number of heads; d = inner / heads.
    public let heads: Int
    /// inner = heads · d, the width of each of Q, K and V.
    public var inner: Int { projections.rows / 3 }

    /// Stacks the query, key and value projections (C → inner each); `heads` must divide inner.
    public init(query: LinearWeight, key: LinearWeight, value: LinearWeight, output: LinearWeight, heads: Int) {
        let parts = [query, key, value]
        precondition(parts.allSatisfy { $0.outFeatures == query.outFeatures && $0.inFeatures == query.inFeatures },
                     "AttentionWeights: query, key and value shapes differ")
        let (inner, channels) = (query.outFeatures, query.inFeatures)
        projectionBias = parts.contains(where: { $0.bias != nil })
            ? parts.flatMap { $0.bias ?? [Float](repeating: 0, count: inner) } : nil
        projections = PackedMatrix(parts.flatMap(\.weight), rows: 3 * inner, columns: channels)
        self.output = PackedMatrix(output.weight, rows: output.outFeatures, columns: output.inFeatures)
        (outputBias, self.heads) = (output.bias, heads)
    }
}

/// Multi-head self-attention over the pixels of each image, plus the residual:
/// tokens X = hᵀ (N = H·W rows of C), [Q K V] = X·[W_q; W_k; W_v]ᵀ + [b_q b_k b_v],
/// O_h = softmax(Q_h·K_hᵀ / √d)·V_h, y = residual + (O·W_oᵀ + b_o)ᵀ — computed transposed, as
/// the image's (C × N) layout gives it: [Qᵀ; Kᵀ; Vᵀ] = W_qkv·h + b_qkv, then Oᵀ, then
/// y = W_o·Oᵀ + b_o + residual. h, residual: (B, C, H, W) → (B, C, H, W). Three parallel loops
/// for the whole batch: the projections, the (image, head, block of query rows) tasks, the
/// output projection, each product by ddim's own GEMM kernel on weights packed at load.
public func selfAttention(_ h: Tensor, residual: Tensor, _ w: AttentionWeights) -> Tensor {
    let (batch, channels) = (h.shape[0], h.shape[1])
    let n = h.count / (batch * channels)
    let inner = w.inner, width = 3 * inner
    let d = inner / w.heads
    var out = Tensor(uninitializedShape: residual.shape)
    // per image: [Qᵀ; Kᵀ; Vᵀ] (3·inner × N), then Oᵀ (inner × N)
    var qkv = uninitializedFloats(batch * width * n)
    var o = uninitializedFloats(batch * inner * n)
    // query rows per task: about four tasks a thread over the batch's heads (on 2 threads and
    // 256 pixels: 32 rows at batch 1, 128 at batch 4), at least 32
    let wantBlocks = max(1, (4 * Threads.current + batch * w.heads - 1) / (batch * w.heads))
    let rowsPerTask = min(n, max(32, (n + wantBlocks - 1) / wantBlocks + 15) / 16 * 16)
    h.data.withUnsafeBufferPointer { hp in
        residual.data.withUnsafeBufferPointer { rp in
            out.data.withUnsafeMutableBufferPointer { op in
                qkv.withUnsafeMutableBufferPointer { qb in
                    o.withUnsafeMutableBufferPointer { ob in
                        let (x, qkvp, outp, y) = (hp.start, qb.start, ob.start, op.start)
                        // [Qᵀ; Kᵀ; Vᵀ]_b (3·inner × N) = W_qkv (3·inner × C) · X_b (C × N) + b_qkv
                        w.projections.multiply(count: batch, x, n: n, ldb: n, strideB: channels * n,
                                               into: qkvp, ldc: n, strideC: width * n, bias: w.projectionBias)
                        // O_h = softmax(Q_h·K_hᵀ / √d)·V_h, as Oᵀ: one task per (image, head, block of query rows)
                        let status = ddim_attention(qkvp, batch, n, w.heads, d, rowsPerTask, outp)
                        // only its scratch can fail; the process is out of memory
                        precondition(status == 0, "selfAttention: out of memory for \(batch)×\(w.heads) heads of \(n) tokens")
                        // y_b (C × N) = W_o (C × inner) · Oᵀ_b (inner × N) + b_o + residual_b
                        w.output.multiply(count: batch, outp, n: n, ldb: n, strideB: inner * n,
                                          into: y, ldc: n, strideC: channels * n, bias: w.outputBias,
                                          add: rp.start, ldAdd: n, strideAdd: channels * n)
                    }
                }
            }
        }
    }
    return out
}
