import Dispatch
import Sampling
import Tensors

/// What the studio shows: one of DDIM's promises, live.
public enum StudioView: Sendable, Equatable {
    /// One x_T (seed), one column per (S, σ-rule): consistency (§5.3).
    case compare(seed: UInt64, columns: [ComparisonColumn], spacing: TimestepSpacing)
    /// x_T of seed A, slerp at α, x_T of seed B, each sampled with η = 0 (§5.3, App. D.5).
    case interpolate(seedA: UInt64, seedB: UInt64, alpha: Float, steps: Int, spacing: TimestepSpacing)
    /// An image, its x_T by the ODE run forward, and the reconstruction from that x_T (§5.4).
    case invert(image: Tensor, name: String, steps: Int, spacing: TimestepSpacing)
}

/// One picture of the studio and how far along it is.
public struct StudioTile: Sendable {
    /// What the tile shows ("S=20 η=0", "α=0.40", "x_T").
    public var label: String
    /// The picture (1, C, H, W): x̂₀ while sampling, x_t while encoding; nil until there is one.
    public var image: Tensor?
    /// Steps done and planned for this tile (0/0 for a fixed image).
    public var stepsDone = 0, stepCount = 0
    /// A figure for the tile's bottom edge ("MSE 0.0012", "Δ 24.1 dB").
    public var caption = ""

    /// Whether the tile is complete.
    public var isDone: Bool { stepsDone >= stepCount }
}

/// The latest state of the studio.
public struct StudioSnapshot: Sendable {
    /// The view being computed.
    public var view: StudioView?
    /// Tiles, left to right.
    public var tiles: [StudioTile] = []
    /// Paused by the user (``StudioCommand/setPaused(_:)``).
    public var paused = false
    /// The error that stopped the view, if any.
    public var failure: LiveFailure?
    /// Milliseconds of the last step.
    public var lastMilliseconds = 0.0

    /// Steps done and planned over all tiles.
    public var progress: (done: Int, count: Int) {
        (tiles.map(\.stepsDone).reduce(0, +), tiles.map(\.stepCount).reduce(0, +))
    }
    /// Whether every tile is complete.
    public var isDone: Bool { tiles.allSatisfy(\.isDone) }
}

/// A request from the UI to the studio's worker.
public enum StudioCommand: Sendable, Equatable {
    /// Show `view` instead of the current one; lanes it shares with the current view are kept
    /// unless `fresh`.
    case show(StudioView, fresh: Bool)
    /// Pause or resume.
    case setPaused(Bool)
    /// Run exactly one step even while paused (each command is one step).
    case stepOnce
    /// Draw every tile as this class from now on (every lane starts again).
    case setClass(Int?)
    /// Guide by this weight from now on (every lane starts again).
    case setGuidance(Float)
}

/// A background worker for the studio views (compare, interpolate, invert): like ``LiveSampler``,
/// it runs a synchronous state machine (``StudioRun``) on its own serial queue and talks to the UI
/// only through a ``Mailbox``: commands in, a latest-wins snapshot out after each step. It always
/// steps the lane that is least far along, so the tiles fill in together; lanes whose inputs did
/// not change are kept across views.
public final class LiveStudio: Sendable {
    private let model: LoadedModel
    private let queue = DispatchQueue(label: "ddim.studio", qos: .userInitiated)
    private let mailbox = Mailbox<StudioCommand, StudioSnapshot>(StudioSnapshot())

    /// A studio on `model`; its worker starts on the first ``show(_:fresh:)``.
    public init(model: LoadedModel) { self.model = model }

    /// Shows `view` (replacing the current one; unchanged lanes are kept unless `fresh`). Starts
    /// the worker on first use.
    public func show(_ view: StudioView, fresh: Bool = false) {
        mailbox.send(.show(view, fresh: fresh))
        mailbox.startOnce(on: queue) { [self] in work() }
    }

    /// Pauses or resumes the work.
    public func setPaused(_ paused: Bool) { mailbox.send(.setPaused(paused)) }

    /// While paused: one step.
    public func stepOnce() { mailbox.send(.stepOnce) }

    /// Another class label for the views (their lanes start again at the next show).
    public func setClass(_ label: Int?) { mailbox.send(.setClass(label)) }

    /// Another guidance weight for the views (their lanes start again at the next show).
    public func setGuidance(_ w: Float) { mailbox.send(.setGuidance(w)) }

    /// The latest snapshot and its version.
    public func latest() -> (snapshot: StudioSnapshot, version: Int) { mailbox.latest() }

    /// Stops the worker after the step in progress (waits at most `timeout` seconds).
    public func stop(timeout: Double = 30) { mailbox.stop(timeout: timeout) }

    /// The worker: a ``StudioRun`` served until stopped.
    private func work() { mailbox.serve(StudioRun(model: model)) }
}
