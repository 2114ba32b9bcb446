import Tensors

/// A source of standard normal noise, drawn in a fixed order (x_T first, then one draw per
/// noisy step), so that a seed fixes a whole run.
public protocol NoiseSource {
    /// Standard normals of the given shape.
    mutating func normal(shape: [Int]) -> Tensor
}

/// Noise for a batch in which each item has its own seeded ``TorchRandom`` (diffusers'
/// `randn_tensor` with a list of generators: item i draws shape `[1, …]` from generator i).
///
/// A picture then depends on its own seed only, not on the batch size or its place in the batch.
public struct PerSampleNoise: NoiseSource, Sendable {
    /// One generator per batch item.
    private(set) var generators: [TorchRandom]

    /// Generators seeded with `seeds`, one per batch item.
    public init(seeds: [UInt64]) {
        generators = seeds.map { TorchRandom(seed: $0) }
    }

    /// `count` generators seeded `first`, `first + 1`, ….
    public init(firstSeed first: UInt64, count: Int) {
        self.init(seeds: (0..<UInt64(count)).map { first &+ $0 })
    }

    /// The seeds, in batch order.
    public var seeds: [UInt64] { generators.map(\.seed) }

    /// Normals of `shape`, whose first dimension must equal the number of generators.
    public mutating func normal(shape: [Int]) -> Tensor {
        precondition(shape.first == generators.count, "PerSampleNoise: shape \(shape) for \(generators.count) seeds")
        let item = [1] + shape.dropFirst()
        var parts: [Tensor] = []
        parts.reserveCapacity(generators.count)
        for i in generators.indices {
            parts.append(generators[i].normal(shape: item))
        }
        return Tensor.concatenate(parts)
    }
}
