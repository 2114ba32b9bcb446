import Engine
import Foundation

/// `--measure-ui`: what drawing costs sampling (docs/tui.md).
extension App {
    /// Frames drawn for one run and the UI thread's time on them (what `--measure-ui` adds).
    struct FrameCost {
        let generation: Int
        var pictures = 0, pictureSeconds = 0.0, others = 0, otherSeconds = 0.0

        init(generation: Int) { self.generation = generation }

        mutating func add(_ seconds: Double, pictures withPictures: Bool) {
            if withPictures { pictures += 1; pictureSeconds += seconds } else { others += 1; otherSeconds += seconds }
        }

        /// "; UI thread: 300 frames with pictures at 1.9 ms, 600 without at 0.3 ms".
        var summary: String {
            String(format: "; UI thread: %d frames with pictures at %.1f ms, %d without at %.1f ms", pictures,
                   pictureSeconds * 1e3 / Double(max(pictures, 1)), others, otherSeconds * 1e3 / Double(max(others, 1)))
        }
    }

    /// The `--measure-ui` result of a finished run: the mean step time of the blocks drawn live
    /// (even) and of those not drawn (odd), the first two blocks left out (start-up).
    static func measurement(_ snap: LiveSnapshot, block n: Int) -> String {
        var (seconds, steps) = ([0.0, 0.0], [0, 0])
        for (k, s) in snap.blockSeconds.enumerated() where k >= 2 {
            seconds[k % 2] += s
            steps[k % 2] += max(0, min(n, snap.stepsDone - k * n))
        }
        guard steps[0] > 0, steps[1] > 0 else { return "measure-ui: too few steps for two blocks of \(n) after the first two" }
        let (drawn, quiet) = (seconds[0] * 1e3 / Double(steps[0]), seconds[1] * 1e3 / Double(steps[1]))
        return String(format: "measure-ui: drawn %.2f ms/step (%d steps), not drawn %.2f ms/step (%d steps): ×%.3f",
                      drawn, steps[0], quiet, steps[1], drawn / quiet)
    }
}
