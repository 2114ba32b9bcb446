import Foundation

/// How a plan of S sampling steps is chosen among the T training timesteps.
///
/// Every plan is returned in sampling order, descending. Formulas, with T training timesteps,
/// S steps and `offset` = the config's `steps_offset`:
///
/// | spacing | timesteps | from |
/// | --- | --- | --- |
/// | `leading` | i·(T//S) + offset, i = S−1…0 (T = 1000, S = 50: 980…0) | diffusers' default |
/// | `trailing` | round(T − i·T/S) − 1, i = 0…S−1 (starts at T − 1) | diffusers |
/// | `linspace` | round(linspace(0, T − 1, S)), reversed | diffusers |
/// | `quad` | ⌊linspace(0, √(0.8·T), S)²⌋, reversed, duplicates removed | ermongroup/ddim `--skip_type quad` |
///
/// Rounding is numpy's (half to even) on numpy's double arithmetic, so plans equal diffusers'.
/// `trailing` ignores `offset` and takes exactly S values (numpy's `arange` can yield an extra
/// `−1` for some S, e.g. T = 1000, S = 61, a diffusers bug this does not copy). `quad` has fewer
/// than S distinct timesteps when S is large (it never exceeds ⌊0.8·T⌋ + 1): duplicates would be
/// steps from t to t, which do nothing at η = 0, so they are dropped.
public enum TimestepSpacing: String, Sendable, CaseIterable, Codable {
    /// i·(T//S) + offset.
    case leading
    /// round(T − i·T/S) − 1.
    case trailing
    /// round(linspace(0, T − 1, S)).
    case linspace
    /// ⌊linspace(0, √(0.8·T), S)²⌋.
    case quad

    /// The plan of `steps` timesteps, descending.
    ///
    /// - Throws: ``TimestepSpacingError`` if `steps` is not in 1…T or a timestep (after `offset`)
    ///   falls outside 0..<T.
    public func plan(steps: Int, trainTimesteps: Int, offset: Int = 0) throws -> [Int] {
        guard steps >= 1, steps <= trainTimesteps else {
            throw TimestepSpacingError.stepsOutOfRange(steps: steps, trainTimesteps: trainTimesteps)
        }
        let T = trainTimesteps
        let S = steps
        var plan: [Int]
        switch self {
        case .leading:
            let ratio = T / S
            plan = (0..<S).reversed().map { $0 * ratio + offset }
        case .trailing:
            // numpy: np.round(np.arange(T, 0, -T/S)) - 1, arange filling start + i·delta with
            // delta = (start + step) − start.
            let start = Double(T)
            let delta = (start + -(Double(T) / Double(S))) - start
            plan = (0..<S).map { Int((start + Double($0) * delta).rounded(.toNearestOrEven)) - 1 }
        case .linspace:
            plan = Self.numpyLinspace(0, Double(T - 1), S).reversed().map { Int($0.rounded(.toNearestOrEven)) }
        case .quad:
            // ermongroup: (np.linspace(0, np.sqrt(T * 0.8), S) ** 2).astype(int)
            let ascending = Self.numpyLinspace(0, (Double(T) * 0.8).squareRoot(), S).map { Int($0 * $0) }
            plan = []
            for t in ascending.reversed() where plan.last != t { plan.append(t) }
        }
        if let bad = plan.first(where: { $0 < 0 || $0 >= T }) {
            throw TimestepSpacingError.timestepOutOfRange(
                spacing: self, steps: steps, timestep: bad, trainTimesteps: T, offset: offset)
        }
        return plan
    }

    /// The timesteps of a fresh `steps`-step plan that lie strictly below `t`, descending: what is
    /// left to do when a run at timestep `t` is re-planned (DDIM may jump between any two timesteps).
    public func plan(steps: Int, trainTimesteps: Int, offset: Int = 0, below t: Int) throws -> [Int] {
        try plan(steps: steps, trainTimesteps: trainTimesteps, offset: offset).filter { $0 < t }
    }

    /// `np.linspace(start, stop, count)`: i·step + start with step = (stop − start)/(count − 1),
    /// the last element set to `stop`.
    static func numpyLinspace(_ start: Double, _ stop: Double, _ count: Int) -> [Double] {
        guard count > 1 else { return count == 1 ? [start] : [] }
        let step = (stop - start) / Double(count - 1)
        var values = (0..<count).map { Double($0) * step + start }
        values[count - 1] = stop
        return values
    }
}

/// Why a plan cannot be made.
public enum TimestepSpacingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The number of steps is not in 1…T.
    case stepsOutOfRange(steps: Int, trainTimesteps: Int)
    /// A timestep of the plan (e.g. `leading` with a large `steps_offset`) is outside 0..<T.
    case timestepOutOfRange(spacing: TimestepSpacing, steps: Int, timestep: Int, trainTimesteps: Int, offset: Int)

    /// A one-line message with the numbers involved.
    public var description: String {
        switch self {
        case .stepsOutOfRange(let steps, let T):
            "steps = \(steps): the number of sampling steps must be between 1 and num_train_timesteps = \(T)"
        case .timestepOutOfRange(let spacing, let steps, let t, let T, let offset):
            "\(spacing.rawValue) spacing with \(steps) steps and steps_offset = \(offset) gives timestep \(t), outside 0..<\(T)"
        }
    }
}
