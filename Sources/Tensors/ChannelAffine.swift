/// A per-(image, channel) affine map, optionally followed by SiLU: y = x·scale + shift, then
/// y·σ(y) when `silu` — a group norm with its γ, β (and the SiLU after it) reduced to what each
/// channel of each image needs, so that a convolution can apply it as it reads its input.
public struct ChannelAffine: Sendable {
    /// (B·C) multipliers and offsets, image-major.
    public var scale: [Float], shift: [Float]
    /// SiLU after the affine map.
    public var silu: Bool

    /// The map with these coefficients.
    public init(scale: [Float], shift: [Float], silu: Bool) {
        precondition(scale.count == shift.count, "ChannelAffine: \(scale.count) scales, \(shift.count) shifts")
        (self.scale, self.shift, self.silu) = (scale, shift, silu)
    }

    /// The map applied to x (B, C, …), a new tensor; one task per chunk of channels on the pool.
    public func apply(to x: Tensor) -> Tensor {
        precondition(x.rank >= 2 && x.shape[0] * x.shape[1] == scale.count, "ChannelAffine: \(scale.count) channels for \(x.shape)")
        let spatial = x.count / scale.count
        var out = Tensor(uninitializedShape: x.shape)
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                scale.withUnsafeBufferPointer { sp in
                    shift.withUnsafeBufferPointer { hp in
                        let (src, dst, s, h, fuse) = (xp.start, op.start, sp.start, hp.start, silu)
                        // SiLU's exponential makes a float ~4× the work of a copy
                        let grain = max(1, (fuse ? elementwiseGrain / 4 : elementwiseGrain) / spatial)
                        parallelChunks(scale.count, grain: grain) { channels in
                            for c in channels {
                                affine(src + c * spatial, scale: s[c], shift: h[c], silu: fuse, into: dst + c * spatial,
                                       count: spatial)
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
