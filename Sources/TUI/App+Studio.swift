import CNCurses
import Engine
import Foundation
import Imaging
import Preview
import Sampling
import Tensors
import Output

/// The views of the live sampler: the sampler itself and the three studio views of DDIM's promises.
enum Mode: Equatable {
    case sample, compareSteps, compareEta, interpolate, invert

    /// The title prefix ("" for the sampler).
    var title: String {
        switch self {
        case .sample: ""
        case .compareSteps: "compare steps ─ "
        case .compareEta: "compare η ─ "
        case .interpolate: "interpolate ─ "
        case .invert: "invert ─ "
        }
    }
}

extension App {
    /// Step counts of the step comparison.
    static let compareSteps = [10, 20, 50, 100]
    /// η values of the η comparison.
    static let compareEtas: [Float] = [0, 0.2, 0.5, 1]

    /// What the studio should compute for the current mode and settings (nil: the sampler's mode,
    /// or an inversion with no picture yet).
    func studioView() -> StudioView? {
        let T = model.schedule.trainTimesteps
        switch mode {
        case .sample: return nil
        case .compareSteps:
            let columns = Self.compareSteps.filter { $0 <= T }.map { ComparisonColumn(steps: $0, noise: settings.noise) }
            return .compare(seed: settings.seed, columns: columns, spacing: settings.spacing)
        case .compareEta:
            return .compare(seed: settings.seed, columns: Self.compareEtas.map { ComparisonColumn(steps: settings.steps, noise: .eta($0)) },
                            spacing: settings.spacing)
        case .interpolate:
            return .interpolate(seedA: settings.seed, seedB: settings.seed &+ 1, alpha: alpha, steps: settings.steps, spacing: settings.spacing)
        case .invert:
            return inversionImage.map { .invert(image: $0.image, name: $0.name, steps: settings.steps, spacing: settings.spacing) }
        }
    }

    func showStudio(fresh: Bool = false) {
        if let view = studioView() { studio.show(view, fresh: fresh) }
    }

    /// Switches to `target` (or back to the sampler when already there). Only one worker runs at a
    /// time: the sampler is paused while a studio view computes, and resumes as it was.
    func switchMode(to target: Mode, snapshot: LiveSnapshot, picture: (image: Tensor, name: String)? = nil) {
        let next: Mode = mode == target && picture == nil ? .sample : target
        if next == .invert {
            // the current picture: x₀ when the run is done, else the latest x̂₀ (sample 0)
            let source = snapshot.state == .done ? snapshot.sample : (snapshot.predictedX0 ?? snapshot.sample)
            if let picture {
                inversionImage = picture
            } else if mode == .sample || inversionImage == nil, source.rank == 4, source.shape[0] > 0 {
                var x = source.slice(0).reshaped([1] + Array(source.shape.dropFirst()))
                for i in 0..<x.count { x.data[i] = min(1, max(-1, x.data[i])) }
                inversionImage = (x, "seed \(snapshot.settings.seed)")
            }
            guard inversionImage != nil else { flash("nothing to invert yet", warning: true); return }
        }
        if mode == .sample && next != .sample {
            samplerWasPaused = paused
            live.send(.setPaused(true))
            paused = false
            studio.setPaused(false)
        } else if next == .sample {
            studio.setPaused(true)
            paused = samplerWasPaused
            live.send(.setPaused(paused))
        }
        mode = next
        showStudio()
    }

    /// A key typed into the open-image prompt: Enter opens, Escape cancels, Backspace deletes.
    func editPrompt(_ c: Character, snapshot: LiveSnapshot) {
        switch c {
        case "\n", "\r": finishPrompt(snapshot: snapshot)
        case "\u{1B}", "\u{3}": prompt = nil
        case "\u{7F}", "\u{8}": _ = prompt?.popLast()
        default: if !(c.asciiValue.map { $0 < 32 } ?? false) { prompt?.append(c) }
        }
    }

