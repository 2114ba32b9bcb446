/// Group normalisation's statistics and affine, per (image, channel), without normalising:
/// μ_g = Σx / n, σ²_g = Σ(x − μ_g)² / n over each group of C/G channels (two passes, as torch,
/// summed in float lanes, then double), and for channel c of group g
/// scale = γ_c / √(σ²_g + ε), shift = β_c − μ_g · scale, so that x·scale + shift is the norm's output.
/// One task per (image, group) on the pool.
public func groupNormAffine(_ x: Tensor, groups: Int, gamma: [Float], beta: [Float], eps: Float,
                            silu: Bool = false) -> ChannelAffine {
    let (batch, channels) = (x.shape[0], x.shape[1])
    let spatial = x.count / (batch * channels)
    precondition(channels % groups == 0, "groupNorm: \(channels) channels in \(groups) groups")
    let perGroup = channels / groups
    var scale = uninitializedFloats(batch * channels), shift = uninitializedFloats(batch * channels)
    x.data.withUnsafeBufferPointer { xp in
        scale.withUnsafeMutableBufferPointer { sp in
            shift.withUnsafeMutableBufferPointer { hp in
                let (src, s, h) = (xp.start, sp.start, hp.start)
                parallelFor(batch * groups) { task in
                    let (b, g) = task.quotientAndRemainder(dividingBy: groups)
                    let base = src + (b * channels + g * perGroup) * spatial
                    let n = perGroup * spatial
                    // μ = Σx / n
                    let mean = sum(base, count: n) / Double(n)
                    // σ² = Σ(x − μ)² / n
                    let variance = sumOfSquares(base, count: n, about: Float(mean)) / Double(n)
                    let invStd = Float(1 / (variance + Double(eps)).squareRoot())
                    let m = Float(mean)
                    for cg in 0..<perGroup {
                        let c = g * perGroup + cg
                        // scale = γ_c / √(σ² + ε), shift = β_c − μ · scale
                        s[b * channels + c] = gamma[c] * invStd
                        h[b * channels + c] = beta[c] - m * s[b * channels + c]
                    }
                }
            }
        }
    }
    return ChannelAffine(scale: scale, shift: shift, silu: silu)
}

/// Group normalisation with a per-channel affine, optionally followed by SiLU:
/// y = (x − μ_g) / √(σ²_g + ε) · γ_c + β_c over each group of C/G channels
/// (``groupNormAffine(_:groups:gamma:beta:eps:silu:)`` applied).
public func groupNorm(_ x: Tensor, groups: Int, gamma: [Float], beta: [Float], eps: Float, silu fuseSiLU: Bool = false) -> Tensor {
    groupNormAffine(x, groups: groups, gamma: gamma, beta: beta, eps: eps, silu: fuseSiLU).apply(to: x)
}
