/// The live sampler's text in a locale that is not UTF-8 (`LANG=C`, common in containers and on
/// minimal ssh servers), where ncurses shows nothing for a non-ASCII character: the symbols spelled
/// out (`eta`, `abar`, `sigma`, `x0`), box drawing as `+-|`, bars as `#` and `.`.
public enum Chrome {
    /// `text` in ASCII: symbols spelled out, box and block glyphs as ASCII, runs of superscript
    /// digits as `^64`; anything else outside ASCII becomes `?`.
    public static func ascii(_ text: String) -> String {
        guard !text.unicodeScalars.allSatisfy(\.isASCII) else { return text }
        var s = text
        for (symbol, spelled) in words { s = s.replacingOccurrences(of: symbol, with: spelled) }
        var out = String.UnicodeScalarView()
        var inSuperscript = false
        for scalar in s.unicodeScalars {
            if scalar.isASCII {
                out.append(scalar)
                inSuperscript = false
            } else if let digit = superscripts[scalar] {
                if !inSuperscript { out.append("^") }
                out.append(digit)
                inSuperscript = true
            } else {
                out.append(contentsOf: (scalars[scalar] ?? "?").unicodeScalars)
                inSuperscript = false
            }
        }
        return String(out)
    }

    /// Symbols of several scalars, replaced first.
    private static let words: [(String, String)] = [
        ("x\u{302}\u{2080}", "x0"), ("\u{3C3}\u{302}", "sigma-hat"), ("\u{1FB1}", "abar"), ("\u{3B1}\u{304}", "abar"),
    ]

    /// One scalar each.
    private static let scalars: [Unicode.Scalar: String] = [
        "η": "eta", "σ": "sigma", "α": "alpha", "ε": "eps", "θ": "theta", "\u{302}": "", "\u{304}": "",
        "₀": "0", "₁": "1", "ₜ": "t", "ᵀ": "^T", "→": "->", "←": "<-", "–": "-", "—": "-", "−": "-", "×": "x",
        "≥": ">=", "≤": "<=", "√": "sqrt", "…": "...", "±": "+/-", "½": "1/2", "·": ".", "‖": "||",
        "─": "-", "│": "|", "┌": "+", "┐": "+", "└": "+", "┘": "+", "├": "+", "┤": "+",
        "█": "#", "▉": "#", "▊": "#", "▋": "#", "▌": "#", "▍": "#", "▎": "#", "▏": "|", "░": ".", "▀": "\"", "▄": ",",
        "●": "*", "❚": "|", "✓": "+", "✗": "x",
    ]

    /// Superscript digits, spelled as digits after a `^`.
    private static let superscripts: [Unicode.Scalar: Unicode.Scalar] = [
        "⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6", "⁷": "7", "⁸": "8", "⁹": "9",
    ]
}
