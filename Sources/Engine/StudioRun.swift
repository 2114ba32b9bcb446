import Foundation
import Sampling
import Tensors

/// What a studio lane computes, and the key under which it is kept across views: a new view
/// reuses every lane whose key it asks for again (moving α re-samples only the middle of an
/// interpolation).
public enum LaneKey: Sendable, Equatable {
    /// Where on the path between two seeds' x_T an interpolation lane starts.
    public enum Point: Sendable, Equatable {
        /// x_T of seed A (α = 0).
        case seedA
        /// slerp(x_T(A), x_T(B), α).
        case slerp(alpha: Float)
        /// x_T of seed B (α = 1).
        case seedB
    }

    /// One column of a comparison: x_T of `seed` sampled with S and σ's rule of `column`.
    case compare(seed: UInt64, column: ComparisonColumn, spacing: TimestepSpacing)
    /// One point of an interpolation, sampled with η = 0.
    case interpolate(seedA: UInt64, seedB: UInt64, point: Point, steps: Int, spacing: TimestepSpacing)
    /// An inversion of `image` (named `name`) and its reconstruction.
    case invert(image: Tensor, name: String, steps: Int, spacing: TimestepSpacing)
}

/// One unit of the studio's work: a sampler into one tile, or an inversion into three (x₀, x_T,
/// the reconstruction).
struct StudioLane {
    /// What the lane is doing now.
    enum Work {
        /// Sampling x_T → x₀ into the last tile.
        case sampling(Sampler)
        /// Encoding x₀ → x_T into tile 1, then sampling x_T back along `plan` (descending).
        case encoding(Inverter, plan: [Int])
    }

    let key: LaneKey
    var tiles: [StudioTile]
    var work: Work
    /// x₀ of an inversion, which the reconstruction's MSE is measured against.
    var original: Tensor?

    /// Steps done over steps planned, over the lane's tiles (1 for a lane with nothing to do).
    var fraction: Double {
        let done = tiles.map(\.stepsDone).reduce(0, +), count = tiles.map(\.stepCount).reduce(0, +)
        return count == 0 ? 1 : Double(done) / Double(count)
    }
    /// Whether every tile of the lane is complete.
    var isDone: Bool { tiles.allSatisfy(\.isDone) }

    /// Runs one step of the lane: x̂₀ goes into the tile while sampling (x₀ when done), x_t while
    /// encoding; the finished reconstruction gets its MSE against x₀, (1/n)·Σ(x₀ − x̂)².
    mutating func step(model: LoadedModel) throws {
        switch work {
        case .sampling(var sampler):
            guard let p = try sampler.step() else { return }
            work = .sampling(sampler)
            let last = tiles.count - 1
            tiles[last].stepsDone = p.index + 1
            tiles[last].stepCount = p.count
            tiles[last].image = sampler.isFinished ? p.sample : p.predictedX0
            if sampler.isFinished, let original {
                tiles[last].caption = String(format: "MSE %.4f", meanSquaredErrors(original, p.sample)[0])
            }
        case .encoding(var inverter, let plan):
            guard let p = try inverter.step() else { return }
            work = .encoding(inverter, plan: plan)
            tiles[1].stepsDone = p.index + 1
            tiles[1].image = p.sample
            if inverter.isFinished {
                tiles[1].caption = String(format: "t=%d", p.timestep)
                work = .sampling(try Sampler(model: model.denoiser, scheduler: model.unclippedDDIM, initialSample: p.sample,
                                             timesteps: plan, noise: .deterministic, source: TorchRandom(seed: 0)))
            }
        }
    }
}

/// The studio's state machine, synchronous: ``apply(_:)`` a command, ``step()`` when
/// ``wantsStep``, read ``snapshot``. ``LiveStudio`` runs one on its worker thread; a test drives
/// one directly.
///
/// Its work is a set of lanes (``LaneKey``); each step advances the lane that is least far along,
/// so the tiles fill in together.
public struct StudioRun: LiveWork {
    /// What the UI sees.
    public private(set) var snapshot = StudioSnapshot()
    private var model: LoadedModel
    private var lanes: [StudioLane] = []
    private var paused = false
    private var failed = false
    /// ``StudioCommand/stepOnce`` requests not yet run.
    private var stepsOwed = 0

    /// A studio on `model`, with no view yet.
    public init(model: LoadedModel) { self.model = model }

    /// The keys of the current lanes, in tile order.
    public var laneKeys: [LaneKey] { lanes.map(\.key) }

    /// Whether ``step()`` would run a step: a view that has not failed has a lane left to do, and
    /// the studio is not paused or a ``StudioCommand/stepOnce`` is owed.
    public var wantsStep: Bool {
        !failed && (!paused || stepsOwed > 0) && lanes.contains { !$0.isDone }
    }

