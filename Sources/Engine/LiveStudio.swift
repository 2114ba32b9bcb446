import Dispatch
import Foundation
import Sampling
import Tensors

/// What the studio shows: one of DDIM's promises, live.
public enum StudioView: Sendable, Equatable {
    /// One x_T (seed), one column per (S, σ-rule): consistency (§5.3).
    case compare(seed: UInt64, columns: [ComparisonColumn], spacing: TimestepSpacing)
    /// x_T of seed A, slerp at α, x_T of seed B, each sampled with η = 0 (§5.3, App. D.5).
    case interpolate(seedA: UInt64, seedB: UInt64, alpha: Float, steps: Int, spacing: TimestepSpacing)
    /// An image, its x_T by the ODE run forward, and the reconstruction from that x_T (§5.4).
    case invert(image: Tensor, name: String, steps: Int, spacing: TimestepSpacing)
}

/// One picture of the studio and how far along it is.
public struct StudioTile: Sendable {
    /// What the tile shows ("S=20 η=0", "α=0.40", "x_T").
    public var label: String
    /// The picture (1, C, H, W): x̂₀ while sampling, x_t while encoding; nil until there is one.
    public var image: Tensor?
    /// Steps done and planned for this tile (0/0 for a fixed image).
    public var stepsDone = 0, stepCount = 0
    /// A figure for the tile's bottom edge ("MSE 0.0012", "Δ 24.1 dB").
    public var caption = ""

    /// Whether the tile is complete.
    public var isDone: Bool { stepsDone >= stepCount }
}

/// The latest state of the studio.
public struct StudioSnapshot: Sendable {
    /// The view being computed.
    public var view: StudioView?
    /// Tiles, left to right.
    public var tiles: [StudioTile] = []
    /// Paused by the user.
    public var paused = false
    /// The error that stopped the view, if any.
    public var failure: String?
    /// Milliseconds of the last step.
    public var lastMilliseconds = 0.0

    /// Steps done and planned over all tiles.
    public var progress: (done: Int, count: Int) {
        (tiles.map(\.stepsDone).reduce(0, +), tiles.map(\.stepCount).reduce(0, +))
    }
    /// Whether every tile is complete.
    public var isDone: Bool { tiles.allSatisfy(\.isDone) }
}

/// A background worker for the studio views (compare, interpolate, invert): like ``LiveSampler``,
/// it runs on its own serial queue, takes commands through a lock-protected box, and publishes a
/// latest-wins snapshot after each step. Its work is a set of lanes (one sampler each, or one
/// inversion); it always steps the lane that is least far along, so the tiles fill in together.
/// Lanes whose inputs did not change are kept across views: moving α re-samples only the middle
/// of an interpolation.
public final class LiveStudio: @unchecked Sendable {
    private let model: LoadedModel
    private let queue = DispatchQueue(label: "ddim.studio", qos: .userInitiated)
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var requested: StudioView?
    private var discard = false
    private var pausedRequest = false
    private var stepRequests = 0
    private var snapshot = StudioSnapshot()
    private var version = 0
    private var stopping = false
    private var finished = false
    private var started = false

    /// A studio on `model`.
    public init(model: LoadedModel) { self.model = model }

    /// Shows `view` (replacing the current one; unchanged lanes are kept unless `fresh`). Starts
    /// the worker on first use.
    public func show(_ view: StudioView, fresh: Bool = false) {
        condition.lock()
        requested = view
        if fresh { discard = true }
        let start = !started
        started = true
        condition.signal()
        condition.unlock()
        if start { queue.async { [self] in work() } }
    }

    /// Pauses or resumes the work.
    public func setPaused(_ paused: Bool) {
        condition.lock()
        pausedRequest = paused
        condition.signal()
        condition.unlock()
    }

    /// While paused: one step.
    public func stepOnce() {
        condition.lock()
        stepRequests += 1
        condition.signal()
        condition.unlock()
    }

