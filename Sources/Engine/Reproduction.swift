import Foundation
import Imaging
import Sampling
import Tensors

extension SampleRequest {
    /// The `ddim sample` command line that draws this request's picture, ending in
    /// `--out sample.png` (with `folder`, `--out-dir samples`, one PNG per sample):
    /// `ddim sample --steps 20 --eta 0.5 --seeds 3,4 --out sample.png`.
    ///
    /// It names what is not the default: `--model` (the folder, or `org/name@COMMIT` for a hub model;
    /// not the embedded model),
    /// `--eta`, `--spacing` (when not the scheduler config's), `--seeds` or `--seed`/`--batch`,
    /// `--latent` (a run from a saved x_T), and `--no-clip` when the model's x̂₀ is not clipped.
    /// Arguments other than plain words are single-quoted for a POSIX shell.
    public func command(model: LoadedModel, latent: String? = nil, folder: Bool = false) -> String {
        var args = ["ddim", "sample"]
        if !model.isEmbedded { args += ["--model", model.reference ?? model.folder.path] }
        if let label = model.classLabel { args += ["--class-label", "\(label)"] }
        if model.guidance != 1 { args += ["--guidance", LoadedModel.label(guidance: model.guidance)] }
        if model.precision != .float32 { args += ["--precision", model.precision.rawValue] }
        args += ["--steps", "\(steps)"]
        if noise != .eta(0) { args += ["--eta", noise.label] }
        if let spacing, spacing != model.scheduler.timestepSpacing { args += ["--spacing", spacing.rawValue] }
        if let latent { args += ["--latent", latent] }
        if let seeds {
            args += ["--seeds", Self.list(seeds)]
        } else {
            if seed != 0 || latent != nil { args += ["--seed", "\(seed)"] }
            if batch != 1 && latent == nil { args += ["--batch", "\(batch)"] }
        }
        if !model.scheduler.clipSample { args.append("--no-clip") }
        args += folder ? ["--out-dir", "samples"] : ["--out", "sample.png"]
        return args.map(shellQuoted).joined(separator: " ")
    }
}

extension LoadedModel {
    /// The arithmetic of its Winograd products (``ConvPolicy/Precision``): what `--precision` asked for.
    public var precision: ConvPolicy.Precision { unet.convPolicy.precision }

    /// w as written in records and command lines: Swift's shortest round-trip text, integers bare ("2", "1.5").
    public static func label(guidance w: Float) -> String {
        w == w.rounded() && abs(w) < 1e6 ? String(Int(w)) : "\(w)"
    }
}

/// `word` as a POSIX shell reads it back: bare when it holds only safe characters, otherwise in
/// single quotes (a quote inside as `'\''`).
func shellQuoted(_ word: String) -> String {
    let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./,=:+@%")
    if !word.isEmpty && word.allSatisfy(safe.contains) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
}

extension LoadedModel {
    /// Whether this is the embedded digits model (its folder beside the executable).
    var isEmbedded: Bool {
        folder.standardizedFileURL.path == ModelStore.defaultModelFolder.standardizedFileURL.path
    }
}

extension LiveSettings {
    /// The headless request that runs these settings: one generator per tile (``SampleRequest/seeds``).
    public var request: SampleRequest {
        SampleRequest(steps: steps, noise: noise, seeds: seeds, spacing: spacing)
    }
}

/// Which of a live run's pictures a save writes.
public enum LivePicture: Sendable, Equatable {
    /// x_t, the current sample (x₀ once the run is done).
    case sample
    /// x̂₀ of the last step.
    case predicted
}

extension LiveSnapshot {
    /// The tiles of `which` (B, C, H, W); nil when there is nothing to save yet.
    public func tensor(_ which: LivePicture) -> Tensor? {
        let t = which == .sample ? sample : predictedX0 ?? sample
        return t.rank == 4 && t.count > 0 ? t : nil
    }

    /// The PNG text of `which` saved now: the run's parameters (``SampleRequest/parameterText(model:)``,
    /// with Seeds, one per tile), View (x_t or x0) and Step ("12/50"). Its Command reproduces the
    /// picture bit for bit only when the run is done, its plan never changed mid-run, and the
    /// picture is the run's x₀; otherwise Command is left out and Not reproduced says why, beside
    /// Run command, the run of these settings to the end.
    public func pngText(_ which: LivePicture, model: LoadedModel) throws -> [(String, String)] {
        let request = settings.request
        var text = request.parameterText(model: model)
        let command = request.command(model: model)
        text.append(("View", which == .sample ? "x_t" : "x0"))
        text.append(("Step", "\(stepsDone)/\(stepCount)"))
        if let reason = try notReproduced(which) {
            text += [("Run command", command), ("Not reproduced", reason)]
        } else {
            text.append(("Command", command))
        }
        return text
    }

    /// Writes the tiles of `which` as one grid PNG at `path` with ``pngText(_:model:)``: what the
    /// live sampler's save (`w`) does.
    public func writeGrid(_ which: LivePicture, model: LoadedModel, to path: String) throws {
        guard let tensor = tensor(which) else { throw ImagingError.invalidPixels(reason: "nothing to save yet") }
        try ImageExport.writeGrid(tensor, to: path, text: try pngText(which, model: model))
    }

    /// Why `ddim sample` cannot draw this picture; nil when it draws it bit for bit.
    private func notReproduced(_ which: LivePicture) throws -> String? {
        guard state == .done else { return "saved at step \(stepsDone) of \(stepCount); ddim sample writes finished runs" }
        if let first = planChanges.first { return "the plan changed mid-run (at step \(first))" }
        guard which == .predicted, let x0 = tensor(.predicted) else { return nil }
        // x̂₀ of the last step is x₀ whenever ᾱ after the last step is 1; compared as pixels
        return try ImageExport.images(x0) == ImageExport.images(sample) ? nil : "x̂₀ of the last step is not x₀ (ddim sample writes x₀)"
    }
}