    /// Opens the typed picture in the inversion view, or says in one line why not.
    func finishPrompt(snapshot: LiveSnapshot) {
        guard let path = prompt?.trimmingCharacters(in: .whitespaces), !path.isEmpty else { prompt = nil; return }
        prompt = nil
        let expanded = (path as NSString).expandingTildeInPath
        do {
            let picture = (try model.image(at: expanded), OutputPath.split(expanded).name)
            if mode == .invert {
                inversionImage = picture
                showStudio()
            } else {
                switchMode(to: .invert, snapshot: snapshot, picture: picture)
            }
        } catch {
            flash("\(error)", warning: true)
        }
    }

    /// Keys in a studio view; returns false for keys the sampler's handler should take.
    func handleStudio(_ action: Action) -> Bool {
        switch action {
        case .etaDown, .etaUp, .sigmaHat, .stepsDown, .stepsUp, .stepsPreset, .spacing:
            return false  // settings change in App.handle, which then re-shows the view
        case .nextSeed, .previousSeed:
            settings.seed = action == .nextSeed ? settings.seed &+ 1 : settings.seed &- 1
            live.send(.newRun(seed: settings.seed, batch: settings.batch))
            showStudio()
        case .pause:
            paused.toggle()
            studio.setPaused(paused)
        case .stepOnce:
            if !paused { paused = true; studio.setPaused(true) }
            studio.stepOnce()
        case .restart:
            showStudio(fresh: true)
        case .alphaDown, .alphaUp:
            guard mode == .interpolate else { flash("[ and ] move α in the interpolation view (i)"); return true }
            alpha = min(1, max(0, ((alpha + (action == .alphaUp ? 0.1 : -0.1)) * 10).rounded() / 10))
            showStudio()
        case .batchUp, .batchDown, .view:
            flash("batch and view apply to the sampler (press \(modeKey) to go back)")
        default:
            return false
        }
        return true
    }

    /// The key that toggles the current mode.
    var modeKey: String {
        switch mode {
        case .sample: ""
        case .compareSteps: "k"
        case .compareEta: "K"
        case .interpolate: "i"
        case .invert: "u"
        }
    }

    // MARK: - Drawing

    func drawStudio(_ snap: StudioSnapshot, on term: Terminal) {
        term.resetPairsIfCrowded()
        term.erase()
        let (cols, rows) = (term.columns, term.rows)
        let shape = model.sampleShape()
        let layout = Layout(columns: cols, rows: rows, count: max(1, snap.tiles.count), sourceWidth: shape[2], sourceHeight: shape[1],
                            blitter: blitter)
        if layout.tooSmall {
            drawTooSmall(on: term)
            return
        }
        fillBackground(on: term)
        let state: LiveState = snap.failure.map { .failed($0) } ?? (snap.isDone ? .done : snap.paused ? .paused : .running)
        drawFrame(state: state, on: term)
        let pen = tilePen(on: term)
        for (tile, item) in zip(layout.tiles, snap.tiles) {
            let caption = !item.caption.isEmpty ? item.caption : item.stepCount > 0 ? "\(item.stepsDone)/\(item.stepCount)" : ""
            drawTile(tile, source: item.image, index: 0, label: item.label, caption: caption, pen: pen, on: term)
        }
        // progress over all tiles
        let (done, count) = snap.progress
        let left = "\(mode.title.dropLast(3))  step \(done)/\(count)"
        let right = String(format: "%.0f ms/step", snap.lastMilliseconds)
        put(left, .text, row: layout.progressRow, column: 2, on: term)
        let barStart = 2 + left.count + 2, barWidth = cols - 2 - barStart - right.count - 3
        if barWidth >= 8 {
            let filled = count == 0 ? 0 : done * barWidth / count
            put(String(repeating: "█", count: filled), .bar, row: layout.progressRow, column: barStart, on: term)
            put(String(repeating: "░", count: barWidth - filled), .barEmpty, row: layout.progressRow, column: barStart + filled, on: term)
        }
        put(right, .text, row: layout.progressRow, column: cols - 2 - right.count, on: term)
        drawStudioLine(snap, row: layout.markRow, on: term)
        drawParameters(layout: layout, on: term)
        if let s = status { put(s.text, s.warning ? .warning : .status, row: layout.markRow, column: 2, on: term, maxWidth: cols - 4) }
        if let failure = snap.failure { put("\(failure)", .warning, row: layout.markRow, column: 2, on: term, maxWidth: cols - 4) }
        drawPrompt(row: layout.markRow, on: term)
        if showHelp { drawHelp(on: term) }
        term.refresh()
    }

