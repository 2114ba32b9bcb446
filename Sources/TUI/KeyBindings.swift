/// What a key press asks the live sampler to do.
public enum Action: String, CaseIterable, Sendable {
    case etaDown, etaUp, sigmaHat, stepsDown, stepsUp, stepsPreset, spacing
    case nextSeed, previousSeed, batchUp, batchDown
    case pause, stepOnce, restart, view, zoom, graphics, blitter, colorMode, theme, colormap, save, help, quit
    case compareSteps, compareEta, interpolate, invert, alphaDown, alphaUp, open, paceDown, paceUp, scrub, classLabel
    case guidanceDown, guidanceUp
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
    /// The word of the bottom border's key line (nil: not there). Neighbours with the same word
    /// share it: `e/E η`.
    let footer: String?
    /// How much its place in the key line matters when the line is short (0: always there).
    let footerPriority: Int

    init(_ keys: [Character], _ label: String, _ help: String, _ action: Action, footer: String? = nil, priority: Int = 5) {
        (self.keys, self.label, self.help, self.action, self.footer, self.footerPriority) = (keys, label, help, action, footer, priority)
    }
}

/// The key table: the input loop, the help overlay (`?`), the bottom border's key line,
/// `ddim --help` and docs/keys.md all read it.
public enum KeyBindings {
    /// Step-count presets on the digit keys 1…6.
    static let stepPresets = [10, 20, 50, 100, 250, 1000]

    /// Every binding, in help order.
    public static let all: [KeyBinding] = [
        KeyBinding(["e"], "e", "η − 0.1 (0 = deterministic DDIM)", .etaDown, footer: "η", priority: 1),
        KeyBinding(["E"], "E", "η + 0.1 (1 = DDPM-like)", .etaUp, footer: "η", priority: 1),
        KeyBinding(["h"], "h", "σ̂ on/off: the paper's larger DDPM variance", .sigmaHat),
        KeyBinding(["s"], "s", "one step fewer", .stepsDown, footer: "steps", priority: 1),
        KeyBinding(["S"], "S", "one step more", .stepsUp, footer: "steps", priority: 1),
        KeyBinding(["1", "2", "3", "4", "5", "6"], "1–6", "steps 10 / 20 / 50 / 100 / 250 / 1000", .stepsPreset, footer: "steps", priority: 1),
        KeyBinding(["l"], "l", "class label of a class-conditional model: the next class, then any (unconditional) for a guided model (from the next step)", .classLabel),
        KeyBinding(["{"], "{", "guidance w − 0.5 (models trained with a null class; 0 = unconditional)", .guidanceDown),
        KeyBinding(["}"], "}", "guidance w + 0.5 (1 = the class as trained; more = more like it)", .guidanceUp),
        KeyBinding(["p"], "p", "timestep spacing: leading → trailing → linspace → quad", .spacing),
        KeyBinding(["n"], "n", "new seeds (next batch of seeds)", .nextSeed, footer: "seed", priority: 4),
        KeyBinding(["N"], "N", "previous seeds", .previousSeed),
        KeyBinding(["+", "="], "+", "one more sample", .batchUp),
        KeyBinding(["-", "_"], "-", "one sample fewer", .batchDown),
        KeyBinding([" "], "space", "pause / resume", .pause, footer: "pause", priority: 2),
        KeyBinding(["<"], "<", "pace: half the time a step (faster; 0 = as fast as it goes)", .paceDown),
        KeyBinding([">"], ">", "pace: twice the time a step (slower, to watch)", .paceUp),
        // the arrows, Home and End are not characters: the input loop routes them (AppState.handle)
        KeyBinding([], "← →", "step back / forward through the run (paused or done); Home, End", .scrub),
        KeyBinding(["."], ".", "one step (while paused)", .stepOnce),
        KeyBinding(["r"], "r", "restart from the same x_T", .restart, footer: "restart", priority: 6),
        KeyBinding(["v"], "v", "view: x̂₀ → x_t → both", .view, footer: "view", priority: 6),
        KeyBinding(["z"], "z", "zoom: one tile full-screen (z again: the next tile, then all)", .zoom),
        KeyBinding(["g"], "g", "tiles: pixels (kitty / sixel / iTerm2, as the terminal speaks) ↔ blocks", .graphics),
        KeyBinding(["b"], "b", "blitter: half → quadrant → sextant → braille → ascii", .blitter),
        KeyBinding(["c"], "c", "colours: truecolor → 256 → 16 → mono", .colorMode),
        KeyBinding(["t"], "t", "theme: dusk → paper → contrast → your own (config)", .theme),
        KeyBinding(["m"], "m", "colormap of one-channel models: grey → viridis → magma", .colormap),
        KeyBinding(["k"], "k", "compare: one x_T at 10 / 20 / 50 / 100 steps (k again: back)", .compareSteps, footer: "compare", priority: 3),
        KeyBinding(["K"], "K", "compare: one x_T at η 0 / 0.2 / 0.5 / 1 (K again: back)", .compareEta),
        KeyBinding(["i"], "i", "interpolate: slerp between the x_T of two seeds (i again: back)", .interpolate, footer: "interpolate", priority: 5),
        KeyBinding(["["], "[", "interpolate: α − 0.1 (← too, in that view)", .alphaDown),
        KeyBinding(["]"], "]", "interpolate: α + 0.1 (→ too, in that view)", .alphaUp),
        KeyBinding(["u"], "u", "invert the picture: x₀ → x_T → x₀, with the MSE (u again: back)", .invert, footer: "invert", priority: 5),
        KeyBinding(["o"], "o", "open a PNG (type its path, Enter) and invert it", .open),
        KeyBinding(["w"], "w", "save the grid as PNG in the current folder (or the config's save-dir)", .save, footer: "save", priority: 4),
        KeyBinding(["?"], "?", "this help", .help, footer: "help", priority: 0),
        KeyBinding(["q", "\u{3}"], "q", "quit (also Ctrl-C)", .quit, footer: "quit", priority: 0),
    ]

