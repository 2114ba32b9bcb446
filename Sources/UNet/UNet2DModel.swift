import Foundation
import Tensors

/// diffusers' `UNet2DModel` on the CPU: built from its `config.json`, weights bound by the
/// checkpoint's own tensor names, run in float32 over OpenBLAS.
///
/// Immutable once loaded, so one model may serve several threads.
public final class UNet2DModel: Sendable {
    /// The decoded configuration.
    public let config: UNetConfig
    /// Number of parameters bound from the checkpoint.
    public let parameterCount: Int
    /// Where the weights came from (for messages).
    let weightsPath: String
    /// How its 3×3 convolutions run, and which Winograd planes they were given at load.
    public let convPolicy: ConvPolicy

    let convIn: ConvWeight  // in_channels → C₀
    let timeLinear1: LinearWeight, timeLinear2: LinearWeight  // C₀ → T, T → T
    let classEmbedding: ClassEmbedding?
    let down: [DownBlock]
    let mid: MidBlock?
    let up: [UpBlock]
    let normOut: GroupNormWeight
    let convOut: ConvWeight  // C₀ → out_channels

    /// Loads `config.json` and the weights (safetensors, or a PyTorch checkpoint when the name
    /// ends in `.bin`; ``WeightFile/open(_:)``). Every expected tensor must be present with
    /// its exact shape; a tensor the architecture does not use is an error too (it means the
    /// config and the weights disagree). Its convolutions follow `policy`.
    public convenience init(configURL: URL, weightsURL: URL, policy: ConvPolicy = ConvPolicy()) throws {
        let config = try UNetConfig.load(from: configURL)
        let file = try WeightFile.open(weightsURL)
        try self.init(config: config, weights: file, policy: policy)
    }

    /// Builds the model from a validated config and an opened weights file; its convolutions
    /// follow `policy` (the Winograd planes packed here, the algorithm of its forward passes).
    public init(config c: UNetConfig, weights file: any WeightSource, policy: ConvPolicy = ConvPolicy()) throws {
        config = c
        weightsPath = file.path
        convPolicy = policy
        let ch = c.blockOutChannels
        let temb = c.timeEmbedWidth
        // level i of the UNet runs at sample_size / 2^i (the hint for each conv's Winograd planes)
        let side = c.sampleSize?.min() ?? 0
        let w = WeightReader(file, policy: policy, resolution: side)
        convIn = try w.conv("conv_in", out: ch[0], in: c.inChannels, kernel: 3)
        timeLinear1 = try w.linear(["time_embedding.linear_1"], out: temb, in: ch[0])
        timeLinear2 = try w.linear(["time_embedding.linear_2"], out: temb, in: temb)
        switch c.classConditioning {
        case .table(let classes)?:
            classEmbedding = .table(try w.tensor("class_embedding.weight", [classes, temb]))
        case .timestep?:
            classEmbedding = .timestep(try w.linear(["class_embedding.linear_1"], out: temb, in: ch[0]),
                                       try w.linear(["class_embedding.linear_2"], out: temb, in: temb))
        case nil:
            classEmbedding = nil
        }
        var down: [DownBlock] = []
        for (i, type) in c.downBlockTypes.enumerated() {
            down.append(try DownBlock(w.at(resolution: side >> i), index: i, in: i == 0 ? ch[0] : ch[i - 1], out: ch[i],
                                      temb: temb, attention: type == "AttnDownBlock2D", config: c))
        }
        self.down = down
        let deepest = w.at(resolution: side >> (ch.count - 1))
        mid = c.midBlockType == nil ? nil : try MidBlock(deepest, channels: ch[ch.count - 1], temb: temb, config: c)
        let reversed = Array(ch.reversed())
        var up: [UpBlock] = []
        for (i, type) in c.upBlockTypes.enumerated() {
            up.append(try UpBlock(w.at(resolution: side >> (ch.count - 1 - i)), index: i, in: reversed[min(i + 1, ch.count - 1)],
                                  prev: i == 0 ? reversed[0] : reversed[i - 1], out: reversed[i], temb: temb,
                                  attention: type == "AttnUpBlock2D", config: c))
        }
        self.up = up
        normOut = try w.norm("conv_norm_out", channels: ch[0], groups: c.normNumGroups, eps: c.normEps)
        convOut = try w.conv("conv_out", out: c.outChannels, in: ch[0], kernel: 3)
        if let extra = w.unused.first {
            let more = w.unused.count > 1 ? " (and \(w.unused.count - 1) more)" : ""
            throw SafeTensorsError(file: file.path, "unexpected tensor '\(extra)'\(more) for this config")
        }
        parameterCount = w.used.reduce(0) { $0 + (file.shape(of: $1)?.reduce(1, *) ?? 0) }
    }

