import Engine
import Tensors
import Testing

/// The history a live run keeps for scrubbing: every step, small, within its budget.
@Suite("LiveHistory")
struct LiveHistoryTests {
    func picture(_ value: Float, side: Int = 8, batch: Int = 2) -> Tensor {
        Tensor(shape: [batch, 3, side, side], data: [Float](repeating: value, count: batch * 3 * side * side))
    }

    @Test("every step is kept and found; neighbours step through them; a re-run from an earlier step replaces the later ones")
    func steps() throws {
        var h = LiveHistory()
        h.record(step: 0, timestep: 999, sample: picture(0), predictedX0: nil)
        for s in 1...5 { h.record(step: s, timestep: 1000 - 200 * s, sample: picture(Float(s)), predictedX0: picture(-Float(s))) }
        #expect(h.frames.map(\.step) == [0, 1, 2, 3, 4, 5])
        #expect(try #require(h.frame(atOrBefore: 3)).sample.data[0] == 3)
        #expect(h.frame(atOrBefore: 3)?.predictedX0?.data[0] == -3)
        #expect(h.neighbour(of: 3, forward: true) == 4 && h.neighbour(of: 3, forward: false) == 2)
        #expect(h.neighbour(of: 5, forward: true) == nil && h.neighbour(of: 0, forward: false) == nil)
        h.record(step: 2, timestep: 600, sample: picture(9), predictedX0: nil)
        #expect(h.frames.map(\.step) == [0, 1, 2])
    }

    @Test("pictures over maxSide are box-averaged to it: the mean of each block")
    func shrink() {
        var h = LiveHistory(maxSide: 4)
        var x = Tensor(shape: [1, 1, 8, 8])
        for i in 0..<64 { x.data[i] = Float(i) }
        h.record(step: 1, timestep: 0, sample: x, predictedX0: nil)
        let small = h.frames[0].sample
        #expect(small.shape == [1, 1, 4, 4])
        // block (0, 0) holds 0, 1, 8, 9
        #expect(small.data[0] == 4.5)
        #expect(small.data[15] == Float(54 + 55 + 62 + 63) / 4)
    }

    @Test("over budget, every other frame goes; x_T and the newest stay; memory stays under the budget")
    func budget() {
        // a frame: 2 × 3 × 8 × 8 floats twice = 3 KB
        var h = LiveHistory(maxSide: 8, budgetBytes: 40 * 3072)
        h.record(step: 0, timestep: 999, sample: picture(0), predictedX0: nil)
        for s in 1...1000 { h.record(step: s, timestep: 999 - s % 999, sample: picture(1), predictedX0: picture(2)) }
        let steps = h.frames.map(\.step)
        #expect(steps.first == 0 && steps.last == 1000)
        #expect(h.frames.count <= 41 && h.frames.count >= 10, "\(steps)")
        #expect(steps == steps.sorted())
    }
}