    /// The latest snapshot and its version.
    public func latest() -> (snapshot: StudioSnapshot, version: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (snapshot, version)
    }

    /// Stops the worker after the step in progress (waits at most `timeout` seconds).
    public func stop(timeout: Double = 30) {
        condition.lock()
        stopping = true
        condition.broadcast()
        let deadline = Date().addingTimeInterval(timeout)
        while started && !finished && condition.wait(until: deadline) {}
        condition.unlock()
    }

    // MARK: - Lanes

    /// One unit of work: a sampler, a fixed image, or an inversion (encode, then decode).
    private final class Lane {
        let key: String
        var tiles: [StudioTile]
        var sampler: Sampler?
        // inversion
        var encodePlan: [Int] = []
        var encoded = 0
        var x: Tensor?
        var original: Tensor?
        let inverter: Inverter?

        init(key: String, tiles: [StudioTile], sampler: Sampler? = nil, inverter: Inverter? = nil) {
            (self.key, self.tiles, self.sampler, self.inverter) = (key, tiles, sampler, inverter)
        }

        var fraction: Double {
            let done = tiles.map(\.stepsDone).reduce(0, +), count = tiles.map(\.stepCount).reduce(0, +)
            return count == 0 ? 1 : Double(done) / Double(count)
        }
        var isDone: Bool { tiles.allSatisfy(\.isDone) }
    }

    private func lanes(for view: StudioView, reusing old: [Lane]) throws -> [Lane] {
        func reuse(_ key: String, _ make: () throws -> Lane) rethrows -> Lane {
            try old.first { $0.key == key } ?? make()
        }
        let shape = [1] + model.sampleShape()
        switch view {
        case .compare(let seed, let columns, let spacing):
            var generator = TorchRandom(seed: seed)
            let xT = generator.normal(shape: shape)
            let source = generator
            return try columns.map { column in
                try reuse("compare \(seed) \(column.label) \(spacing)") {
                    let s = try Sampler(model: model.unet, scheduler: model.ddim, initialSample: xT, steps: column.steps,
                                        noise: column.noise, spacing: spacing, source: source)
                    return Lane(key: "compare \(seed) \(column.label) \(spacing)",
                                tiles: [StudioTile(label: column.label, image: nil, stepCount: s.count)], sampler: s)
                }
            }
        case .interpolate(let a, let b, let alpha, let steps, let spacing):
            let za = model.latent(seed: a), zb = model.latent(seed: b)
            let points: [(String, String, Tensor)] = [
                ("seed \(a)", "α=0", za), (String(format: "α=%.2f", alpha), String(format: "α=%.2f", alpha), slerp(za, zb, alpha: alpha)),
                ("seed \(b)", "α=1", zb),
            ]
            return try points.map { key, label, z in
                let fullKey = "interpolate \(a) \(b) \(key) \(steps) \(spacing)"
                return try reuse(fullKey) {
                    let s = try Sampler(model: model.unet, scheduler: model.ddim, initialSample: z, steps: steps, noise: .deterministic,
                                        spacing: spacing, source: TorchRandom(seed: 0))
                    return Lane(key: fullKey, tiles: [StudioTile(label: label, image: nil, stepCount: s.count)], sampler: s)
                }
            }
        case .invert(let image, let name, let steps, let spacing):
            let plan = try model.ddim.timesteps(steps: steps, spacing: spacing)
            let key = "invert \(name) \(image.data.hashValue) \(steps) \(spacing)"
            return [reuse(key) {
                let lane = Lane(key: key, tiles: [
                    StudioTile(label: "x₀ (\(name))", image: image),
                    StudioTile(label: "x_T", image: image, stepCount: plan.count),
                    StudioTile(label: "reconstruction", image: nil, stepCount: plan.count),
                ], inverter: Inverter(model: model.unet, scheduler: model.unclippedDDIM))
                lane.encodePlan = plan.reversed()
                lane.x = image
                lane.original = image
                return lane
            }]
        }
    }

