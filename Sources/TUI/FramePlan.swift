import Engine
import Foundation

/// What the UI loop knows when it decides a frame: the view on screen, the sampler's newest
/// snapshot in a few numbers, and whether anything asks for a frame.
public struct FrameInput: Equatable, Sendable {
    public var mode: Mode = .sample
    /// The sampler's run, its state and how far along it is.
    public var generation = 0
    public var running = false
    public var stepsDone = 0
    public var meanMilliseconds = 0.0
    /// The worker on screen has published since the last frame.
    public var changed = false
    /// A key, a resize or a status change: the next frame is whole and exact, at once.
    public var dirty = false

    /// What the loop knows now.
    public init(mode: Mode = .sample, generation: Int = 0, running: Bool = false, stepsDone: Int = 0,
                meanMilliseconds: Double = 0, changed: Bool = false, dirty: Bool = false) {
        (self.mode, self.generation, self.running, self.stepsDone) = (mode, generation, running, stepsDone)
        (self.meanMilliseconds, self.changed, self.dirty) = (meanMilliseconds, changed, dirty)
    }
}

/// What one pass of the UI loop draws (pure: decided from the input and the pacer alone).
public struct FramePlan: Equatable, Sendable {
    /// What a frame redraws.
    public enum Content: Equatable, Sendable {
        /// No frame now.
        case nothing
        /// Only the progress line (step, bar, timing): the pictures stay as they are.
        case progress
        /// The tiles' pictures and the progress line over the last whole frame.
        case pictures
        /// The whole sampler frame.
        case whole
        /// The whole studio frame.
        case studio
    }

    public var content: Content
    /// How far (per 8-bit channel) a direct cell may be from the screen and stay (0: exact).
    public var tolerance: Int32 = 0
    /// At most this many direct cells (nil: all that changed).
    public var budget: Int? = nil

    /// A frame of `content`.
    public init(content: Content, tolerance: Int32 = 0, budget: Int? = nil) {
        (self.content, self.tolerance, self.budget) = (content, tolerance, budget)
    }

    /// Whether the frame shows the sampler's newest pictures.
    public var newPictures: Bool { content == .pictures || content == .whole }

    /// The frame for `input` at `now`. Paced frames of a running run (nothing forced) leave direct
    /// cells within 3 levels alone and write at most the pacer's cells a second; a frame that
    /// draws new pictures over the same run redraws only the tiles and the progress line, one
    /// that keeps them only the progress line. Forced frames (keys, pause, done) are whole and exact.
    public static func decide(_ input: FrameInput, pacer: FramePacer, now: Date) -> FramePlan {
        guard input.changed || input.dirty, pacer.frameDue(at: now, forced: input.dirty) else { return FramePlan(content: .nothing) }
        guard input.mode == .sample else { return FramePlan(content: .studio) }
        let fresh = pacer.newPictures(at: now, generation: input.generation, running: input.running, forced: input.dirty)
        let paced = input.running && !input.dirty
        let tolerance: Int32 = paced ? 3 : 0
        guard fresh else { return FramePlan(content: .progress, tolerance: tolerance) }
        let budget = paced ? pacer.cellBudget(at: now) : nil
        let content: Content = paced && pacer.shownGeneration == input.generation ? .pictures : .whole
        return FramePlan(content: content, tolerance: tolerance, budget: budget)
    }

    /// Milliseconds to wait for a key before the loop looks again. While a worker runs (`busy`)
    /// or a snapshot waits to be shown (`pending`): until the next frame is due (one wake-up a
    /// frame: each one takes a core from the model for a moment), then every 33 ms for a new
    /// step. Otherwise 250 ms.
    public static func wait(busy: Bool, pending: Bool, pacer: FramePacer, now: Date) -> Int32 {
        guard busy || pending else { return 250 }
        let untilDue = pacer.nextFrame.timeIntervalSince(now)
        return untilDue > 0 ? Int32(min(250, (untilDue * 1e3).rounded(.up))) : 33
    }
}

/// When the UI loop draws: ``PacedFrames`` for the live sampler, ``MeasuredFrames`` wrapped
/// around it for `--measure-ui`.
protocol FrameSchedule {
    /// The frame to draw now.
    func plan(_ input: FrameInput, now: Date) -> FramePlan
    /// Records a drawn frame that started at `start` and took `seconds`.
    mutating func drew(_ plan: FramePlan, generation: Int, at start: Date, seconds: Double)
    /// Milliseconds to wait for a key (``FramePlan/wait(busy:pending:pacer:now:)``).
    func wait(_ input: FrameInput, busy: Bool, now: Date) -> Int32
    /// A line for the status row about a run that is done, once per run (nil: nothing to say).
    mutating func report(_ snapshot: LiveSnapshot) -> String?
}

/// The live sampler's frames, paced by a ``FramePacer``.
struct PacedFrames: FrameSchedule {
    var pacer = FramePacer()

    func plan(_ input: FrameInput, now: Date) -> FramePlan { FramePlan.decide(input, pacer: pacer, now: now) }

    mutating func drew(_ plan: FramePlan, generation: Int, at start: Date, seconds: Double) {
        pacer.drew(at: start, seconds: seconds, picturesOf: plan.newPictures ? generation : nil)
    }

    func wait(_ input: FrameInput, busy: Bool, now: Date) -> Int32 {
        FramePlan.wait(busy: busy, pending: input.changed, pacer: pacer, now: now)
    }

    func report(_ snapshot: LiveSnapshot) -> String? { nil }
}