    /// The factor that height and width must be divisible by.
    var sizeMultiple: Int { 1 << config.downsamplings }

    /// Checks that `shape` is (B, in_channels, H, W) with H and W multiples of `sizeMultiple`.
    public func checkInput(shape: [Int]) throws {
        let m = sizeMultiple
        guard shape.count == 4, shape[0] >= 1, shape[1] == config.inChannels, shape[2] >= m, shape[3] >= m,
            shape[2] % m == 0, shape[3] % m == 0
        else {
            throw ModelError(file: weightsPath, "input of shape \(shape) does not fit: expected (batch, \(config.inChannels), H, W) with H and W multiples of \(m)")
        }
    }

    /// ε_θ(x_t, t) (or x₀ / v, per the scheduler's prediction_type):
    /// x (B, in_channels, H, W), one timestep per sample → (B, out_channels, H, W). A
    /// class-conditional model (``UNetConfig/classConditioning``) takes one class label per
    /// sample, which an unconditional one must not be given.
    public func callAsFunction(_ x: Tensor, timesteps: [Float], classLabels: [Int]? = nil) throws -> Tensor {
        var run = RunContext(algorithm: convPolicy.algorithm)
        return try forward(x, timesteps: timesteps, classLabels: classLabels, run: &run)
    }

    /// Checks `labels` against the model: one per sample of a batch of `batch`, each a class it
    /// knows, and none for an unconditional model.
    public func checkClassLabels(_ labels: [Int]?, batch: Int) throws {
        guard let count = config.classCount else {
            if labels != nil { throw ModelError(file: weightsPath, "this model is not class-conditional (no num_class_embeds): it takes no class label") }
            return
        }
        guard let labels else {
            throw ModelError(file: weightsPath, "this model is class-conditional (\(count) classes): give a class label 0…\(count - 1)")
        }
        guard labels.count == batch else { throw ModelError(file: weightsPath, "\(labels.count) class labels for a batch of \(batch)") }
        if let bad = labels.first(where: { !(0..<count).contains($0) }) {
            throw ModelError(file: weightsPath, "class label \(bad) is not one of the model's \(count) classes (0…\(count - 1))")
        }
    }

    /// The same forward pass with 3×3 convolutions by `algorithm` instead of the policy's (for a
    /// comparison of the two; without the original weights, layers that dropped them recover
    /// them from their planes on every im2col call).
    public func forward(_ x: Tensor, timesteps: [Float], classLabels: [Int]? = nil, algorithm: ConvolutionAlgorithm) throws -> Tensor {
        var run = RunContext(algorithm: algorithm)
        return try forward(x, timesteps: timesteps, classLabels: classLabels, run: &run)
    }

    /// The same forward pass, timing each kind of operation into `profile`.
    public func forward(_ x: Tensor, timesteps: [Float], classLabels: [Int]? = nil, profile: inout OpProfile) throws -> Tensor {
        var run = RunContext(algorithm: convPolicy.algorithm, profile: profile)
        let y = try forward(x, timesteps: timesteps, classLabels: classLabels, run: &run)
        profile = run.profile ?? profile
        return y
    }

