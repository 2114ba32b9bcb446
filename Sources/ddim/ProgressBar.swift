import Foundation
import Hub

/// The one progress line of the headless commands, on stderr, redrawn in place at most 10 times
/// a second (and at the last unit): each redraw is a write the terminal must parse on the cores
/// sampling uses, and a fast model makes 50–100 steps a second.
///
/// `ETA` and the time per unit come from the seconds the updates report (or, when they report
/// none, the time between them) since the last ``finish()``.
final class ProgressBar {
    let enabled: Bool
    /// What is counted: "step" or "sample".
    private let unit: String
    private var seconds = 0.0
    private var counted = 0, lastDone = 0
    private var previous = ContinuousClock.now
    private var lastDrawn = ContinuousClock.now - .seconds(1)
    private var lastWidth = 0

    init(enabled: Bool, unit: String = "step") {
        self.enabled = enabled
        self.unit = unit
    }

    /// `done` of `count` units are done. `seconds`: what the units since the last update took
    /// (nil: the time since the last update, measured here); `timestep`: the step's t, and
    /// `label`: the part running (a sweep's cell), shown when given.
    func update(_ done: Int, of count: Int, timestep: Int? = nil, label: String? = nil, seconds: Double? = nil) {
        guard enabled else { return }
        let now = ContinuousClock.now
        self.seconds += seconds ?? (now - previous).milliseconds / 1e3
        previous = now
        counted += max(done - lastDone, 0)
        lastDone = done
        guard done == count || now - lastDrawn >= .milliseconds(100) else { return }
        lastDrawn = now
        let width = 30
        let filled = count == 0 ? 0 : min(done, count) * width / count
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let perUnit = self.seconds / Double(max(counted, 1)) * 1e3
        let eta = Double(count - done) * perUnit / 1e3
        var line = (label.map { "\($0): " } ?? "") + bar + " \(unit) \(done)/\(count)"
        if let timestep { line += String(format: "  t=%d", timestep) }
        line += String(format: "  %.0f ms/", perUnit) + unit + String(format: "  ETA %.1fs ", eta)
        // a shorter line than the last one (a shorter label) is padded over what it leaves
        let length = line.count
        if length < lastWidth { line += String(repeating: " ", count: lastWidth - length) }
        lastWidth = length
        FileHandle.standardError.write(Data(("\r" + line).utf8))
    }

    /// Ends the line; the next update starts a new count.
    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
        seconds = 0
        counted = 0
        lastDone = 0
        previous = ContinuousClock.now
        lastDrawn = ContinuousClock.now - .seconds(1)
        lastWidth = 0
    }
}

/// The download line of a hub model (`--model org/name` not yet in the cache), on stderr when it
/// is a terminal: `unet/diffusion_pytorch_model.safetensors ████░░░ 12.3/143.0 MB  4.5 MB/s`,
/// redrawn at most 10 times a second. Called from the download's thread.
final class DownloadProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var started = ContinuousClock.now, lastDrawn = ContinuousClock.now - .seconds(1)
    private var file = "", firstByte: Int64 = 0, drawn = false

    /// Updates the line (`event` from ``Hub``).
    func report(_ event: HubProgress) {
        lock.withLock {
            switch event {
            case .received(let name, let done, let total):
                let now = ContinuousClock.now
                if name != file { file = name; started = now; firstByte = done; drawn = false }
                guard now - lastDrawn >= .milliseconds(100) || done == total else { return }
                lastDrawn = now
                // kB for the small files (configs), MB for the weights
                let (scale, unit) = (total ?? done) < 1_000_000 ? (1e3, "kB") : (1e6, "MB")
                let mb = { (bytes: Int64) in String(format: "%.1f", Double(bytes) / scale) }
                let width = 24
                let filled = total.map { $0 > 0 ? Int(min(done, $0) * Int64(width) / $0) : width } ?? 0
                let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
                let seconds = max((now - started).milliseconds / 1e3, 1e-3)
                let rate = Double(done - firstByte) / 1e6 / seconds
                let line = "\(name) \(bar) \(mb(done))/\(total.map(mb) ?? "?") \(unit)  " + String(format: "%.1f MB/s ", rate)
                FileHandle.standardError.write(Data(("\r" + line).utf8))
                drawn = true
            case .finished:
                if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
                drawn = false
                file = ""
            }
        }
    }
}
