import Tensors

extension DDIMScheduler {
    /// Dynamic thresholding (Saharia et al., Imagen), as diffusers' `_threshold_sample`: per
    /// sample, s = quantile(|x̂₀|, `ratio`) clamped to [1, `maxValue`], then x̂₀ ← clamp(x̂₀, −s, s)/s.
    ///
    /// The first dimension is the batch; the quantile interpolates linearly between order
    /// statistics in float32, as `torch.quantile` does.
    static func dynamicThreshold(_ x0: Tensor, ratio: Float, maxValue: Float) -> Tensor {
        let batch = x0.rank > 1 ? x0.shape[0] : 1
        let n = batch > 0 ? x0.count / batch : 0
        guard n > 0 else { return x0 }
        var out = x0
        for b in 0..<batch {
            let range = (b * n)..<((b + 1) * n)
            let sorted = x0.data[range].map { abs($0) }.sorted()
            // torch.quantile: rank = q·(n − 1) in float32, lerp between the neighbours.
            let rank = ratio * Float(n - 1)
            let below = Int(rank)
            let above = Int(rank.rounded(.up))
            let weight = rank - Float(below)
            let lo = sorted[min(below, n - 1)]
            let hi = sorted[min(above, n - 1)]
            let quantile = abs(weight) < 0.5 ? lo + weight * (hi - lo) : hi - (hi - lo) * (1 - weight)
            let s = min(max(quantile, 1), maxValue)
            for i in range { out.data[i] = min(max(out.data[i], -s), s) / s }
        }
        return out
    }
}
