import CKernels
import Foundation

/// The four projections of a spatial self-attention layer (diffusers `Attention`).
public struct AttentionWeights: Sendable {
    /// Query, key and value projections: C → heads·d each.
    public let query: LinearWeight, key: LinearWeight, value: LinearWeight
    /// Output projection: heads·d → C.
    public let output: LinearWeight
    /// Number of heads; d = inner / heads.
    public let heads: Int

    /// Groups the projections; `heads` must divide the inner dimension.
    public init(query: LinearWeight, key: LinearWeight, value: LinearWeight, output: LinearWeight, heads: Int) {
        (self.query, self.key, self.value, self.output, self.heads) = (query, key, value, output, heads)
    }
}

/// Multi-head self-attention over the pixels of each image, plus the residual:
/// tokens X = hᵀ (N = H·W rows of C), Q = X·W_qᵀ, K = X·W_kᵀ, V = X·W_vᵀ,
/// O_h = softmax(Q_h·K_hᵀ / √d)·V_h, y = residual + (O·W_oᵀ + b_o)ᵀ.
/// h, residual: (B, C, H, W) → (B, C, H, W).
public func selfAttention(_ h: Tensor, residual: Tensor, _ w: AttentionWeights) -> Tensor {
    let (batch, channels) = (h.shape[0], h.shape[1])
    let n = h.count / (batch * channels)
    let inner = w.query.outFeatures
    let d = inner / w.heads
    // 1/√d
    let scale = 1 / Float(d).squareRoot()
    var out = residual
    var q = [Float](repeating: 0, count: n * inner)
    var k = q, v = q, o = q
    // query rows per task: several tasks per head keep the pool's threads busy at batch 1
    let rowsPerTask = min(n, 32)
    let blocks = (n + rowsPerTask - 1) / rowsPerTask
    h.data.withUnsafeBufferPointer { hp in
        out.data.withUnsafeMutableBufferPointer { op in
            for b in 0..<batch {
                let x = hp.start + b * channels * n  // (C, N): X = xᵀ
                project(x, tokens: n, channels: channels, w.query, into: &q)
                project(x, tokens: n, channels: channels, w.key, into: &k)
                project(x, tokens: n, channels: channels, w.value, into: &v)
                q.withUnsafeBufferPointer { qb in
                    k.withUnsafeBufferPointer { kb in
                        v.withUnsafeBufferPointer { vb in
                            o.withUnsafeMutableBufferPointer { ob in
                                let (qp, kp, vp, outp) = (qb.start, kb.start, vb.start, ob.start)
                                // one task per (head, block of query rows): its scores are its own
                                parallelFor(w.heads * blocks) { task in
                                    let (head, block) = task.quotientAndRemainder(dividingBy: blocks)
                                    let r0 = block * rowsPerTask, rows = min(rowsPerTask, n - r0)
                                    let s = UnsafeMutablePointer<Float>.allocate(capacity: rows * n)
                                    defer { s.deallocate() }
                                    // S = Q_h·K_hᵀ / √d   (rows × N)
                                    gemm(m: rows, n: n, k: d, qp + r0 * inner + head * d, lda: inner,
                                         kp + head * d, ldb: inner, transposeB: true, s, ldc: n, alpha: scale)
                                    softmaxRows(s, rows: rows, columns: n)
                                    // O_h = P·V_h   (rows × d), written into columns h·d… of O
                                    gemm(m: rows, n: d, k: n, s, lda: n, vp + head * d, ldb: inner,
                                         outp + r0 * inner + head * d, ldc: inner)
                                }
                            }
                        }
                    }
                }
                // yᵀ (C × N) = W_o (C × inner) · Oᵀ + b_o, added onto the residual.
                let ob = op.start + b * channels * n
                if let bias = w.output.bias {
                    for c in 0..<channels {
                        let s = bias[c]
                        for i in 0..<n { ob[c * n + i] += s }
                    }
                }
                o.withUnsafeBufferPointer { oo in
                    gemm(m: channels, n: n, k: inner, w.output.weight, lda: inner,
                         oo.start, ldb: inner, transposeB: true, ob, ldc: n, beta: 1)
                }
            }
        }
    }
    return out
}

/// P = X·Wᵀ + b for tokens X = xᵀ, x being (C, N): P is (N × out).
private func project(_ x: UnsafePointer<Float>, tokens n: Int, channels: Int, _ w: LinearWeight, into p: inout [Float]) {
    p.withUnsafeMutableBufferPointer { pp in
        let dst = pp.start
        if let bias = w.bias {
            for r in 0..<n { (dst + r * w.outFeatures).update(from: bias, count: w.outFeatures) }
        }
        gemm(m: n, n: w.outFeatures, k: channels, x, lda: n, transposeA: true,
             w.weight, ldb: channels, transposeB: true, dst, ldc: w.outFeatures, beta: w.bias == nil ? 0 : 1)
    }
}

/// Row-wise softmax in place: p_ij = e^(s_ij − max_j s) / Σ_j e^(s_ij − max_j s).
public func softmaxRows(_ s: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
    for r in 0..<rows {
        let row = s + r * columns
        ddim_softmax_row(row, columns)
    }
}
