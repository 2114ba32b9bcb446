/// A colour as a terminal shows it in some ``ColorMode``: its colour number there and the
/// sRGB colour that number stands for.
public struct QuantizedColor: Hashable, Sendable {
    /// The terminal colour number: `0xRRGGBB` (truecolor), 0…255, 0…15, or −1 (mono: default colour).
    public var index: Int
    /// The colour that `index` displays as (xterm's default palette for the indexed modes).
    public var rgb: RGB

    /// A colour number and what it shows.
    public init(index: Int, rgb: RGB) {
        self.index = index
        self.rgb = rgb
    }
}
