import Tensors

/// What a ``Sampler`` reports after each step: enough for a live view.
public struct StepProgress: Sendable {
    /// This step's index, 0-based.
    public var index: Int
    /// The number of steps in the run as now planned (it changes when the run is re-planned).
    public var count: Int
    /// The timestep this step started from.
    public var timestep: Int
    /// The timestep it went to, `nil` for the last step (to x₀).
    public var prev: Int?
    /// ᾱ_t.
    public var alphaBar: Float
    /// ᾱ_prev.
    public var alphaBarPrev: Float
    /// σ_t of this step.
    public var sigma: Float
    /// The sample after this step: x_prev, which the next step starts from (x₀ after the last).
    public var sample: Tensor
    /// x̂₀ predicted at this step (after clipping): the picture a preview shows.
    public var predictedX0: Tensor
    /// The time this step took (model and update).
    public var elapsed: Duration

    /// Whether this was the last step of the run (as planned now).
    public var isLast: Bool { prev == nil }
}

/// What the progress handler of ``Sampler/run(progress:)`` asks for next.
public enum SamplerControl: Sendable, Equatable {
    /// Go on with the plan.
    case `continue`
    /// Stop now; `run` returns ``SamplerOutcome/cancelled(sample:stepsDone:)``.
    case cancel
    /// Re-make the rest of the plan from the current timestep (see ``Sampler/replan(steps:noise:spacing:)``).
    case replan(steps: Int, noise: NoiseLevel, spacing: TimestepSpacing)
}

/// How a ``Sampler/run(progress:)`` ended.
public enum SamplerOutcome: Sendable {
    /// All steps done; the sample is x₀.
    case finished(Tensor)
    /// Stopped by the handler after `stepsDone` steps; `sample` is the x it had reached.
    case cancelled(sample: Tensor, stepsDone: Int)

    /// The sample reached, x₀ or not.
    public var sample: Tensor {
        switch self {
        case .finished(let x), .cancelled(let x, _): x
        }
    }

    /// Whether every step ran.
    public var isFinished: Bool {
        if case .finished = self { return true }
        return false
    }
}
