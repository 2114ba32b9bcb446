import Foundation
import Tensors

/// A picture the inversion view works on: (1, C, H, W) in [−1, 1], and its name.
public typealias Picture = (image: Tensor, name: String)

/// What the terminal delivered, as the state sees it.
public enum Input: Equatable, Sendable {
    case character(Character)
    case left, right, backspace, enter
    /// The screen changed size: redraw.
    case resize
    /// Any other special key (function keys, …): ignored, but closes the help.
    case other
    /// A left click: on the sampler's tile showing this sample, or elsewhere (nil).
    case click(sample: Int?)
    /// Home and End: the first recorded step, and the newest.
    case home, end
    /// The mouse wheel, turned up (back through the run) or down.
    case wheel(up: Bool)
    /// A left click on the progress bar, this far along it (0…1).
    case clickBar(fraction: Double)
}

/// What the app must do after a change of its state (htop's result flags). The state says what
/// changed; the app talks to the workers, the files and the screen.
public struct Reaction: OptionSet, Sendable {
    public let rawValue: Int
    /// A reaction of these bits.
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// Draw the whole frame at once.
    public static let redraw = Reaction(rawValue: 1 << 0)
    /// Steps, η or spacing changed: the sampler re-plans (a studio view is re-shown with them).
    public static let sendSettings = Reaction(rawValue: 1 << 1)
    /// Seed or batch changed: the sampler starts from a new x_T.
    public static let newRun = Reaction(rawValue: 1 << 2)
    /// The mode changed: one worker pauses, the other resumes (``AppState/paused``).
    public static let switchWorker = Reaction(rawValue: 1 << 3)
    /// The worker on screen pauses or resumes (``AppState/paused``).
    public static let pause = Reaction(rawValue: 1 << 4)
    /// The worker on screen runs one step.
    public static let stepOnce = Reaction(rawValue: 1 << 5)
    /// The worker on screen starts over (the sampler from the same x_T; a studio view afresh).
    public static let restart = Reaction(rawValue: 1 << 6)
    /// The studio view's inputs changed (α, the picture): show it again.
    public static let showStudio = Reaction(rawValue: 1 << 7)
    /// Load the theme ``AppState/themeName``.
    public static let loadTheme = Reaction(rawValue: 1 << 8)
    /// Save what is on screen as PNG.
    public static let save = Reaction(rawValue: 1 << 9)
    /// Open the picture at ``AppState/openRequest`` and invert it.
    public static let open = Reaction(rawValue: 1 << 10)
    /// The pace changed (``LiveSettings/paceMilliseconds``): tell the sampler.
    public static let sendPace = Reaction(rawValue: 1 << 13)
    /// Send the new class label (``LiveSettings/classLabel``) to the workers.
    public static let sendClass = Reaction(rawValue: 1 << 14)
    /// Send the new guidance weight (``LiveSettings/guidance``) to the workers.
    public static let sendGuidance = Reaction(rawValue: 1 << 15)
    /// End the live sampler.
    public static let quit = Reaction(rawValue: 1 << 11)
    /// End it as SIGINT would (Ctrl-C, a key in raw mode): exit 130.
    public static let interrupt = Reaction(rawValue: 1 << 12)
}

/// A line in the status row, until a time.
public struct Status: Equatable, Sendable {
    public var text: String
    public var warning: Bool
    public var until: Date

    /// A status line.
    public init(text: String, warning: Bool, until: Date) { (self.text, self.warning, self.until) = (text, warning, until) }
}
