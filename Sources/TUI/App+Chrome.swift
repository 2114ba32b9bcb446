import Engine
import Foundation
import Graphics
import Preview

/// The frame around the pictures: border, title, state, key line, progress line and the
/// too-small message, each laid out in whole fields by priority (``FieldLine``), so an 80×24 or a
/// 40-column terminal loses the least important fields, never half a word.
extension App {
    /// The border, the title (left), the run's state (right) and the key line (bottom).
    func drawFrame(state runState: LiveState, on term: Terminal) {
        let (cols, rows) = (term.columns, term.rows)
        let inner = String(repeating: "─", count: max(0, cols - 2))
        put("┌" + inner + "┐", .border, row: 0, column: 0, on: term)
        put("└" + inner + "┘", .border, row: rows - 1, column: 0, on: term)
        for r in 1..<(rows - 1) {
            put("│", .border, row: r, column: 0, on: term)
            put("│", .border, row: r, column: cols - 1, on: term)
        }
        let (label, element): (String, Theme.Element) = switch runState {
        case .running: state.paused ? (" ❚❚ pausing ", .accent) : (" ● running ", .accent)
        case .paused: (" ❚❚ paused ", .accent)
        case .done: (" ✓ done ", .bar)
        case .failed: (" ✗ failed ", .warning)
        }
        let shown = text(label)
        put(shown, element, row: 0, column: cols - 2 - shown.count, on: term)
        // " title " from column 2, one cell of border before the state
        let title = FieldLine(titleFields(), width: cols - 7 - shown.count, separator: text(" ─ "))
        if !title.fields.isEmpty { put(" " + title.text + " ", .title, row: 0, column: 2, on: term) }
        let keys = KeyBindings.footer(width: cols - 6, transform: text)
        put(" " + keys + " ", .dim, row: rows - 1, column: 2, on: term)
    }

    /// The title's fields, most important first in priority: ddim and the view, the locale's
    /// ASCII note, the model, colours, glyphs, the model's shape.
    private func titleFields() -> [FieldLine.Field] {
        let shape = model.sampleShape()
        let params = formatParameters(model.unet.parameterCount)
        var fields: [FieldLine.Field] = [.init("ddim" + (state.mode == .sample ? "" : " ─ " + state.mode.title.dropLast(3)), priority: 0)]
        if !state.limits.unicode { fields.append(.init("ASCII: the locale is not UTF-8", priority: 1)) }
        fields += [
            .init(model.name, priority: 2),
            .init("(\(shape[0]) ch, \(shape[1])×\(shape[2]), \(params) params)", priority: 5),
            .init(state.colorMode.label, priority: 3),
            .init(state.graphics == .blocks ? state.blitter.rawValue : state.graphics.rawValue + " pixels", priority: 4),
        ]
        return fields.map { .init(text($0.text), priority: $0.priority) }
    }

    /// The sampler's progress line: step, t, ᾱ, σ on the left; time a step, rate and time left
    /// (or, once done, the run's sampling time, pauses left out, as `ddim sample` reports it) on
    /// the right; the bar between, with `│` where the plan changed. Redrawn up to 15 times a
    /// second while a run goes: in truecolour its cells are direct, one write a frame.
    func drawProgress(_ snap: LiveSnapshot, layout: Layout, on term: Terminal) {
        let count = max(snap.stepCount, 1)
        let rate = snap.lastMilliseconds > 0 ? 1000 / snap.lastMilliseconds : 0
        let left: [FieldLine.Field] = [
            .init("step \(snap.stepsDone)/\(snap.stepCount)", priority: 0)]
            + (state.scrub == nil ? [] : [.init("(stepping through: ← → Home End)", priority: 1)]) + [
            .init("t=\(snap.timestep)", priority: 4)]
            // ᾱ and σ are the newest step's: not shown for a recorded one
            + (state.scrub != nil ? [] : [.init(String(format: "ᾱ=%.3g", snap.alphaBar), priority: 6), .init(String(format: "σ=%.3f", snap.sigma), priority: 5)])
        let right: [FieldLine.Field] = state.scrub != nil ? [] : snap.state == .done && snap.stepsDone > 0
            ? [.init(String(format: "%d steps in %.3f s", snap.stepsDone, snap.runSeconds), priority: 1),
               .init(String(format: "%.1f ms/step", snap.runSeconds * 1e3 / Double(snap.stepsDone)), priority: 3)]
            : [.init(String(format: "%.0f ms/step", snap.lastMilliseconds), priority: 3), .init(String(format: "%.1f it/s", rate), priority: 7),
               .init("ETA " + formatSeconds(snap.secondsLeft), priority: 2)]
        progressBar = drawProgressLine(left: left, right: right, done: Double(snap.stepsDone) / Double(count),
                                       marks: snap.planChanges.map { Double($0) / Double(count) }, row: layout.progressRow,
                                       direct: drawsDirectCells, on: term)
    }

