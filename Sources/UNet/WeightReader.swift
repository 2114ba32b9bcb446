import Foundation
import Tensors

/// Fetches a model's tensors by the checkpoint's own names, checks each shape, and remembers
/// which names were used so that unexpected tensors can be reported afterwards. Each level of the
/// UNet reads through its own reader (``at(resolution:)``), which knows the side of its maps;
/// all of them share the record of names used.
struct WeightReader {
    let file: any WeightSource
    /// The convolutions' policy: which Winograd planes the layers get (``ConvPolicy/tiles``).
    let policy: ConvPolicy
    /// The side (pixels) of the maps this reader's convolutions will see, from the config's
    /// sample size (0: unknown). It picks their Winograd planes (``ConvPolicy/tile(resolution:out:in:largeModel:)``)
    /// and decides whether a layer keeps its original weights (``conv(_:out:in:kernel:winograd:)``).
    let resolution: Int
    /// More than 64 M parameters in the file (celebahq-256: 114 M; cifar10-32: 36 M).
    let largeModel: Bool
    /// The parameter count above which a model is large (``largeModel``).
    static let largeModelParameters = 64_000_000
    private let record: UsedNames

    /// The names asked for so far, by this reader and every other of the same file.
    var used: Set<String> { record.set }

    /// A reader of `file` whose convolutions follow `policy`, for maps `resolution` pixels wide.
    init(_ file: any WeightSource, policy: ConvPolicy, resolution: Int = 0) {
        self.file = file
        self.policy = policy
        self.resolution = resolution
        largeModel = file.names.reduce(0) { $0 + (file.shape(of: $1)?.reduce(1, *) ?? 0) } > Self.largeModelParameters
        record = UsedNames()
    }

    private init(_ other: WeightReader, resolution: Int) {
        (file, policy, largeModel, record) = (other.file, other.policy, other.largeModel, other.record)
        self.resolution = resolution
    }

    /// The same reader for layers whose maps are `resolution` pixels wide.
    func at(resolution: Int) -> WeightReader { WeightReader(self, resolution: resolution) }

    /// The tensor `name` with exactly `shape`.
    func tensor(_ name: String, _ shape: [Int]) throws -> Tensor {
        record.set.insert(name)
        return try file.tensor(name, shape: shape)
    }

    /// The first of `names` that the file has, with `shape` (also accepting trailing 1×1 dims).
    func tensor(anyOf names: [String], _ shape: [Int]) throws -> Tensor {
        for name in names where file.shape(of: name) != nil {
            record.set.insert(name)
            if file.shape(of: name) == shape + [1, 1] {
                return try file.tensor(name).reshaped(shape)
            }
            return try file.tensor(name, shape: shape)
        }
        throw SafeTensorsError(file: file.path, "tensor '\(names[0])' is missing (expected shape \(shape))")
    }

    /// conv weight (out, in, k, k) and bias (out) under `prefix`. A stride-1 3×3 convolution
    /// (`winograd`) gets Winograd planes; when its maps give a batch of one image enough tiles
    /// for the Winograd path (``ConvolutionAlgorithm/winogradMinTiles``), it never runs im2col
    /// but when asked to (``ConvPolicy/algorithm``, `ddim bench`'s comparison), so the original
    /// weights are dropped and recovered from the planes then. Stride-2 convolutions get no planes.
    func conv(_ prefix: String, out: Int, in cin: Int, kernel: Int, winograd: Bool = true) throws -> ConvWeight {
        let tile = policy.tile(resolution: resolution, out: out, in: cin, largeModel: largeModel)
        return ConvWeight(weight: try tensor("\(prefix).weight", [out, cin, kernel, kernel]),
                          bias: try tensor("\(prefix).bias", [out]),
                          winograd: winograd ? tile : nil,
                          keepWeights: !winograd || ConvPolicy.keepsWeights(resolution: resolution, tile: tile),
                          bf16: policy.precision == .bf16 && !Self.floatUnderBF16.contains(prefix))
    }

    /// The layers kept in float under `--precision bf16`: the first convolution, and the last, whose
    /// output is ε itself — with it in bf16 its error went straight into every step (the embedded
    /// model's digit-FID 12.7 → 19.0; with both in float 12.7, at the same speed: docs/performance.md).
    static let floatUnderBF16: Set<String> = ["conv_in", "conv_out"]

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

/// The tensor names a model's readers have asked for.
private final class UsedNames {
    var set: Set<String> = []
}

extension ConvPolicy {
    /// In a large model (``WeightReader/largeModel``), F(4×4) only for layers of at most this many
    /// channels in and out: on celebahq-256 those (its 128–256-channel layers on 32–256 px maps)
    /// made a forward 2.5 → 1.9 s for 110 MB more; its 512-channel layers, most of its weights,
    /// gained nothing at their 16×16 maps and would have cost 210 MB more.
    static let largeModelF4Channels = 256

    /// The Winograd planes of a 3×3 layer whose maps are `resolution` pixels wide: F(4×4, 3×3) at
    /// 16 or more, where 4×4 tiles fill the kernel's panels even at batch 1, F(2×2, 3×3) below or
    /// under ``WinogradTiles/onlyF2x2``; large models keep F(2×2) on their widest layers
    /// (``largeModelF4Channels``), whose 36/9 of the weights would not fit their memory budget.
    /// Also what the memory estimate counts (``UNetConfig/memory(batch:height:width:threads:policy:)``).
    func tile(resolution: Int, out: Int, in cin: Int, largeModel: Bool) -> WinogradTile {
        let f4 = resolution >= 16 && tiles == .automatic && (!largeModel || max(out, cin) <= Self.largeModelF4Channels)
        return f4 ? .f4x4 : .f2x2
    }

    /// Whether a Winograd layer keeps its original weights: when one image of its maps makes
    /// fewer tiles than the Winograd path takes (it then runs im2col at batch 1).
    static func keepsWeights(resolution: Int, tile: WinogradTile) -> Bool {
        let tilesPerSide = (resolution + tile.rawValue - 1) / tile.rawValue
        return tilesPerSide * tilesPerSide < ConvolutionAlgorithm.winogradMinTiles
    }
}

/// A GroupNorm layer: per-channel γ, β over `groups` groups.
struct GroupNormWeight: Sendable {
    let gamma: [Float], beta: [Float]
    let groups: Int
    let eps: Float

    func callAsFunction(_ x: Tensor, silu: Bool = false) -> Tensor {
        groupNorm(x, groups: groups, gamma: gamma, beta: beta, eps: eps, silu: silu)
    }

    /// The norm (and SiLU) of x as a per-(image, channel) map, for a convolution to apply as it
    /// reads x (``conv2d(_:_:stride:padding:prologue:imageBias:residual:algorithm:)``).
    func affine(_ x: Tensor, silu: Bool = false) -> ChannelAffine {
        groupNormAffine(x, groups: groups, gamma: gamma, beta: beta, eps: eps, silu: silu)
    }
}
