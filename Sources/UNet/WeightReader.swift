import Tensors

/// Fetches a model's tensors by the checkpoint's own names, checks each shape, and remembers
/// which names were used so that unexpected tensors can be reported afterwards.
final class WeightReader {
    let file: SafeTensorsFile
    private(set) var used: Set<String> = []

    init(_ file: SafeTensorsFile) { self.file = file }

    /// The tensor `name` with exactly `shape`.
    func tensor(_ name: String, _ shape: [Int]) throws -> Tensor {
        used.insert(name)
        return try file.tensor(name, shape: shape)
    }

    /// The first of `names` that the file has, with `shape` (also accepting trailing 1×1 dims).
    func tensor(anyOf names: [String], _ shape: [Int]) throws -> Tensor {
        for name in names where file.entries[name] != nil {
            used.insert(name)
            if let e = file.entries[name], e.shape == shape + [1, 1] {
                return try file.tensor(name).reshaped(shape)
            }
            return try file.tensor(name, shape: shape)
        }
        throw SafeTensorsError(file: file.path, "tensor '\(names[0])' is missing (expected shape \(shape))")
    }

    /// conv weight (out, in, k, k) and bias (out) under `prefix`.
    func conv(_ prefix: String, out: Int, in cin: Int, kernel: Int) throws -> ConvWeight {
        ConvWeight(weight: try tensor("\(prefix).weight", [out, cin, kernel, kernel]),
                   bias: try tensor("\(prefix).bias", [out]))
    }

    /// linear weight (out, in) and bias (out) under the first prefix present.
    func linear(_ prefixes: [String], out: Int, in cin: Int) throws -> LinearWeight {
        LinearWeight(weight: try tensor(anyOf: prefixes.map { "\($0).weight" }, [out, cin]),
                     bias: try tensor(anyOf: prefixes.map { "\($0).bias" }, [out]))
    }

    /// GroupNorm affine (γ, β) under `prefix`.
    func norm(_ prefix: String, channels: Int, groups: Int, eps: Float) throws -> GroupNormWeight {
        GroupNormWeight(gamma: try tensor("\(prefix).weight", [channels]).data,
                        beta: try tensor("\(prefix).bias", [channels]).data, groups: groups, eps: eps)
    }

    /// Tensors in the file that no layer asked for.
    var unused: [String] { file.names.filter { !used.contains($0) } }
}

/// A GroupNorm layer: per-channel γ, β over `groups` groups.
struct GroupNormWeight: Sendable {
    let gamma: [Float], beta: [Float]
    let groups: Int
    let eps: Float

    func callAsFunction(_ x: Tensor, silu: Bool = false) -> Tensor {
        groupNorm(x, groups: groups, gamma: gamma, beta: beta, eps: eps, silu: silu)
    }
}