    /// A progress line over its whole row (cleared first: the texts change length): `left` from
    /// column 2, `right` flush with the border, a bar `done` full between them with a mark at each
    /// fraction of `marks`; fields and then the bar go by priority when the row is short. Returns
    /// where the bar went (nil: no room for one).
    @discardableResult
    func drawProgressLine(left: [FieldLine.Field], right: [FieldLine.Field], done: Double, marks: [Double], row: Int, direct: Bool,
                          on term: Terminal) -> (row: Int, column: Int, width: Int)? {
        let put: (String, Theme.Element, Int) -> Void = { text, element, column in
            if direct { self.putDirect(text, element, row: row, column: column, on: term) } else { self.put(text, element, row: row, column: column, on: term) }
        }
        let cols = term.columns
        put(String(repeating: " ", count: max(0, cols - 2)), .text, 1)
        let converted = { (fields: [FieldLine.Field]) in fields.map { FieldLine.Field(self.text($0.text), priority: $0.priority) } }
        let line = ProgressLineLayout(left: converted(left), right: converted(right), width: cols - 4, barPriority: 3)
        put(line.left.text, .text, 2)
        put(line.right.text, .text, cols - 2 - line.right.width)
        let width = line.barWidth
        guard width > 0 else { return nil }
        let start = line.left.fields.isEmpty ? 2 : 2 + line.left.width + 2
        // eighth blocks for a smooth bar (whole cells in ASCII)
        let filled = min(1, max(0, done)) * Double(width)
        let full = Int(filled)
        var bar = String(repeating: "█", count: min(full, width))
        let eighths = Int((filled - Double(full)) * 8)
        if full < width && eighths > 0 && state.limits.unicode { bar += String(Character(Unicode.Scalar(0x2590 - eighths) ?? "▌")) }
        put(bar, .bar, start)
        if bar.count < width { put(String(repeating: "░", count: width - bar.count), .barEmpty, start + bar.count) }
        for mark in marks { put("│", .mark, start + min(width - 1, Int(mark * Double(width)))) }
        return (row, start, width)
    }

    /// What a terminal under the minimum size shows, each line the longest form that fits.
    func drawTooSmall(on term: Terminal) {
        let (cols, rows) = (term.columns, term.rows)
        let need = "\(Layout.minimumColumns)×\(Layout.minimumRows)"
        let lines: [([String], Theme.Element)] = [
            (["terminal too small", "too small"], .warning),
            (["need \(need), have \(cols)×\(rows)", "need \(need)", need], .text),
            (["q quits"], .text),
        ]
        for (i, (forms, element)) in lines.enumerated() {
            guard let line = forms.map(text).first(where: { $0.count <= cols }) else { continue }
            put(line, element, row: max(0, rows / 2 - 1 + i), column: max(0, (cols - line.count) / 2), on: term)
        }
        term.refresh()
    }

    /// `s` as the locale can show it: itself in UTF-8, else in ASCII (``Chrome/ascii(_:)``).
    func text(_ s: String) -> String { state.limits.unicode ? s : Chrome.ascii(s) }
}