    /// The line under the progress bar: the α slider, or what the view shows.
    private func drawStudioLine(_ snap: StudioSnapshot, row: Int, on term: Terminal) {
        let width = term.columns - 4
        switch mode {
        case .interpolate:
            let a = "seed \(settings.seed) ", b = " seed \(settings.seed &+ 1)"
            let info = String(format: "   α %.1f   [ ] or ← → move α", alpha)
            let track = max(8, min(41, width - a.count - b.count - info.count - 2))
            let knob = Int((Double(alpha) * Double(track - 1)).rounded())
            put(a, .dim, row: row, column: 2, on: term)
            put("├" + String(repeating: "─", count: track) + "┤", .barEmpty, row: row, column: 2 + a.count, on: term)
            put("●", .bar, row: row, column: 3 + a.count + knob, on: term)
            put(b, .dim, row: row, column: 4 + a.count + track, on: term)
            put(info, .text, row: row, column: 4 + a.count + track + b.count, on: term, maxWidth: max(0, width - a.count - track - b.count - 2))
        case .compareSteps, .compareEta:
            let text = snap.isDone
                ? "MSE of each column to the last one (images in [−1, 1]): at η = 0 the pictures agree across step counts"
                : "one x_T, sampled once per column"
            put(text, .dim, row: row, column: 2, on: term, maxWidth: width)
        case .invert:
            put("x₀ → x_T: the ODE run forward in t (no clipping); x_T → x₀: sampled back with the same plan, η = 0", .dim,
                row: row, column: 2, on: term, maxWidth: width)
        case .sample: break
        }
    }

    /// The open-image prompt over the status line, when open.
    func drawPrompt(row: Int, on term: Terminal) {
        guard let prompt else { return }
        let width = term.columns - 4
        let label = "open PNG (Enter opens, Esc cancels): "
        put(String(repeating: " ", count: width), .text, row: row, column: 2, on: term)
        put(label, .accent, row: row, column: 2, on: term)
        // the end of a long path stays visible
        let room = max(1, width - label.count - 1)
        put(String(prompt.suffix(room)) + "▏", .text, row: row, column: 2 + label.count, on: term)
    }

    func drawTooSmall(on term: Terminal) {
        let (cols, rows) = (term.columns, term.rows)
        let lines = ["terminal too small", "need \(Layout.minimumColumns)×\(Layout.minimumRows), have \(cols)×\(rows)", "q quits"]
        for (i, line) in lines.enumerated() {
            put(line, i == 0 ? .warning : .text, row: max(0, rows / 2 - 1 + i), column: max(0, (cols - line.count) / 2), on: term)
        }
        term.refresh()
    }

    /// Saves the studio's tiles as one strip PNG.
    func saveStudio(_ snap: StudioSnapshot) {
        let images = snap.tiles.compactMap(\.image)
        guard !images.isEmpty else { flash("nothing to save yet", warning: true); return }
        let kind = mode.title.dropLast(3).replacingOccurrences(of: " ", with: "-").replacingOccurrences(of: "η", with: "eta")
        var name = "ddim-\(kind)-\(settings.seed).png"
        var n = 1
        while FileManager.default.fileExists(atPath: name) {
            n += 1
            name = "ddim-\(kind)-\(settings.seed)-\(n).png"
        }
        do {
            let tiles = try images.map { try ImageExport.images($0)[0] }
            let text = [("Software", "ddim"), ("Model", model.name), ("View", String(kind)),
                        ("Tiles", snap.tiles.map { $0.label + ($0.caption.isEmpty ? "" : " (\($0.caption))") }.joined(separator: "; "))]
            try PNGWriter().write(try ImageGrid.strip(tiles), to: name, text: text.map { PNGText($0.0, $0.1) })
            flash("saved \(name)")
        } catch {
            flash("\(error)", warning: true)
        }
    }
}
