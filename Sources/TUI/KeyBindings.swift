/// What a key press asks the live sampler to do.
public enum Action: String, CaseIterable, Sendable {
    case etaDown, etaUp, sigmaHat, stepsDown, stepsUp, stepsPreset, spacing
    case nextSeed, previousSeed, batchUp, batchDown
    case pause, stepOnce, restart, view, blitter, colorMode, theme, colormap, save, help, quit
    case compareSteps, compareEta, interpolate, invert, alphaDown, alphaUp, open
}

/// One line of the key table: the keys, what they do, and the action.
public struct KeyBinding: Sendable {
    /// The keys as typed (single characters).
    public let keys: [Character]
    /// How the help shows the keys.
    public let label: String
    /// What the keys do.
    public let help: String
    /// The action.
    public let action: Action
}

/// The key table: the input loop, the help overlay and docs/keys.md all read it.
public enum KeyBindings {
    /// Step-count presets on the digit keys 1…6.
    public static let stepPresets = [10, 20, 50, 100, 250, 1000]

    /// Every binding, in help order.
    public static let all: [KeyBinding] = [
        KeyBinding(keys: ["e"], label: "e", help: "η − 0.1 (0 = deterministic DDIM)", action: .etaDown),
        KeyBinding(keys: ["E"], label: "E", help: "η + 0.1 (1 = DDPM-like)", action: .etaUp),
        KeyBinding(keys: ["h"], label: "h", help: "σ̂ on/off: the paper's larger DDPM variance", action: .sigmaHat),
        KeyBinding(keys: ["s"], label: "s", help: "one step fewer", action: .stepsDown),
        KeyBinding(keys: ["S"], label: "S", help: "one step more", action: .stepsUp),
        KeyBinding(keys: ["1", "2", "3", "4", "5", "6"], label: "1–6", help: "steps 10 / 20 / 50 / 100 / 250 / 1000", action: .stepsPreset),
        KeyBinding(keys: ["p"], label: "p", help: "timestep spacing: leading → trailing → linspace → quad", action: .spacing),
        KeyBinding(keys: ["n"], label: "n", help: "new seeds (next batch of seeds)", action: .nextSeed),
        KeyBinding(keys: ["N"], label: "N", help: "previous seeds", action: .previousSeed),
        KeyBinding(keys: ["+", "="], label: "+", help: "one more sample", action: .batchUp),
        KeyBinding(keys: ["-", "_"], label: "-", help: "one sample fewer", action: .batchDown),
        KeyBinding(keys: [" "], label: "space", help: "pause / resume", action: .pause),
        KeyBinding(keys: ["."], label: ".", help: "one step (while paused)", action: .stepOnce),
        KeyBinding(keys: ["r"], label: "r", help: "restart from the same x_T", action: .restart),
        KeyBinding(keys: ["v"], label: "v", help: "view: x̂₀ → x_t → both", action: .view),
        KeyBinding(keys: ["b"], label: "b", help: "blitter: half → quadrant → sextant → braille → ascii", action: .blitter),
        KeyBinding(keys: ["c"], label: "c", help: "colours: truecolor → 256 → 16 → mono", action: .colorMode),
        KeyBinding(keys: ["t"], label: "t", help: "theme: dusk → paper → contrast", action: .theme),
        KeyBinding(keys: ["m"], label: "m", help: "colormap of one-channel models: grey → viridis → magma", action: .colormap),
        KeyBinding(keys: ["k"], label: "k", help: "compare: one x_T at 10 / 20 / 50 / 100 steps, side by side (k again: back)", action: .compareSteps),
        KeyBinding(keys: ["K"], label: "K", help: "compare: one x_T at η 0 / 0.2 / 0.5 / 1 (K again: back)", action: .compareEta),
        KeyBinding(keys: ["i"], label: "i", help: "interpolate: slerp between the x_T of two seeds (i again: back)", action: .interpolate),
        KeyBinding(keys: ["[", "<"], label: "[ ←", help: "interpolate: α − 0.1 (also the left arrow)", action: .alphaDown),
        KeyBinding(keys: ["]", ">"], label: "] →", help: "interpolate: α + 0.1 (also the right arrow)", action: .alphaUp),
        KeyBinding(keys: ["u"], label: "u", help: "invert the current picture: x₀ → x_T → x₀, with the MSE (u again: back)", action: .invert),
        KeyBinding(keys: ["o"], label: "o", help: "open a PNG (type its path, Enter) and invert it", action: .open),
        KeyBinding(keys: ["w"], label: "w", help: "save the grid as PNG in the current folder", action: .save),
        KeyBinding(keys: ["?"], label: "?", help: "this help", action: .help),
        KeyBinding(keys: ["q", "\u{3}"], label: "q", help: "quit (also Ctrl-C)", action: .quit),
    ]

    /// The action of a typed character.
    public static func action(for key: Character) -> Action? {
        all.first { $0.keys.contains(key) }?.action
    }

    /// The one-line key help of the bottom border.
    public static let footer = "e/E η  s/S 1–6 steps  n seed  space pause  r restart  v view  k compare  i interpolate  u invert  w save  ? help  q quit"
}
