import Tensors

extension DenoisingModel {
    /// The model's output at (x, t), checked before any update uses it: it must have x's shape and hold no NaN or ±∞.
    /// `step` and `count` (1-based step of the plan) and `what` only go into the error.
    /// - Throws: ``SamplingError/modelOutputShape(timestep:expected:actual:)`` or
    ///   ``SamplingError/nonFinite(step:of:timestep:what:count:)``.
    func checkedOutput(_ x: Tensor, timestep t: Int, step: Int, of count: Int, what: String) throws -> Tensor {
        let output = try output(x, timestep: t)
        guard output.shape == x.shape else {
            throw SamplingError.modelOutputShape(timestep: t, expected: x.shape, actual: output.shape)
        }
        let bad = output.nonFiniteCount
        guard bad == 0 else {
            throw SamplingError.nonFinite(step: step, of: count, timestep: t, what: what, count: bad)
        }
        return output
    }
}
