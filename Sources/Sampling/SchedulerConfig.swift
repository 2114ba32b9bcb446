import Files
import Foundation

/// The noise-schedule and update settings of a diffusers `scheduler_config.json`.
///
/// Decodes the config of a `DDPMScheduler` or a `DDIMScheduler` (`_class_name` may name either,
/// or another diffusers scheduler with the same fields); unknown keys are ignored. A missing key
/// takes `DDIMScheduler`'s default, which is what a DDPM checkpoint gets when diffusers'
/// `DDIMPipeline` converts its scheduler with `DDIMScheduler.from_config`.
///
/// A value this package cannot honour (e.g. `beta_schedule: "foo"`) throws a
/// ``SchedulerConfigError`` that names the field, the value and the supported values.
public struct SchedulerConfig: Sendable, Equatable, Decodable {
    /// `_class_name`, when present (e.g. `"DDPMScheduler"`); informative only.
    public var className: String?
    /// `num_train_timesteps`: T, the number of training timesteps (default 1000).
    public var trainTimesteps: Int = 1000
    /// `beta_start`: β₁ of the linear schedules (default 1e-4).
    public var betaStart: Double = 0.0001
    /// `beta_end`: β_T of the linear schedules (default 0.02).
    public var betaEnd: Double = 0.02
    /// `beta_schedule` (default `linear`).
    public var betaSchedule: BetaSchedule = .linear
    /// `trained_betas`: explicit β₁…β_T that replace `beta_schedule` when present.
    public var trainedBetas: [Double]?
    /// `clip_sample`: clamp x̂₀ to ±`clipSampleRange` (default true).
    public var clipSample: Bool = true
    /// `clip_sample_range` (default 1).
    public var clipSampleRange: Float = 1
    /// `prediction_type`: what the model outputs (default `epsilon`).
    public var predictionType: PredictionType = .epsilon
    /// `thresholding`: dynamic thresholding of x̂₀ (Imagen); takes precedence over clipping.
    public var thresholding: Bool = false
    /// `dynamic_thresholding_ratio`: the quantile of |x̂₀| used as the threshold (default 0.995).
    public var dynamicThresholdingRatio: Float = 0.995
    /// `sample_max_value`: the largest threshold (default 1).
    public var sampleMaxValue: Float = 1
    /// `set_alpha_to_one`: ᾱ after the last step is 1 (else ᾱ₀ of the schedule; default true).
    public var setAlphaToOne: Bool = true
    /// `steps_offset`: added to every `leading` timestep (default 0).
    public var stepsOffset: Int = 0
    /// `timestep_spacing` (default `leading`).
    public var timestepSpacing: TimestepSpacing = .leading

    /// A config with `DDIMScheduler`'s defaults (linear β 1e-4…0.02, T = 1000, clip ±1).
    public init() {}

    // MARK: - Decoding

    /// The config's keys: each case's name in snake_case (`betaStart` → `beta_start`), and
    /// `_class_name`.
    private enum Key: String, CodingKey, CaseIterable {
        case className, numTrainTimesteps, betaStart, betaEnd, betaSchedule, trainedBetas, clipSample, clipSampleRange
        case predictionType, thresholding, dynamicThresholdingRatio, sampleMaxValue, setAlphaToOne, stepsOffset
        case timestepSpacing, rescaleBetasZeroSnr

        var stringValue: String {
            var name = self == .className ? "_" : ""
            for c in rawValue {
                if c.isUppercase { name += "_" }
                name += c.lowercased()
            }
            return name
        }

        init?(stringValue: String) {
            guard let key = Self.allCases.first(where: { $0.stringValue == stringValue }) else { return nil }
            self = key
        }
    }

