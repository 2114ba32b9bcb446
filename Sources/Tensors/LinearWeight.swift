/// Weights of a fully connected layer in PyTorch layout: weight (out, in), bias (out).
public struct LinearWeight: Sendable {
    /// Output features.
    public let outFeatures: Int
    /// Input features.
    let inFeatures: Int
    /// (out, in) row-major.
    public let weight: [Float]
    /// (out)
    public let bias: [Float]?

    /// Wraps PyTorch-layout weights.
    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 2, "LinearWeight: shape \(weight.shape)")
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
        self.weight = weight.data
        self.bias = bias?.data
    }
}

/// y = x · Wᵀ + b over rows: x (rows, in) → (rows, out).
public func linear(_ x: UnsafePointer<Float>, rows: Int, _ w: LinearWeight, into y: UnsafeMutablePointer<Float>) {
    if let bias = w.bias {
        for r in 0..<rows { (y + r * w.outFeatures).update(from: bias, count: w.outFeatures) }
    }
    gemm(m: rows, n: w.outFeatures, k: w.inFeatures, x, lda: w.inFeatures,
         w.weight, ldb: w.inFeatures, transposeB: true, y, ldc: w.outFeatures, beta: w.bias == nil ? 0 : 1)
}

/// y = x · Wᵀ + b for a (rows, in) tensor.
public func linear(_ x: Tensor, _ w: LinearWeight) -> Tensor {
    let rows = x.count / w.inFeatures
    precondition(rows * w.inFeatures == x.count, "linear: \(x.shape) for \(w.inFeatures) inputs")
    var out = Tensor(uninitializedShape: [rows, w.outFeatures])
    x.data.withUnsafeBufferPointer { xp in
        out.data.withUnsafeMutableBufferPointer { op in
            linear(xp.start, rows: rows, w, into: op.start)
        }
    }
    return out
}
