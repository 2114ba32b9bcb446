import CNCurses
import Engine
import Foundation
import Imaging
import Preview
import Sampling
import Tensors
import Output

extension App {
    /// Step counts of the step comparison.
    static let compareSteps = [10, 20, 50, 100]
    /// η values of the η comparison.
    static let compareEtas: [Float] = [0, 0.2, 0.5, 1]

    /// What the studio should compute for the current mode and settings (nil: the sampler's mode,
    /// or an inversion with no picture yet).
    func studioView() -> StudioView? {
        let T = model.schedule.trainTimesteps
        switch state.mode {
        case .sample: return nil
        case .compareSteps:
            let columns = Self.compareSteps.filter { $0 <= T }.map { ComparisonColumn(steps: $0, noise: state.settings.noise) }
            return .compare(seed: state.settings.seed, columns: columns, spacing: state.settings.spacing)
        case .compareEta:
            return .compare(seed: state.settings.seed, columns: Self.compareEtas.map { ComparisonColumn(steps: state.settings.steps, noise: .eta($0)) },
                            spacing: state.settings.spacing)
        case .interpolate:
            return .interpolate(seedA: state.settings.seed, seedB: state.settings.seed &+ 1, alpha: state.alpha, steps: state.settings.steps, spacing: state.settings.spacing)
        case .invert:
            return state.inversion.map { .invert(image: $0.image, name: $0.name, steps: state.settings.steps, spacing: state.settings.spacing) }
        }
    }

    func showStudio(fresh: Bool = false) {
        if let view = studioView() { studio.show(view, fresh: fresh) }
    }

    // MARK: - Drawing

    func drawStudio(_ snap: StudioSnapshot, on term: Terminal) {
        term.resetPairsIfCrowded()
        term.erase()
        let (cols, rows) = (term.columns, term.rows)
        let shape = model.sampleShape()
        let layout = Layout(columns: cols, rows: rows, count: max(1, snap.tiles.count), sourceWidth: shape[2], sourceHeight: shape[1],
                            blitter: state.blitter)
        if layout.tooSmall {
            drawTooSmall(on: term)
            return
        }
        fillBackground(on: term)
        let shown: LiveState = snap.failure.map { .failed($0) } ?? (snap.isDone ? .done : state.paused ? .paused : .running)
        drawFrame(state: shown, on: term)
        let pen = tilePen(on: term)
        for (i, (tile, item)) in zip(layout.tiles, snap.tiles).enumerated() {
            let caption = !item.caption.isEmpty ? item.caption : item.stepCount > 0 ? "\(item.stepsDone)/\(item.stepCount)" : ""
            drawTile(tile, id: i, source: item.image, index: 0, label: item.label, caption: caption, pen: pen, on: term)
        }
        // progress over all tiles
        let (done, count) = snap.progress
        drawProgressLine(left: [.init(String(state.mode.title.dropLast(3)), priority: 4), .init("step \(done)/\(count)", priority: 0)],
                         right: [.init(String(format: "%.0f ms/step", snap.lastMilliseconds), priority: 2)],
                         done: Double(done) / Double(max(count, 1)), marks: [], row: layout.progressRow, direct: false, on: term)
        drawParameters(layout: layout, on: term)
        drawMarkLine(row: layout.markRow, failure: snap.failure.map { "\($0)" }, on: term) { drawStudioLine(snap, row: layout.markRow, on: term) }
        if state.showHelp { drawHelp(on: term) }
        term.refresh()
    }

