import Tensors

// MARK: - Arithmetic cost

extension ConvWeight {
    /// 2·Cout·Cin·k²·Ho·Wo for one image.
    func flops(outputPixels: Int) -> Double { 2 * Double(outChannels * inChannels * kernel * kernel * outputPixels) }
}

extension ResnetBlock {
    func flops(pixels n: Int) -> Double {
        conv1.flops(outputPixels: n) + conv2.flops(outputPixels: n) + (shortcut?.flops(outputPixels: n) ?? 0)
    }
}

extension AttentionBlock {
    /// Q, K, V and output projections (2·N·C·inner each) plus QKᵀ and PV (2·N²·inner each).
    func flops(pixels n: Int) -> Double {
        let c = Double(weights.output.rows), inner = Double(weights.inner), n = Double(n)
        return 4 * 2 * n * c * inner + 2 * 2 * n * n * inner
    }
}

extension Resampler {
    /// How the summary names it: "" for a conv, " by a resnet" otherwise.
    var kind: String {
        if case .resnet = self { return " by a resnet" }
        return ""
    }
}

extension UNet2DModel {
    /// Floating-point operations of one forward pass of one h×w image (multiply-adds count 2;
    /// element-wise work and the time embedding are left out: they are under 1 %).
    public func flops(height h: Int, width w: Int) -> Double {
        var total = convIn.flops(outputPixels: h * w) + convOut.flops(outputPixels: h * w)
        var n = h * w
        for block in down {
            total += block.resnets.reduce(0) { $0 + $1.flops(pixels: n) }
            total += block.attentions.reduce(0) { $0 + $1.flops(pixels: n) }
            if let d = block.downsample { n /= 4; total += d.flops(outputPixels: n) }
        }
        if let mid {
            total += mid.first.flops(pixels: n) + mid.second.flops(pixels: n) + (mid.attention?.flops(pixels: n) ?? 0)
        }
        for block in up {
            total += block.resnets.reduce(0) { $0 + $1.flops(pixels: n) }
            total += block.attentions.reduce(0) { $0 + $1.flops(pixels: n) }
            if let u = block.upsample { n *= 4; total += u.flops(outputPixels: n) }
        }
        return total
    }

    /// A one-line-per-level summary of the architecture.
    public var summary: [String] {
        var lines: [String] = []
        for (i, block) in down.enumerated() {
            let c = block.resnets.last?.conv2.outChannels ?? 0
            let attn = block.attentions.isEmpty ? "" : " + attention (\(block.attentions[0].weights.heads) head\(block.attentions[0].weights.heads == 1 ? "" : "s"))"
            lines.append("down \(i): \(block.resnets.count) resnet\(block.resnets.count == 1 ? "" : "s") × \(c) ch\(attn)\(block.downsample.map { ", ↓2" + $0.kind } ?? "")")
        }
        if let classes = config.classCount, let kind = config.classConditioning {
            let guided = config.nullClass.map { "; label \($0) is the null class: trained for classifier-free guidance (--guidance)" } ?? ""
            lines.insert("classes: \(classes) (\(kind == .timestep ? "the label's sinusoid through an MLP" : "an embedding table")) added to the time embedding\(guided)", at: 0)
        }
        if config.predictsVariance {
            lines.append("output: \(config.outChannels) channels, ε and a learned variance (DDIM takes ε, the first \(config.inChannels))")
        }
        if let mid { lines.append("mid: 2 resnets × \(mid.first.conv2.outChannels) ch\(mid.attention == nil ? "" : " + attention")") }
        for (i, block) in up.enumerated() {
            let c = block.resnets.last?.conv2.outChannels ?? 0
            let attn = block.attentions.isEmpty ? "" : " + attention"
            lines.append("up \(i): \(block.resnets.count) resnets × \(c) ch\(attn)\(block.upsample.map { ", ↑2" + $0.kind } ?? "")")
        }
        return lines
    }
}