    /// Applies a command from the UI (see ``StudioCommand``).
    public mutating func apply(_ command: StudioCommand) {
        switch command {
        case .show(let view, let fresh):
            if fresh { lanes = [] }
            do {
                lanes = try Self.lanes(for: view, model: model, reusing: lanes)
                failed = false
                snapshot.view = view
                snapshot.tiles = lanes.flatMap(\.tiles)
                snapshot.failure = nil
            } catch {
                failed = true
                snapshot.failure = LiveFailure(error)
            }
        case .setPaused(let p):
            paused = p
            snapshot.paused = p
        case .stepOnce:
            stepsOwed += 1
        case .setClass(let label):
            model.classLabel = label
            lanes = []
        case .setGuidance(let w):
            model.guidance = w
            lanes = []
        }
        settle()
    }

    /// Runs one step of the least advanced lane if ``wantsStep``; returns whether it ran one (a
    /// step that failed counts: the snapshot then has a ``StudioSnapshot/failure``).
    @discardableResult
    public mutating func step() -> Bool {
        guard wantsStep,
              let i = lanes.indices.filter({ !lanes[$0].isDone }).min(by: { lanes[$0].fraction < lanes[$1].fraction })
        else { return false }
        if stepsOwed > 0 { stepsOwed -= 1 }
        let clock = ContinuousClock()
        let start = clock.now
        do {
            try lanes[i].step(model: model)
            if case .compare = snapshot.view { captionConsistency() }
            snapshot.tiles = lanes.flatMap(\.tiles)
            snapshot.lastMilliseconds = (clock.now - start).milliseconds
        } catch {
            failed = true
            snapshot.failure = LiveFailure(error)
        }
        settle()
        return true
    }

    /// Once every column of a comparison is done: each column's MSE to the last one (the
    /// reference), the consistency of §5.3.
    private mutating func captionConsistency() {
        guard lanes.allSatisfy(\.isDone), let reference = lanes.last?.tiles[0].image else { return }
        for i in lanes.indices {
            guard let image = lanes[i].tiles[0].image else { continue }
            lanes[i].tiles[0].caption = i == lanes.count - 1
                ? "reference" : String(format: "MSE %.4f", meanSquaredErrors(image, reference)[0])
        }
    }

    /// A studio that cannot step owes no single steps (they were for the work it had).
    private mutating func settle() {
        if failed || lanes.allSatisfy(\.isDone) { stepsOwed = 0 }
    }

    // MARK: - Lanes

    /// The lanes of `view`, each taken from `old` if one there has its key.
    static func lanes(for view: StudioView, model: LoadedModel, reusing old: [StudioLane]) throws -> [StudioLane] {
        func lane(_ key: LaneKey, _ make: () throws -> StudioLane) rethrows -> StudioLane {
            try old.first { $0.key == key } ?? make()
        }
        func sampling(_ key: LaneKey, label: String, _ sampler: Sampler) -> StudioLane {
            StudioLane(key: key, tiles: [StudioTile(label: label, image: nil, stepCount: sampler.count)], work: .sampling(sampler))
        }
        switch view {
        case .compare(let seed, let columns, let spacing):
            // one x_T, and the generator after it for the columns that draw z (η > 0)
            var generator = TorchRandom(seed: seed)
            let xT = generator.normal(shape: [1] + model.sampleShape())
            let source = generator
            return try columns.map { column in
                let key = LaneKey.compare(seed: seed, column: column, spacing: spacing)
                return try lane(key) {
                    sampling(key, label: column.label, try Sampler(
                        model: model.denoiser, scheduler: model.ddim, initialSample: xT, steps: column.steps,
                        noise: column.noise, spacing: spacing, source: source))
                }
            }
        case .interpolate(let a, let b, let alpha, let steps, let spacing):
            let za = model.latent(seed: a), zb = model.latent(seed: b)
            let points: [(LaneKey.Point, String, Tensor)] = [
                (.seedA, "α=0", za), (.slerp(alpha: alpha), String(format: "α=%.2f", alpha), slerp(za, zb, alpha: alpha)), (.seedB, "α=1", zb),
            ]
            return try points.map { point, label, z in
                let key = LaneKey.interpolate(seedA: a, seedB: b, point: point, steps: steps, spacing: spacing)
                return try lane(key) {
                    sampling(key, label: label, try Sampler(
                        model: model.denoiser, scheduler: model.ddim, initialSample: z, steps: steps, noise: .deterministic,
                        spacing: spacing, source: TorchRandom(seed: 0)))
                }
            }
        case .invert(let image, let name, let steps, let spacing):
            let plan = try model.ddim.timesteps(steps: steps, spacing: spacing)
            let key = LaneKey.invert(image: image, name: name, steps: steps, spacing: spacing)
            return [try lane(key) {
                let inverter = try Inverter(model: model.denoiser, scheduler: model.unclippedDDIM, initialSample: image, timesteps: plan)
                return StudioLane(key: key, tiles: [
                    StudioTile(label: "x₀ (\(name))", image: image),
                    StudioTile(label: "x_T", image: image, stepCount: plan.count),
                    StudioTile(label: "reconstruction", image: nil, stepCount: plan.count),
                ], work: .encoding(inverter, plan: plan), original: image)
            }]
        }
    }
}