    /// The binding of a typed character.
    public static func binding(for key: Character) -> KeyBinding? {
        all.first { $0.keys.contains(key) }
    }

    /// The action of a typed character.
    public static func action(for key: Character) -> Action? { binding(for: key)?.action }

    /// The step count of a preset key (`1`…`6`), nil for any other.
    static func stepPreset(for key: Character) -> Int? {
        guard let d = key.wholeNumberValue, (1...stepPresets.count).contains(d), key.isASCII else { return nil }
        return stepPresets[d - 1]
    }

    /// The key line of the bottom border in `width` cells: the bindings with a footer word,
    /// neighbours with the same word joined (`e/E η  s/S/1–6 steps  n seed  …  ? help  q quit`);
    /// when short, whole groups go by priority (`?` and `q` stay).
    public static func footer(width: Int, transform: (String) -> String = { $0 }) -> String {
        var groups: [FieldLine.Field] = []
        var words: [String] = []
        var labels: [[String]] = []
        for b in all {
            guard let word = b.footer else { continue }
            if words.last == word {
                labels[labels.count - 1].append(b.label)
            } else {
                words.append(word)
                labels.append([b.label])
                groups.append(FieldLine.Field("", priority: b.footerPriority))
            }
        }
        for i in groups.indices { groups[i].text = transform(labels[i].joined(separator: "/") + " " + words[i]) }
        return FieldLine(groups, width: width).text
    }

    /// The help overlay's lines: each binding's label, padded to `labelWidth`, and its text.
    static func helpLines(labelWidth: Int = 6) -> [(keys: String, text: String)] {
        all.map { ($0.label.padding(toLength: labelWidth, withPad: " ", startingAt: 0), $0.help) }
    }

    /// The key list of `ddim --help`: one binding a line.
    public static var commandLineHelp: String {
        "Keys of the live sampler (docs/keys.md):\n" + helpLines(labelWidth: 7).map { "  " + $0.keys + $0.text }.joined(separator: "\n")
    }
}
