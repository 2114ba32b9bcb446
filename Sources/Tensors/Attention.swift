import CKernels
import Foundation

/// The projections of a spatial self-attention layer (diffusers `Attention`), the query, key
/// and value ones stacked into one matrix at load so that a single GEMM computes all three.
public struct AttentionWeights: Sendable {
    /// [W_q; W_k; W_v] (3·inner × C) and [b_q; b_k; b_v] (zeros for a projection without bias).
    public let projections: LinearWeight
    /// Output projection: inner → C.
    public let output: LinearWeight
    /// Number of heads; d = inner / heads.
    public let heads: Int
    /// inner = heads · d, the width of each of Q, K and V.
    public var inner: Int { projections.outFeatures / 3 }

    /// Stacks the query, key and value projections (C → inner each); `heads` must divide inner.
    public init(query: LinearWeight, key: LinearWeight, value: LinearWeight, output: LinearWeight, heads: Int) {
        let parts = [query, key, value]
        precondition(parts.allSatisfy { $0.outFeatures == query.outFeatures && $0.inFeatures == query.inFeatures },
                     "AttentionWeights: query, key and value shapes differ")
        let (inner, channels) = (query.outFeatures, query.inFeatures)
        var bias: Tensor? = nil
        if parts.contains(where: { $0.bias != nil }) {
            bias = Tensor(shape: [3 * inner], data: parts.flatMap { $0.bias ?? [Float](repeating: 0, count: inner) })
        }
        projections = LinearWeight(weight: Tensor(shape: [3 * inner, channels], data: parts.flatMap(\.weight)), bias: bias)
        (self.output, self.heads) = (output, heads)
    }
}

/// Multi-head self-attention over the pixels of each image, plus the residual:
/// tokens X = hᵀ (N = H·W rows of C), [Q K V] = X·[W_q; W_k; W_v]ᵀ + [b_q b_k b_v],
/// O_h = softmax(Q_h·K_hᵀ / √d)·V_h, y = residual + (O·W_oᵀ + b_o)ᵀ.
/// h, residual: (B, C, H, W) → (B, C, H, W). Three parallel loops for the whole batch: the
/// projections, the (image, head, block of query rows) tasks, the output projection.
public func selfAttention(_ h: Tensor, residual: Tensor, _ w: AttentionWeights) -> Tensor {
    let (batch, channels) = (h.shape[0], h.shape[1])
    let n = h.count / (batch * channels)
    let inner = w.inner, width = 3 * inner
    let d = inner / w.heads
    var out = Tensor(uninitializedShape: residual.shape)
    // per image: [Q K V] (N × 3·inner), then Oᵀ (inner × N)
    var qkv = uninitializedFloats(batch * n * width)
    var o = uninitializedFloats(batch * n * inner)
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
                        // [Q K V]_b = X_bᵀ · W_qkvᵀ + b_qkv   (X_b is (C × N))
                        if let bias = w.projections.bias {
                            bias.withUnsafeBufferPointer { bp in
                                let b = bp.start
                                parallelChunks(batch * n, grain: max(1, elementwiseGrain / width)) { rows in
                                    for r in rows { (qkvp + r * width).update(from: b, count: width) }
                                }
                            }
                        }
                        w.projections.weight.withUnsafeBufferPointer { wp in
                            gemmBatched(count: batch, m: n, n: width, k: channels,
                                        x, lda: n, strideA: channels * n, transposeA: true,
                                        wp.start, ldb: channels, strideB: 0, transposeB: true,
                                        qkvp, ldc: width, strideC: n * width, beta: w.projections.bias == nil ? 0 : 1)
                        }
                        // O_h = softmax(Q_h·K_hᵀ / √d)·V_h, as Oᵀ: one task per (image, head, block of query rows)
                        let status = ddim_attention(qkvp, batch, n, w.heads, d, rowsPerTask, outp)
                        // only its scratch can fail; the process is out of memory
                        precondition(status == 0, "selfAttention: out of memory for \(batch)×\(w.heads) heads of \(n) tokens")
                        // yᵀ_b (C × N) = residual_b + b_o + W_o (C × inner) · Oᵀ_b (inner × N): the first two in one
                        // pass on the pool, the product added by the GEMM (β = 1)
                        let res = rp.start
                        (w.output.bias ?? []).withUnsafeBufferPointer { bp in
                            let bias = bp.baseAddress
                            parallelChunks(batch * channels, grain: max(1, elementwiseGrain / n)) { rows in
                                for row in rows {
                                    addScalar(res + row * n, bias?[row % channels] ?? 0, into: y + row * n, count: n)
                                }
                            }
                        }
                        w.output.weight.withUnsafeBufferPointer { wo in
                            gemmBatched(count: batch, m: channels, n: n, k: inner,
                                        wo.start, lda: inner, strideA: 0,
                                        outp, ldb: n, strideB: inner * n,
                                        y, ldc: n, strideC: channels * n, beta: 1)
                        }
                    }
                }
            }
        }
    }
    return out
}
