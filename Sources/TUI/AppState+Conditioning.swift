import Foundation
import Sampling

/// The class and guidance keys of a class-conditional model (`l`, `{`, `}`).
extension AppState {
    /// `l`: the next class; for a guided model (a null class) "any" (unconditional) after the last.
    mutating func nextClass(now: Date) -> Reaction {
        guard let count = limits.classCount, count > 0 else {
            flash("this model is unconditional: it has no classes to choose (l is for class-conditional models)", now: now)
            return []
        }
        // the classes in turn; a guided model's "any" (unconditional) after the last
        let cycle: [Int?] = (0..<count).filter { $0 != limits.nullClass }.map { $0 } + (limits.nullClass == nil ? [] : [nil])
        let at = cycle.firstIndex { $0 == settings.classLabel } ?? (cycle.count - 1)
        settings.classLabel = cycle[(at + 1) % cycle.count]
        let classes = count - (limits.nullClass == nil ? 0 : 1)
        flash(settings.classLabel.map { "class \($0) of \(classes), from the next step" } ?? "any class (unconditional), from the next step", now: now)
        return .sendClass
    }

    /// `{` / `}`: the guidance weight w down or up by 0.5, within 0…10 (a `--guidance` above 10
    /// goes on by 0.5 from there).
    mutating func stepGuidance(up: Bool, now: Date) -> Reaction {
        guard limits.nullClass != nil else {
            let why = limits.classCount == nil ? "this model is unconditional" : "this model has no null class (it was not trained for guidance)"
            flash("\(why): { and } set the guidance of models trained with the class dropped", now: now)
            return []
        }
        let w = settings.guidance ?? 1
        // onto the 0.5 grid, one step of it
        let next = up ? (w * 2).rounded(.down) / 2 + 0.5 : (w * 2).rounded(.up) / 2 - 0.5
        settings.guidance = min(max(next, 0), max(10, w))
        let shown = AppState.guidanceText(settings.guidance ?? 1)
        flash(settings.classLabel == nil ? "guidance w \(shown): no effect until l picks a class" : "guidance w \(shown), from the next step", now: now)
        return .sendGuidance
    }

    /// w as the status line shows it: "2", "1.5".
    static func guidanceText(_ w: Float) -> String {
        w == w.rounded() ? String(format: "%.0f", w) : String(format: "%g", w)
    }
}
