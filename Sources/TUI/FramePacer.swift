import Foundation

/// When the live sampler draws, and when a frame shows new pictures.
///
/// On two cores every millisecond the UI takes — and the terminal that parses its output — is one
/// the model's GEMMs wait for. Two budgets follow:
/// - **Frames** (step counter, bar, anything a key changed) at most 15 a second and within ~10 %
///   of one core: the interval is max(1/15 s, 9 × the mean frame time). (30 a second cost the
///   embedded model ~10 % of its live throughput once its forward had got 2× faster: each frame's
///   burst on the UI thread, and tmux's on the terminal side, holds up the other compute thread at
///   the next barrier of the forward.)
/// - **Pictures** are nearly all of a frame's output (a colour change for almost every cell:
///   ~36 kB a frame at 160×48 in truecolour, against a few dozen cells for the counter and bar),
///   so new ones are drawn at most 10 times a second and within ~5 % of a core: max(0.1 s, 19 × the
///   mean time of a frame with new pictures). Frames in between redraw only the progress line
///   (step, bar, timing) and leave the rest of the screen as it is.
///
/// Anything but a running step — a key, a new run, pause, done, failed — shows the newest
/// pictures at once. Means are over the last ~8 frames of each kind.
public struct FramePacer: Sendable {
    /// Mean seconds of a frame that kept the pictures, and of one that drew new ones.
    public private(set) var frameSeconds = 0.0, pictureSeconds = 0.0
    /// When the last frame, and the last frame with new pictures, started.
    public private(set) var lastFrame = Date.distantPast, lastPictures = Date.distantPast
    /// The run (generation) whose pictures are on screen; nil before the first.
    public private(set) var shownGeneration: Int?

    /// A pacer that has drawn nothing yet.
    public init() {}

    /// Picture cells a second a running sampler may send the terminal. Each written cell is ~25
    /// bytes (a cursor move now and then, two 24-bit colours, a glyph) that the terminal parses on
    /// the cores the model runs on — tmux: ~1 µs a cell. Early in a run nearly every cell of x̂₀
    /// moves between two pictures (~2,900 cells for four tiles at 160×48), later few do; paced
    /// pictures write the cells that moved most, this many a second (``Terminal/directBudget``),
    /// and the rest catch up in the next ones. Forced and final frames are exact.
    public static let cellsPerSecond = 5000

    /// The cells the picture frame at `now` may write: ``cellsPerSecond`` for the time since the
    /// last new pictures (at most a second of it).
    public func cellBudget(at now: Date) -> Int {
        Int(Double(Self.cellsPerSecond) * min(1, max(0, now.timeIntervalSince(lastPictures))))
    }

    /// When the next frame is due (unless a key or a state change forces one sooner).
    public var nextFrame: Date { lastFrame.addingTimeInterval(max(1.0 / 15, 9 * frameSeconds)) }

    /// Whether a frame is due at `now` (always, when `forced` by a key or a state change).
    public func frameDue(at now: Date, forced: Bool) -> Bool {
        forced || now >= nextFrame
    }

    /// Whether a frame at `now` draws the newest pictures of run `generation`, or keeps those shown.
    public func newPictures(at now: Date, generation: Int, running: Bool, forced: Bool) -> Bool {
        forced || !running || shownGeneration != generation
            || now >= lastPictures.addingTimeInterval(max(0.1, 19 * pictureSeconds))
    }

    /// Records a frame that started at `start`, took `seconds`, and drew new pictures of run
    /// `generation` (or kept the old ones, when `generation` is nil).
    public mutating func drew(at start: Date, seconds: Double, picturesOf generation: Int?) {
        lastFrame = start
        if let generation {
            shownGeneration = generation
            lastPictures = start
            pictureSeconds += (seconds - pictureSeconds) / 8
        } else {
            frameSeconds += (seconds - frameSeconds) / 8
        }
    }
}
