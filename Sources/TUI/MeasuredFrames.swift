import Engine
import Foundation

/// `--measure-ui N` (docs/tui.md): what drawing costs sampling. Wraps the live sampler's frames:
/// every run alternates blocks of N steps drawn live with blocks not drawn at all (no frame, one
/// wake-up at the block's end), and when the run is done, the two kinds' mean step time and the
/// UI thread's time on the frames go to the status row.
struct MeasuredFrames: FrameSchedule {
    var inner: PacedFrames
    /// Steps a block.
    let block: Int
    /// The frames of the current run and the UI thread's time on them.
    private(set) var cost = FrameCost(generation: -1)
    /// The run whose result was reported.
    private var reported: Int?

    init(wrapping inner: PacedFrames, block: Int) {
        (self.inner, self.block) = (inner, max(1, block))
    }

    /// Steps left in the quiet block a running run is in (nil: in a drawn block, or forced).
    func quietSteps(_ input: FrameInput) -> Int? {
        guard input.mode == .sample, input.running, !input.dirty, (input.stepsDone / block) % 2 == 1 else { return nil }
        return (input.stepsDone / block + 1) * block - input.stepsDone
    }

    func plan(_ input: FrameInput, now: Date) -> FramePlan {
        quietSteps(input) == nil ? inner.plan(input, now: now) : FramePlan(content: .nothing)
    }

    mutating func drew(_ plan: FramePlan, generation: Int, at start: Date, seconds: Double) {
        inner.drew(plan, generation: generation, at: start, seconds: seconds)
        guard plan.content != .studio else { return }
        if cost.generation != generation { cost = FrameCost(generation: generation) }
        cost.add(seconds, pictures: plan.newPictures)
    }

    func wait(_ input: FrameInput, busy: Bool, now: Date) -> Int32 {
        // a quiet block: wake once, at its end by the mean step time
        guard let steps = quietSteps(input) else { return inner.wait(input, busy: busy, now: now) }
        return Int32(min(250, (Double(steps) * max(1, input.meanMilliseconds)).rounded(.up)))
    }

    /// The result of a run that is done, once per run (nil otherwise).
    mutating func report(_ snapshot: LiveSnapshot) -> String? {
        guard snapshot.state == .done, reported != snapshot.generation else { return nil }
        reported = snapshot.generation
        return Self.measurement(snapshot, block: block) + cost.summary
    }

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