    /// Decodes a diffusers scheduler config; see the type's documentation.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        func value<T: Decodable>(_ key: Key, _ fallback: T) throws -> T {
            do {
                return try c.decodeIfPresent(T.self, forKey: key) ?? fallback
            } catch let error as DecodingError {
                throw SchedulerConfigError.invalid(
                    field: key.stringValue, value: Self.describe(c, key), reason: "expected \(T.self) (\(error.shortDescription))")
            }
        }
        func choice<T: RawRepresentable & CaseIterable>(_ key: Key, _ fallback: T) throws -> T where T.RawValue == String {
            guard let raw: String = try value(key, nil as String?) else { return fallback }
            guard let v = T(rawValue: raw) else {
                throw SchedulerConfigError.unsupported(
                    field: key.stringValue, value: raw, supported: T.allCases.map(\.rawValue))
            }
            return v
        }
        className = try value(.className, nil as String?)
        trainTimesteps = try value(.numTrainTimesteps, trainTimesteps)
        betaStart = try value(.betaStart, betaStart)
        betaEnd = try value(.betaEnd, betaEnd)
        betaSchedule = try choice(.betaSchedule, betaSchedule)
        trainedBetas = try value(.trainedBetas, nil as [Double]?)
        clipSample = try value(.clipSample, clipSample)
        clipSampleRange = try value(.clipSampleRange, clipSampleRange)
        predictionType = try choice(.predictionType, predictionType)
        thresholding = try value(.thresholding, thresholding)
        dynamicThresholdingRatio = try value(.dynamicThresholdingRatio, dynamicThresholdingRatio)
        sampleMaxValue = try value(.sampleMaxValue, sampleMaxValue)
        setAlphaToOne = try value(.setAlphaToOne, setAlphaToOne)
        stepsOffset = try value(.stepsOffset, stepsOffset)
        timestepSpacing = try choice(.timestepSpacing, timestepSpacing)
        if try value(.rescaleBetasZeroSnr, false) {
            throw SchedulerConfigError.unsupported(
                field: Key.rescaleBetasZeroSnr.stringValue, value: "true", supported: ["false"])
        }
        try validate()
    }

    /// The most training timesteps accepted (real DDPMs use 1000–4000); the schedule is allocated
    /// from this number, so it is checked before anything else.
    static let maxTrainTimesteps = 100_000

    /// Checks ranges that decoding alone cannot (T ≥ 1, β in (0, 1), `trained_betas` length, …).
    public func validate() throws {
        if trainTimesteps < 1 || trainTimesteps > Self.maxTrainTimesteps {
            throw SchedulerConfigError.invalid(
                field: Key.numTrainTimesteps.stringValue, value: "\(trainTimesteps)", reason: "must lie in 1…\(Self.maxTrainTimesteps)")
        }
        if !(clipSampleRange > 0 && clipSampleRange.isFinite) {
            throw SchedulerConfigError.invalid(field: Key.clipSampleRange.stringValue, value: "\(clipSampleRange)", reason: "must be a positive number")
        }
        if let betas = trainedBetas {
            if betas.count != trainTimesteps {
                throw SchedulerConfigError.invalid(
                    field: Key.trainedBetas.stringValue, value: "\(betas.count) values",
                    reason: "must hold num_train_timesteps = \(trainTimesteps) values")
            }
            if let bad = betas.firstIndex(where: { !($0 > 0 && $0 < 1) }) {
                throw SchedulerConfigError.invalid(
                    field: Key.trainedBetas.stringValue, value: "[\(bad)] = \(betas[bad])", reason: "each β must lie in (0, 1)")
            }
        } else if betaSchedule != .squaredcosCapV2 {
            for (key, beta) in [(Key.betaStart, betaStart), (Key.betaEnd, betaEnd)] where !(beta > 0 && beta < 1) {
                throw SchedulerConfigError.invalid(field: key.stringValue, value: "\(beta)", reason: "must lie in (0, 1)")
            }
        }
        if stepsOffset < 0 {
            throw SchedulerConfigError.invalid(
                field: Key.stepsOffset.stringValue, value: "\(stepsOffset)", reason: "must not be negative")
        }
        if thresholding {
            if !(dynamicThresholdingRatio > 0 && dynamicThresholdingRatio <= 1) {
                throw SchedulerConfigError.invalid(
                    field: Key.dynamicThresholdingRatio.stringValue, value: "\(dynamicThresholdingRatio)",
                    reason: "must lie in (0, 1]")
            }
            if !(sampleMaxValue >= 1) {
                throw SchedulerConfigError.invalid(
                    field: Key.sampleMaxValue.stringValue, value: "\(sampleMaxValue)", reason: "must be at least 1")
            }
        }
        if clipSample && !thresholding && !(clipSampleRange > 0) {
            throw SchedulerConfigError.invalid(
                field: Key.clipSampleRange.stringValue, value: "\(clipSampleRange)", reason: "must be positive")
        }
    }

    private static func describe(_ c: KeyedDecodingContainer<Key>, _ key: Key) -> String {
        if let s = try? c.decode(String.self, forKey: key) { return "\"\(s)\"" }
        if let d = try? c.decode(Double.self, forKey: key) { return "\(d)" }
        if let b = try? c.decode(Bool.self, forKey: key) { return "\(b)" }
        return "a value of another type"
    }

    // MARK: - Files

    /// The largest scheduler_config.json read: 4 MiB. Real ones are under 1 KB; the limit leaves
    /// room for `trained_betas` at the largest T accepted (100,000 values, about 2 MB of text).
    public static let fileLimit = ReadLimit(bytes: 4 << 20, what: "a scheduler_config.json")

    /// Reads a `scheduler_config.json` (a regular file of at most ``fileLimit``); every error
    /// names the file.
    public static func load(from url: URL) throws -> SchedulerConfig {
        let bytes = try InputFile.contents(of: url.path, limit: fileLimit)
        return try decode(Data(bytes), file: url.path)
    }

    /// Decodes JSON text; `file` (when given) is named in errors.
    public static func decode(_ data: Data, file: String? = nil) throws -> SchedulerConfig {
        do {
            return try JSONDecoder().decode(SchedulerConfig.self, from: data)
        } catch let error as SchedulerConfigError {
            guard let file else { throw error }
            throw SchedulerConfigError.inFile(file, error)
        } catch let error as DecodingError {
            throw SchedulerConfigError.unreadable(file: file ?? "<data>", reason: error.shortDescription)
        }
    }
}

/// How β₁…β_T are made from `beta_start` and `beta_end`.
public enum BetaSchedule: String, Sendable, CaseIterable, Codable {
    /// β evenly spaced from `beta_start` to `beta_end` (torch.linspace in float32).
    case linear
    /// √β evenly spaced, then squared (Stable Diffusion's schedule).
    case scaledLinear = "scaled_linear"
    /// The cosine schedule of Nichol & Dhariwal: β_t = min(1 − ᾱ(t+1)/ᾱ(t), 0.999).
    case squaredcosCapV2 = "squaredcos_cap_v2"
}

/// What the model's output means.
public enum PredictionType: String, Sendable, CaseIterable, Codable {
    /// The noise ε (DDPM, DDIM).
    case epsilon
    /// x₀ itself.
    case sample
    /// v = √ᾱ·ε − √(1−ᾱ)·x₀ (Salimans & Ho).
    case vPrediction = "v_prediction"
}

extension DecodingError {
    /// The coding path and the debug description, in one line.
    var shortDescription: String {
        let context: Context? =
            switch self {
            case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c): c
            @unknown default: nil
            }
        guard let context else { return "\(self)" }
        let path = context.codingPath.map(\.stringValue).joined(separator: ".")
        return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
    }
}