    /// The line under the progress bar: the α slider, or what the view shows.
    private func drawStudioLine(_ snap: StudioSnapshot, row: Int, on term: Terminal) {
        let width = term.columns - 4
        switch state.mode {
        case .interpolate:
            let a = "seed \(state.settings.seed) ", b = " seed \(state.settings.seed &+ 1)"
            let info = String(format: "   α %.1f   [ ] or ← → move α", state.alpha)
            let track = max(8, min(41, width - a.count - b.count - info.count - 2))
            let knob = Int((Double(state.alpha) * Double(track - 1)).rounded())
            put(a, .dim, row: row, column: 2, on: term)
            put("├" + String(repeating: "─", count: track) + "┤", .barEmpty, row: row, column: 2 + a.count, on: term)
            put("●", .bar, row: row, column: 3 + a.count + knob, on: term)
            put(b, .dim, row: row, column: 4 + a.count + track, on: term)
            put(info, .text, row: row, column: 4 + a.count + track + b.count, on: term, maxWidth: max(0, width - a.count - track - b.count - 2))
        case .compareSteps:
            let text = snap.isDone
                ? "MSE of each column to the last one (images in [−1, 1]): at η = 0 the pictures agree across step counts"
                : "one x_T, sampled once per step count"
            put(text, .dim, row: row, column: 2, on: term, maxWidth: width)
        case .compareEta:
            let text = snap.isDone
                ? "MSE of each column to η = 1 (images in [−1, 1]): η = 0 is deterministic, each η > 0 adds fresh noise every step"
                : "one x_T, sampled once per η with the same steps"
            put(text, .dim, row: row, column: 2, on: term, maxWidth: width)
        case .invert:
            put("x₀ → x_T: the ODE run forward in t (no clipping); x_T → x₀: sampled back with the same plan, η = 0", .dim,
                row: row, column: 2, on: term, maxWidth: width)
        case .sample: break
        }
    }

    /// The row under the progress line shows one thing, the first there is of: the open prompt,
    /// a failure, the status line, or the view's own line (`otherwise`). It is cleared first, so
    /// nothing is printed over anything.
    func drawMarkLine(row: Int, failure: String?, on term: Terminal, otherwise: () -> Void) {
        let width = term.columns - 4
        put(String(repeating: " ", count: max(0, width)), .text, row: row, column: 2, on: term)
        if state.prompt != nil {
            drawPrompt(row: row, on: term)
        } else if let failure {
            put(failure, .warning, row: row, column: 2, on: term, maxWidth: width)
        } else if let s = state.status {
            put(s.text, s.warning ? .warning : .status, row: row, column: 2, on: term, maxWidth: width)
        } else {
            otherwise()
        }
    }

    /// The open-image prompt over the status line, when open.
    func drawPrompt(row: Int, on term: Terminal) {
        guard let prompt = state.prompt else { return }
        let width = term.columns - 4
        let label = "open PNG (Enter opens, Esc cancels): "
        put(String(repeating: " ", count: width), .text, row: row, column: 2, on: term)
        put(label, .accent, row: row, column: 2, on: term)
        // the end of a long path stays visible
        let room = max(1, width - label.count - 1)
        put(String(prompt.suffix(room)) + "▏", .text, row: row, column: 2 + label.count, on: term)
    }

    /// Saves the studio's tiles as one strip PNG.
    func saveStudio(_ snap: StudioSnapshot) {
        let images = snap.tiles.compactMap(\.image)
        guard !images.isEmpty else { state.flash("nothing to save yet", warning: true); return }
        let kind = state.mode.title.dropLast(3).replacingOccurrences(of: " ", with: "-").replacingOccurrences(of: "η", with: "eta")
        let seed = state.settings.seed
        let name = freeName { n in "ddim-\(kind)-\(seed)\(n == 1 ? "" : "-\(n)").png" }
        do {
            let tiles = try images.map { try ImageExport.images($0)[0] }
            let text = [("Software", "ddim"), ("Model", model.name), ("View", String(kind)),
                        ("Tiles", snap.tiles.map { $0.label + ($0.caption.isEmpty ? "" : " (\($0.caption))") }.joined(separator: "; "))]
                + (model.precision == .float32 ? [] : [("Precision", model.precision.rawValue)])
            try PNGWriter().write(try ImageGrid.strip(tiles), to: name, text: text.map { PNGText($0.0, $0.1) })
            state.flash("saved \(name)")
        } catch {
            state.flash("\(error)", warning: true)
        }
    }
}
