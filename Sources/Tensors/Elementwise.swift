import CKernels

/// Σ p[i] (float lanes, then double).
@inline(__always)
func sum(_ p: UnsafePointer<Float>, count n: Int) -> Double { ddim_sum(p, n) }

/// Σ (p[i] − m)² (float lanes, then double).
@inline(__always)
func sumOfSquares(_ p: UnsafePointer<Float>, count n: Int, about m: Float) -> Double { ddim_sum_squares(p, n, m) }

/// y = x·scale + shift, or silu of it, over `count` floats (x and y may be the same).
@inline(__always)
public func affine(_ x: UnsafePointer<Float>, scale: Float, shift: Float, silu: Bool, into y: UnsafeMutablePointer<Float>, count n: Int) {
    ddim_affine(x, scale, shift, silu ? 1 : 0, y, n)
}

/// y = x + b over `count` floats.
@inline(__always)
func addScalar(_ x: UnsafePointer<Float>, _ b: Float, into y: UnsafeMutablePointer<Float>, count n: Int) {
    ddim_add_scalar(x, b, y, n)
}

/// SiLU applied element-wise.
public func silu(_ x: Tensor) -> Tensor {
    var out = x
    out.data.withUnsafeMutableBufferPointer { p in ddim_silu(p.start, p.count) }
    return out
}

/// `count` floats whose values are unspecified: scratch that the caller overwrites completely.
@inline(__always)
func uninitializedFloats(_ count: Int) -> [Float] {
    // count 0 would store into the shared empty-array singleton (a data race ThreadSanitizer found)
    guard count > 0 else { return [] }
    return [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
}

extension Tensor {
    /// A tensor whose elements are unspecified, for kernels that write every element.
    init(uninitializedShape shape: [Int]) {
        self.init(shape: shape, data: uninitializedFloats(shape.reduce(1, *)))
    }
}