    /// Runs one step of `lane`; returns its milliseconds.
    private func step(_ lane: Lane) throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        if var s = lane.sampler {
            guard let p = try s.step() else { return 0 }
            lane.sampler = s
            let tile = lane.tiles.count - 1
            lane.tiles[tile].stepsDone = p.index + 1
            lane.tiles[tile].stepCount = p.count
            lane.tiles[tile].image = s.isFinished ? p.sample : p.predictedX0
            if s.isFinished, let original = lane.original {
                let mse = meanSquaredErrors(original, p.sample)[0]
                lane.tiles[tile].caption = String(format: "MSE %.4f", mse)
            }
        } else if let inverter = lane.inverter, let x = lane.x, lane.encoded < lane.encodePlan.count {
            // x_s → x_t with ε evaluated at (x_s, t), the convention of ``Inverter``
            let t = lane.encodePlan[lane.encoded]
            let from = lane.encoded == 0 ? nil : lane.encodePlan[lane.encoded - 1]
            let eps = try model.unet.predictNoise(x, timestep: t)
            let bad = eps.nonFiniteCount
            guard bad == 0 else {
                throw SamplingError.nonFinite(step: lane.encoded + 1, of: lane.encodePlan.count, timestep: t,
                                              what: "the model's output (inverting)", count: bad)
            }
            let next = inverter.scheduler.inverseStep(sample: x, modelOutput: eps, from: from, to: t)
            lane.x = next
            lane.encoded += 1
            lane.tiles[1].stepsDone = lane.encoded
            lane.tiles[1].image = next
            if lane.encoded == lane.encodePlan.count {
                lane.tiles[1].caption = String(format: "t=%d", t)
                lane.sampler = try Sampler(model: model.unet, scheduler: model.unclippedDDIM, initialSample: next,
                                           timesteps: Array(lane.encodePlan.reversed()), noise: .deterministic, source: TorchRandom(seed: 0))
            }
        }
        return (clock.now - start).milliseconds
    }

    private func publish(_ update: (inout StudioSnapshot) -> Void) {
        condition.lock()
        update(&snapshot)
        version += 1
        condition.unlock()
    }

    private func work() {
        var lanes: [Lane] = []
        var failed = false
        var current: StudioView?
        while true {
            condition.lock()
            while !stopping && requested == nil && (pausedRequest && stepRequests == 0 || failed || lanes.allSatisfy(\.isDone)) {
                condition.wait()
            }
            if stopping {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let view = requested
            requested = nil
            if discard { lanes = []; discard = false }
            let paused = pausedRequest
            var once = false
            if paused && stepRequests > 0 { stepRequests -= 1; once = true }
            condition.unlock()

            if let view {
                do {
                    lanes = try self.lanes(for: view, reusing: lanes)
                    current = view
                    failed = false
                    let tiles = lanes.flatMap(\.tiles)
                    publish {
                        $0.view = view
                        $0.tiles = tiles
                        $0.failure = nil
                        $0.paused = paused
                    }
                } catch {
                    failed = true
                    let message = "\(error)"
                    publish { $0.failure = message }
                }
                continue
            }
            publish { $0.paused = paused }
            guard !failed, !paused || once, let lane = lanes.filter({ !$0.isDone }).min(by: { $0.fraction < $1.fraction }) else { continue }
            do {
                let ms = try step(lane)
                if case .compare = current, lanes.allSatisfy(\.isDone), let reference = lanes.last?.tiles[0].image {
                    // consistency: each column's distance to the last one
                    for other in lanes {
                        guard let image = other.tiles[0].image else { continue }
                        other.tiles[0].caption = other === lanes.last ? "reference" : String(format: "MSE %.4f", meanSquaredErrors(image, reference)[0])
                    }
                }
                let tiles = lanes.flatMap(\.tiles)
                publish {
                    $0.tiles = tiles
                    $0.lastMilliseconds = ms
                }
            } catch {
                failed = true
                let message = "\(error)"
                publish { $0.failure = message }
            }
        }
    }
}
