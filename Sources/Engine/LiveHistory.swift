import Tensors

/// Every step's pictures of a live run, x_t and x̂₀ of every tile, at preview resolution and
/// within a memory budget: what the live sampler steps back and forth through (scrubbing) when
/// paused or done. A 1000-step run of a 256×256 RGB model at batch 4 would hold 6 GB at full
/// resolution; here each picture is box-averaged to at most ``maxSide`` pixels a side, and when
/// the frames outgrow ``budgetBytes`` every other one is dropped (x_T and the newest stay), so a
/// long run keeps an even sample of its steps.
public struct LiveHistory: Sendable {
    /// One step's pictures.
    public struct Frame: Sendable {
        /// Steps done when it was taken (0: x_T).
        public let step: Int
        /// The timestep x was at after it.
        public let timestep: Int
        /// x_t (B, C, h, w) and x̂₀ (nil for x_T), at preview resolution.
        public let sample: Tensor
        public let predictedX0: Tensor?

        /// Bytes the frame holds.
        var bytes: Int { (sample.count + (predictedX0?.count ?? 0)) * MemoryLayout<Float>.size }
    }

    /// The frames, by step.
    public private(set) var frames: [Frame] = []
    /// The largest side a stored picture keeps.
    public let maxSide: Int
    /// At most this many bytes of frames.
    public let budgetBytes: Int
    private var bytes = 0

    /// An empty history; 32 MB and 64 pixels a side by default.
    public init(maxSide: Int = 64, budgetBytes: Int = 32 << 20) {
        (self.maxSide, self.budgetBytes) = (max(1, maxSide), max(1, budgetBytes))
    }

    /// Records the pictures after `step` steps (x at `timestep`), thinning the older frames when
    /// over budget.
    public mutating func record(step: Int, timestep: Int, sample: Tensor, predictedX0: Tensor?) {
        let frame = Frame(step: step, timestep: timestep, sample: Self.shrunk(sample, maxSide: maxSide),
                          predictedX0: predictedX0.map { Self.shrunk($0, maxSide: maxSide) })
        // a re-run from an earlier step replaces the later frames (rare: a running total otherwise)
        if let last = frames.last, last.step >= step {
            frames.removeAll { $0.step >= step }
            bytes = frames.map(\.bytes).reduce(0, +)
        }
        frames.append(frame)
        bytes += frame.bytes
        while bytes > budgetBytes && frames.count > 2 {
            // keep x_T, every other frame between, and the newest
            frames = frames.enumerated().filter { $0.offset == 0 || $0.offset == frames.count - 1 || $0.offset % 2 == 0 }.map(\.element)
            bytes = frames.map(\.bytes).reduce(0, +)
        }
    }

    /// The frame of `step`, or the nearest one before it.
    public func frame(atOrBefore step: Int) -> Frame? { frames.last { $0.step <= step } ?? frames.first }

    /// The step of the frame after (`forward`) or before the one at `step`; nil at either end.
    public func neighbour(of step: Int, forward: Bool) -> Int? {
        forward ? frames.first { $0.step > step }?.step : frames.last { $0.step < step }?.step
    }

    /// x (B, C, H, W) box-averaged by the smallest whole factor that brings both sides to at most
    /// `maxSide` (itself when they are).
    static func shrunk(_ x: Tensor, maxSide: Int) -> Tensor {
        guard x.rank == 4 else { return x }
        let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let f = (max(h, w) + maxSide - 1) / maxSide
        guard f > 1 else { return x }
        let (oh, ow) = (h / f, w / f)
        var out = Tensor(shape: [b, c, oh, ow])
        let scale = 1 / Float(f * f)
        for plane in 0..<(b * c) {
            for y in 0..<oh {
                for xo in 0..<ow {
                    var sum: Float = 0
                    for dy in 0..<f {
                        let row = plane * h * w + (y * f + dy) * w + xo * f
                        for dx in 0..<f { sum += x.data[row + dx] }
                    }
                    // the mean of the f × f block
                    out.data[plane * oh * ow + y * ow + xo] = sum * scale
                }
            }
        }
        return out
    }
}
