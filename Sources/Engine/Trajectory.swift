import Foundation
import Imaging
import Sampling
import Tensors

/// The path of one run, step by step: x_t and x̂₀ after every step, for a strip and an animation.
public struct Trajectory: Sendable {
    /// x_T (B, C, H, W), where the run started.
    public var start: Tensor
    /// After each step: the timestep t it ran at, x_{prev} (the new sample) and x̂₀.
    public var steps: [(timestep: Int, sample: Tensor, predictedX0: Tensor)] = []

    /// A trajectory starting at x_T.
    public init(start: Tensor) { self.start = start }

    /// Records one step.
    public mutating func record(_ p: StepProgress) {
        steps.append((p.timestep, p.sample, p.predictedX0))
    }

    /// The step indices a strip of at most `maxColumns` columns shows: every step when they fit,
    /// else evenly spaced ones, always with the first and the last.
    func stripIndices(maxColumns: Int) -> [Int] {
        let n = steps.count
        guard n > maxColumns, maxColumns >= 2 else { return Array(0..<n) }
        return (0..<maxColumns).map { Int((Double($0) * Double(n - 1) / Double(maxColumns - 1)).rounded()) }
    }

    /// A PNG strip: for each sample of the batch, a row of x̂₀ after each shown step and below
    /// it a row of x_t (the first column is x_T in both rows' place: x̂₀ is not defined there).
    public func strip(maxColumns: Int = 100) throws -> RGBImage {
        let shown = stripIndices(maxColumns: maxColumns - 1)
        let startImages = try ImageExport.images(start)
        var tiles: [RGBImage] = []
        let perStep = try shown.map { i in (try ImageExport.images(steps[i].predictedX0), try ImageExport.images(steps[i].sample)) }
        for b in 0..<startImages.count {
            tiles.append(startImages[b])
            tiles += perStep.map { $0.0[b] }
            tiles.append(startImages[b])
            tiles += perStep.map { $0.1[b] }
        }
        return try ImageGrid.compose(tiles, columns: shown.count + 1)
    }

    /// The animation's frames: frame 0 shows x_T; frame k shows, for every sample, x_t beside x̂₀
    /// after step k.
    public func frames() throws -> [RGBImage] {
        let batch = start.shape[0]
        var frames = [try ImageGrid.compose(try ImageExport.images(start).flatMap { [$0, $0] }, columns: 2 * min(batch, 4))]
        for step in steps {
            let xt = try ImageExport.images(step.sample), x0 = try ImageExport.images(step.predictedX0)
            frames.append(try ImageGrid.compose((0..<batch).flatMap { [xt[$0], x0[$0]] }, columns: 2 * min(batch, 4)))
        }
        return frames
    }

    /// Writes the strip to `path` and the animation (APNG) beside it, `NAME.apng` for `NAME.png`;
    /// returns the animation's path.
    @discardableResult
    public func write(to path: String, text: [(String, String)], frameMilliseconds: Int = 80) throws -> String {
        let png = text.map { PNGText($0.0, $0.1) }
        try PNGWriter().write(try strip(), to: path, text: png)
        let animation = Self.animationPath(for: path)
        try APNGWriter(frameMilliseconds: frameMilliseconds).write(try frames(), to: animation, text: png)
        return animation
    }

    /// `a/b.png` → `a/b.apng`; any other name gets `.apng` appended.
    public static func animationPath(for path: String) -> String {
        path.lowercased().hasSuffix(".png") ? String(path.dropLast(4)) + ".apng" : path + ".apng"
    }
}