    func forward(_ input: Tensor, timesteps: [Float], classLabels: [Int]?, run: inout RunContext) throws -> Tensor {
        try checkInput(shape: input.shape)
        guard timesteps.count == input.shape[0] else {
            throw ModelError(file: weightsPath, "\(timesteps.count) timesteps for a batch of \(input.shape[0])")
        }
        try checkClassLabels(classLabels, batch: input.shape[0])
        var x = input
        if config.centerInputSample {
            // x ← 2x − 1
            x.data.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = 2 * p[i] - 1 } }
        }
        // emb = W₂·silu(W₁·γ(t)); every resnet uses silu(emb).
        let gamma = timestepEmbedding(timesteps, width: config.blockOutChannels[0],
                                      flipSinToCos: config.flipSinToCos, freqShift: config.freqShift)
        var emb = run.op(.linear) { linear(silu(linear(gamma, timeLinear1)), timeLinear2) }
        // a class-conditional model: emb += class_embedding(y), before the resnets' silu
        if let classEmbedding, let classLabels {
            let classEmb = run.op(.linear) { classEmbedding(classLabels, config: config) }
            emb.data.withUnsafeMutableBufferPointer { e in for i in 0..<e.count { e[i] += classEmb.data[i] } }
        }
        let embedding = silu(emb)

        var h = run.conv(.conv3x3, x, convIn, padding: Padding(1))
        var skips = [h]
        for block in down { h = block(h, embedding, skips: &skips, &run) }
        if let mid { h = mid(h, embedding, &run) }
        for block in up { h = block(h, embedding, skips: &skips, &run) }
        // conv_out(silu(norm_out(h))): the norm's statistics here, its map applied by the conv
        let out = run.op(.norm) { normOut.affine(h, silu: true) }
        return run.conv(.conv3x3, h, convOut, padding: Padding(1), prologue: out)
    }
}

/// The class embedding of a class-conditional UNet2DModel: a row of a table per label
/// (`nn.Embedding`), or the label's sinusoid through two linears (`TimestepEmbedding`).
enum ClassEmbedding: Sendable {
    case table(Tensor)
    case timestep(LinearWeight, LinearWeight)

    /// (B, T) for one label per sample.
    func callAsFunction(_ labels: [Int], config c: UNetConfig) -> Tensor {
        switch self {
        case .table(let table):
            let width = table.shape[1]
            var out = Tensor(shape: [labels.count, width])
            for (b, label) in labels.enumerated() {
                for j in 0..<width { out.data[b * width + j] = table.data[label * width + j] }
            }
            return out
        case .timestep(let first, let second):
            // W₂·silu(W₁·γ(y)), γ the same sinusoid as the timestep's
            let gamma = timestepEmbedding(labels.map(Float.init), width: c.blockOutChannels[0], flipSinToCos: c.flipSinToCos,
                                          freqShift: c.freqShift)
            return linear(silu(linear(gamma, first)), second)
        }
    }
}

/// diffusers' `get_timestep_embedding` in float32, as torch computes it:
/// half = ⌊d/2⌋, fᵢ = exp(−ln(10⁴)·i / (half − s)), γ(t) = [sin(t·f), cos(t·f)]
/// (or [cos, sin] when flipped), zero-padded to d when d is odd. → (B, d)
public func timestepEmbedding(_ timesteps: [Float], width d: Int, flipSinToCos: Bool, freqShift s: Int) -> Tensor {
    let half = d / 2
    let lnMax = Float(-log(10000.0))
    let freqs = (0..<half).map { expf(lnMax * Float($0) / Float(half - s)) }
    var out = Tensor(shape: [timesteps.count, d])
    for (b, t) in timesteps.enumerated() {
        for i in 0..<half {
            let arg = t * freqs[i]
            let (first, second) = flipSinToCos ? (cosf(arg), sinf(arg)) : (sinf(arg), cosf(arg))
            out.data[b * d + i] = first
            out.data[b * d + half + i] = second
        }
    }
    return out
}
