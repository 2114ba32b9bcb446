import Engine
import Foundation
import Sampling
import Tensors
import Testing

@Suite("The studio's state machine, driven step by step")
struct StudioRunTests {
    let model: LoadedModel
    init() throws { model = try ModelStore.load(fixtures.appendingPathComponent("pipeline/tiny")) }

    func interpolation(alpha: Float, steps: Int = 4) -> StudioView {
        .interpolate(seedA: 1, seedB: 2, alpha: alpha, steps: steps, spacing: .leading)
    }

    @Test("an interpolation: three lanes stepped least-advanced first; moving α re-samples only the middle")
    func interpolate() throws {
        var run = StudioRun(model: model)
        #expect(!run.wantsStep && !run.step())
        run.apply(.show(interpolation(alpha: 0.4), fresh: false))
        #expect(run.laneKeys == [
            .interpolate(seedA: 1, seedB: 2, point: .seedA, steps: 4, spacing: .leading),
            .interpolate(seedA: 1, seedB: 2, point: .slerp(alpha: 0.4), steps: 4, spacing: .leading),
            .interpolate(seedA: 1, seedB: 2, point: .seedB, steps: 4, spacing: .leading),
        ])
        #expect(run.snapshot.tiles.map(\.label) == ["α=0", "α=0.40", "α=1"])
        for _ in 0..<3 { run.step() }
        #expect(run.snapshot.tiles.map(\.stepsDone) == [1, 1, 1] && run.snapshot.progress == (3, 12))
        #expect(drain(&run) == 9)
        #expect(run.snapshot.isDone && run.snapshot.failure == nil)
        let before = run.snapshot.tiles
        // the middle tile is slerp(x_T(1), x_T(2), 0.4) sampled at η = 0
        let z = slerp(model.latent(seed: 1), model.latent(seed: 2), alpha: 0.4)
        #expect(try #require(before[1].image).maxAbsDifference(try model.decode(z, steps: 4, spacing: .leading).sample) <= 1e-5)

        run.apply(.show(interpolation(alpha: 0.6), fresh: false))
        #expect(run.snapshot.tiles.map(\.stepsDone) == [4, 0, 4])
        #expect(run.snapshot.tiles[0].image == before[0].image && run.snapshot.tiles[2].image == before[2].image)
        #expect(drain(&run) == 4)
        #expect(run.snapshot.tiles[1].image != before[1].image)
        // fresh: every lane again
        run.apply(.show(interpolation(alpha: 0.6), fresh: true))
        #expect(run.snapshot.tiles.map(\.stepsDone) == [0, 0, 0])
    }

    @Test("pause is a command; each stepOnce is one step; a stepOnce with nothing to do is dropped")
    func pause() {
        var run = StudioRun(model: model)
        run.apply(.setPaused(true))
        run.apply(.show(interpolation(alpha: 0.5, steps: 2), fresh: false))
        #expect(run.snapshot.paused && !run.wantsStep && !run.step())
        run.apply(.stepOnce)
        run.apply(.stepOnce)
        #expect(drain(&run) == 2)
        #expect(run.snapshot.progress.done == 2 && run.snapshot.paused)
        run.apply(.setPaused(false))
        #expect(!run.snapshot.paused && drain(&run) == 4 && run.snapshot.isDone)
        run.apply(.setPaused(true))
        run.apply(.stepOnce)
        run.apply(.show(interpolation(alpha: 0.5, steps: 3), fresh: false))
        #expect(!run.wantsStep)
    }

    @Test("a comparison captions each column with its MSE to the last once all are done")
    func compare() throws {
        var run = StudioRun(model: model)
        let columns = [ComparisonColumn(steps: 3, noise: .eta(0)), ComparisonColumn(steps: 5, noise: .eta(0))]
        run.apply(.show(.compare(seed: 4, columns: columns, spacing: .leading), fresh: false))
        #expect(run.laneKeys == columns.map { .compare(seed: 4, column: $0, spacing: .leading) })
        #expect(drain(&run) == 8)
        let tiles = run.snapshot.tiles
        #expect(tiles.map(\.label) == ["S=3 η=0", "S=5 η=0"])
        let mse = meanSquaredErrors(try #require(tiles[0].image), try #require(tiles[1].image))[0]
        #expect(tiles.map(\.caption) == [String(format: "MSE %.4f", mse), "reference"])
    }

    @Test("an inversion lane encodes with the Inverter, then samples back: the tiles are `ddim invert`'s")
    func invert() throws {
        var run = StudioRun(model: model)
        let image = model.latent(seed: 5)
        run.apply(.show(.invert(image: image, name: "five", steps: 4, spacing: .leading), fresh: false))
        #expect(run.snapshot.tiles.map(\.label) == ["x₀ (five)", "x_T", "reconstruction"])
        #expect(run.snapshot.tiles.map(\.stepCount) == [0, 4, 4])
        for _ in 0..<4 { run.step() }
        #expect(run.snapshot.tiles.map(\.stepsDone) == [0, 4, 0])
        #expect(drain(&run) == 4)
        let want = try model.invert(image, steps: 4, spacing: .leading)
        let tiles = run.snapshot.tiles
        #expect(tiles[0].image == image)
        #expect(try #require(tiles[1].image).maxAbsDifference(want.latent) <= 1e-6)
        #expect(try #require(tiles[2].image).maxAbsDifference(want.reconstruction) <= 1e-6)
        #expect(tiles[1].caption == "t=\(want.timesteps[0])" && tiles[2].caption == String(format: "MSE %.4f", want.mse[0]))
    }

    @Test("a view that cannot be made is a typed failure; the next good view clears it")
    func failure() throws {
        var run = StudioRun(model: model)
        run.apply(.show(interpolation(alpha: 0.5, steps: 0), fresh: false))
        let failure = try #require(run.snapshot.failure)
        #expect(failure.error is TimestepSpacingError && !run.wantsStep)
        run.apply(.show(interpolation(alpha: 0.5, steps: 2), fresh: false))
        #expect(run.snapshot.failure == nil && drain(&run) == 6)
    }
}
