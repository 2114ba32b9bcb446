/// Paths in messages.
public enum PathText {
    /// A path as a one-line message may show it: control characters (a newline, ESC) escaped
    /// as `\n`, `\t`, `\u{1B}`, so no file name can break a message or send a terminal sequences.
    public static func display(_ path: String) -> String {
        var out = ""
        for scalar in path.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\\": out += "\\\\"
            default:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                    out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
