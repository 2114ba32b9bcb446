import Foundation

/// A dense, contiguous, row-major tensor of `Float` (NCHW for images).
///
/// Value semantics (copy-on-write through `Array`); kernels reach the storage through
/// `withUnsafeBufferPointer` so that the hot loops run without bounds checks.
public struct Tensor: Sendable, Equatable {
    /// The extent of each dimension, outermost first, e.g. `[batch, channels, height, width]`.
    public private(set) var shape: [Int]
    /// The elements in row-major order; `data.count == shape.reduce(1, *)`.
    public var data: [Float]

    /// A tensor of the given shape filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.shape = shape
        self.data = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// A tensor over existing elements; `data.count` must equal the product of `shape`.
    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "Tensor: \(data.count) elements for shape \(shape)")
        self.shape = shape
        self.data = data
    }

    /// The number of elements.
    @inlinable public var count: Int { data.count }

    /// The number of dimensions.
    @inlinable public var rank: Int { shape.count }

    /// The same elements viewed with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, data: data)
    }

    /// The `index`-th slice along the first dimension, e.g. one sample of a batch.
    public func slice(_ index: Int) -> Tensor {
        let inner = Array(shape.dropFirst())
        let n = inner.reduce(1, *)
        return Tensor(shape: [1] + inner, data: Array(data[(index * n)..<((index + 1) * n)]))
    }

    /// Tensors of equal trailing shape joined along the first dimension.
    public static func concatenate(_ parts: [Tensor]) -> Tensor {
        guard let first = parts.first else { return Tensor(shape: [0]) }
        let inner = Array(first.shape.dropFirst())
        var data: [Float] = []
        data.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        var rows = 0
        for part in parts {
            precondition(Array(part.shape.dropFirst()) == inner, "Tensor.concatenate: shape mismatch")
            data += part.data
            rows += part.shape[0]
        }
        return Tensor(shape: [rows] + inner, data: data)
    }

    /// How many elements are NaN or ±∞.
    public var nonFiniteCount: Int {
        data.withUnsafeBufferPointer { p in
            var n = 0
            for v in p where !v.isFinite { n += 1 }
            return n
        }
    }

    /// The largest absolute difference between two tensors of equal shape.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "maxAbsDifference: \(shape) vs \(other.shape)")
        var m: Float = 0
        for i in 0..<data.count { m = max(m, abs(data[i] - other.data[i])) }
        return m
    }
}

extension Tensor: CustomStringConvertible {
    /// A short description: the shape and the first few elements.
    public var description: String {
        "Tensor\(shape) \(data.prefix(6).map { String(format: "%.4f", $0) })\(data.count > 6 ? "…" : "")"
    }
}

extension UnsafeBufferPointer {
    /// The first element's address. `Array` storage always has one (an empty array points at
    /// the shared empty storage), so kernels need not unwrap `baseAddress` at every call.
    @inlinable public var start: UnsafePointer<Element> { baseAddress.unsafelyUnwrapped }
}

extension UnsafeMutableBufferPointer {
    /// The first element's address (see `UnsafeBufferPointer.start`).
    @inlinable public var start: UnsafeMutablePointer<Element> { baseAddress.unsafelyUnwrapped }
}

extension UnsafeRawBufferPointer {
    /// The first byte's address (see `UnsafeBufferPointer.start`).
    @inlinable public var start: UnsafeRawPointer { baseAddress.unsafelyUnwrapped }
}
