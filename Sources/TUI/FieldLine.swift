/// A line of whole fields that degrades by priority: when the fields do not fit the width, the
/// least important go first, whole — a field is never cut mid-word — and the rest keep their
/// order. The title, the progress line, the parameters and the key line are all laid out so.
public struct FieldLine: Equatable, Sendable {
    /// One field: its text, how much it matters (0 = kept to the last), and a tag for the caller.
    public struct Field: Equatable, Sendable {
        public var text: String
        public var priority: Int
        public var tag: Int

        /// A field.
        public init(_ text: String, priority: Int, tag: Int = 0) { (self.text, self.priority, self.tag) = (text, priority, tag) }

        /// Cells the text takes (one a character: the chrome has no wide characters).
        public var width: Int { text.count }
    }

    /// The fields kept, in their order.
    public let fields: [Field]
    /// What goes between two fields.
    public let separator: String

    /// The fields of `candidates` that fit `width` cells with `separator` between neighbours:
    /// while they do not fit, the one with the largest priority number goes (of equals, the last).
    public init(_ candidates: [Field], width: Int, separator: String = "  ") {
        var kept = candidates
        while !kept.isEmpty && Self.width(of: kept, gap: separator.count) > width {
            guard let worst = kept.indices.max(by: { kept[$0].priority <= kept[$1].priority }) else { break }
            kept.remove(at: worst)
        }
        (fields, self.separator) = (kept, separator)
    }

    /// The cells `fields` take with `gap` cells between neighbours.
    public static func width(of fields: [Field], gap: Int) -> Int {
        fields.isEmpty ? 0 : fields.map(\.width).reduce(0, +) + gap * (fields.count - 1)
    }

    /// The cells the kept fields take.
    public var width: Int { Self.width(of: fields, gap: separator.count) }

    /// The kept fields joined by the separator.
    public var text: String { fields.map(\.text).joined(separator: separator) }

    /// Each kept field with the column it starts at, the first at `column`.
    public func placed(at column: Int) -> [(field: Field, column: Int)] {
        var x = column
        return fields.map { f in
            defer { x += f.width + separator.count }
            return (f, x)
        }
    }
}

/// The progress line's layout: fields on the left, a bar in the middle, fields on the right.
/// Everything is a whole field: when the line is short, the least important fields and then the
/// bar go, never overprinting one another.
public struct ProgressLineLayout: Equatable, Sendable {
    /// The fields on each side.
    public let left: FieldLine, right: FieldLine
    /// The bar's cells (0: no bar).
    public let barWidth: Int

    /// The narrowest bar worth drawing.
    public static let minimumBar = 8

    /// Lays out `left` and `right` in `width` cells with a bar between them that keeps
    /// `barPriority` (it goes before fields of a larger priority number are kept): two cells
    /// between the left fields and the bar, three between the bar and the right fields.
    public init(left: [FieldLine.Field], right: [FieldLine.Field], width: Int, barPriority: Int) {
        // one pass over the candidates, least important first, until everything left fits
        var l = left, r = right, bar = true
        func needed() -> Int {
            let lw = FieldLine.width(of: l, gap: 2), rw = FieldLine.width(of: r, gap: 2)
            let gaps = bar ? (l.isEmpty ? 0 : 2) + (r.isEmpty ? 0 : 3) : (l.isEmpty || r.isEmpty ? 0 : 2)
            return lw + rw + gaps + (bar ? Self.minimumBar : 0)
        }
        while needed() > width {
            let worstLeft = l.indices.max { l[$0].priority <= l[$1].priority }
            let worstRight = r.indices.max { r[$0].priority <= r[$1].priority }
            let pl = worstLeft.map { l[$0].priority } ?? Int.min, pr = worstRight.map { r[$0].priority } ?? Int.min
            let worstField = max(pl, pr)
            if bar && (barPriority >= worstField) {
                bar = false
            } else if let i = worstRight, pr >= pl {
                r.remove(at: i)
            } else if let i = worstLeft {
                l.remove(at: i)
            } else {
                break
            }
        }
        self.left = FieldLine(l, width: .max)
        self.right = FieldLine(r, width: .max)
        let lw = self.left.width, rw = self.right.width
        barWidth = bar ? max(0, width - lw - rw - (l.isEmpty ? 0 : 2) - (r.isEmpty ? 0 : 3)) : 0
    }
}
