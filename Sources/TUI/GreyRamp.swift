/// A finer grey ramp for one-channel previews on 256-colour terminals that can redefine colours
/// (`can_change_color`): the xterm palette has only 30 greys (the 24-step ramp and the cube's
/// diagonal), which bands a grey digit; ddim reprograms palette slots the theme does not use as
/// `levels` evenly spaced greys and draws grey cells with them.
public struct GreyRamp: Equatable, Sendable {
    /// The palette slot of each grey level, darkest first.
    public let slots: [Int32]

    /// Picks `levels` slots of the 6×6×6 cube (16…231) that are not in `reserved` (the theme's).
    public init?(levels: Int, reserved: Set<Int>) {
        let free = (16...231).filter { !reserved.contains($0) }
        guard levels >= 2, free.count >= levels else { return nil }
        slots = free.prefix(levels).map { Int32($0) }
    }

    /// ncurses' 0…1000 intensity of level i.
    public func intensity(_ i: Int) -> Int16 { Int16(i * 1000 / (slots.count - 1)) }

    /// xterm's own colour of a cube slot (16…231) in ncurses' 0…1000 intensities: each channel one
    /// of 0, 95, 135, 175, 215, 255. What a slot is given back when the ramp is not in use.
    public static func cubeColor(slot: Int32) -> (r: Int16, g: Int16, b: Int16) {
        let levels = [0, 95, 135, 175, 215, 255]
        let i = Int(min(215, max(0, slot - 16)))
        func channel(_ k: Int) -> Int16 { Int16(levels[k] * 1000 / 255) }
        return (channel(i / 36), channel(i / 6 % 6), channel(i % 6))
    }

    /// The slot for an 8-bit grey value: level round(v / 255 · (levels − 1)).
    public func slot(grey v: UInt8) -> Int32 {
        slots[Int((Double(v) / 255 * Double(slots.count - 1)).rounded())]
    }
}
