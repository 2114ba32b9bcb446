/// Nearest-neighbour upsampling by 2: (B, C, H, W) → (B, C, 2H, 2W).
public func upsampleNearest2x(_ x: Tensor) -> Tensor {
    let (planes, h, w) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
    var out = Tensor(uninitializedShape: [x.shape[0], x.shape[1], 2 * h, 2 * w])
    x.data.withUnsafeBufferPointer { xp in
        out.data.withUnsafeMutableBufferPointer { op in
            let (source, target) = (xp.start, op.start)
            // input rows of all planes, on the pool
            parallelChunks(planes * h, grain: max(1, elementwiseGrain / (4 * w))) { rows in
                for r in rows {
                    let src = source + r * w
                    let dst = target + 4 * r * w  // output rows 2·y and 2·y + 1 of the same plane
                    for xx in 0..<w { dst[2 * xx] = src[xx]; dst[2 * xx + 1] = src[xx] }
                    (dst + 2 * w).update(from: dst, count: 2 * w)
                }
            }
        }
    }
    return out
}

/// 2×2 average pooling with stride 2 (torch's `AvgPool2d(2, 2)`, diffusers' `Downsample2D`
/// without a conv): (B, C, H, W) → (B, C, ⌊H/2⌋, ⌊W/2⌋), y = (x₀₀ + x₀₁ + x₁₀ + x₁₁) / 4 in
/// that order of additions, as torch sums its window.
public func averagePool2x2(_ x: Tensor) -> Tensor {
    let (planes, h, w) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
    let (ho, wo) = (h / 2, w / 2)
    var out = Tensor(uninitializedShape: [x.shape[0], x.shape[1], ho, wo])
    guard ho > 0, wo > 0 else { return out }
    x.data.withUnsafeBufferPointer { xp in
        out.data.withUnsafeMutableBufferPointer { op in
            let (source, target) = (xp.start, op.start)
            parallelChunks(planes * ho, grain: max(1, elementwiseGrain / (4 * wo))) { rows in
                for r in rows {
                    let (plane, y) = r.quotientAndRemainder(dividingBy: ho)
                    let top = source + plane * h * w + 2 * y * w, bottom = top + w
                    let dst = target + r * wo
                    for xx in 0..<wo {
                        let sum = top[2 * xx] + top[2 * xx + 1] + bottom[2 * xx] + bottom[2 * xx + 1]
                        dst[xx] = sum / 4
                    }
                }
            }
        }
    }
    return out
}

/// Channel concatenation: (B, C1, H, W) ‖ (B, C2, H, W) → (B, C1 + C2, H, W).
public func concatChannels(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape[0] == b.shape[0] && a.shape[2...] == b.shape[2...], "concatChannels: \(a.shape) ‖ \(b.shape)")
    let batch = a.shape[0]
    let na = a.count / batch, nb = b.count / batch, n = na + nb
    var out = Tensor(uninitializedShape: [batch, a.shape[1] + b.shape[1]] + Array(a.shape[2...]))
    a.data.withUnsafeBufferPointer { ap in
        b.data.withUnsafeBufferPointer { bp in
            out.data.withUnsafeMutableBufferPointer { op in
                let (pa, pb, po) = (ap.start, bp.start, op.start)
                // output index o of image i: a's o when o < na, else b's o − na; copied a run at a time
                parallelChunks(batch * n, grain: elementwiseGrain) { range in
                    var o = range.lowerBound
                    while o < range.upperBound {
                        let (image, r) = o.quotientAndRemainder(dividingBy: n)
                        let (source, end) = r < na ? (pa + image * na + r, na) : (pb + image * nb + (r - na), n)
                        let run = min(end - r, range.upperBound - o)
                        (po + o).update(from: source, count: run)
                        o += run
                    }
                }
            }
        }
    }
    return out
}

extension Tensor {
    /// self += other, element-wise (equal shapes).
    public mutating func add(_ other: Tensor) {
        precondition(count == other.count, "add: \(shape) + \(other.shape)")
        other.data.withUnsafeBufferPointer { o in
            data.withUnsafeMutableBufferPointer { p in
                let (src, dst) = (o.start, p.start)
                parallelChunks(p.count, grain: elementwiseGrain) { range in
                    for i in range { dst[i] += src[i] }
                }
            }
        }
    }

    /// self *= s, element-wise.
    public mutating func scale(by s: Float) {
        data.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count { p[i] *= s }
        }
    }

    /// self[b, c, :, :] += v[b, c] for a (B, C) tensor `v`.
    public mutating func addPerChannel(_ v: UnsafePointer<Float>) {
        let planes = shape[0] * shape[1]
        let n = count / planes
        data.withUnsafeMutableBufferPointer { p in
            let dst = p.start
            parallelChunks(planes, grain: max(1, elementwiseGrain / n)) { range in
                for q in range { addScalar(dst + q * n, v[q], into: dst + q * n, count: n) }
            }
        }
    }
}
