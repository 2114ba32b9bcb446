import Foundation
import Sampling
import Testing

@Suite struct SchedulerConfigTests {
    /// google/ddpm-cifar10-32's scheduler_config.json: DDPM keys, DDIM defaults for the rest.
    @Test func ddpmConfigGetsDDIMDefaults() throws {
        let json = """
            {"_class_name": "DDPMScheduler", "_diffusers_version": "0.1.1", "beta_end": 0.02,
             "beta_schedule": "linear", "beta_start": 0.0001, "num_train_timesteps": 1000,
             "trained_betas": null, "variance_type": "fixed_small", "clip_sample": true}
            """
        let config = try SchedulerConfig.decode(Data(json.utf8))
        #expect(config.className == "DDPMScheduler")
        #expect(config.trainTimesteps == 1000 && config.betaSchedule == .linear && config.trainedBetas == nil)
        #expect(config.setAlphaToOne && config.clipSample && config.clipSampleRange == 1)
        #expect(config.predictionType == .epsilon && config.timestepSpacing == .leading && config.stepsOffset == 0)
        #expect(!config.thresholding && config.dynamicThresholdingRatio == 0.995 && config.sampleMaxValue == 1)
        #expect(try SchedulerConfig.decode(Data("{}".utf8)) == SchedulerConfig())
    }

    @Test func linearBetasEndsAreExact() throws {
        let schedule = try NoiseSchedule(config: SchedulerConfig())
        #expect(schedule.betas.first == Float(0.0001) && schedule.betas.last == Float(0.02))
        #expect(schedule.finalAlphaBar == 1)
        #expect(zip(schedule.alphaBar, schedule.alphaBar.dropFirst()).allSatisfy { $0 > $1 })
    }

    /// A schedule whose ᾱ falls to 0 (float32) would make x̂₀ infinite, and the sampler's NaN
    /// check would blame the model: it is the config's field that is named.
    @Test func alphaBarThatVanishesNamesTheField() throws {
        for (json, field) in [
            (#"{"beta_end": 0.999}"#, "beta_end"),
            (#"{"num_train_timesteps": 3, "trained_betas": [0.9999999, 0.9999999, 0.9999999]}"#, "trained_betas"),
        ] {
            let config = try SchedulerConfig.decode(Data(json.utf8))
            let e = #expect(throws: SchedulerConfigError.self) { try NoiseSchedule(config: config) }
            #expect(e?.field == field, "\(json)")
            #expect("\(e.map { "\($0)" } ?? "")".contains("below 1e-20"), "\(json)")
        }
        // the cosine schedule at the largest T accepted stays above the floor, as do SD's betas
        for json in [#"{"beta_schedule": "squaredcos_cap_v2", "num_train_timesteps": 100000}"#,
                     #"{"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012}"#] {
            let schedule = try NoiseSchedule(config: SchedulerConfig.decode(Data(json.utf8)))
            #expect(schedule.alphaBar.allSatisfy { $0 >= NoiseSchedule.minAlphaBar }, "\(json)")
        }
    }

    @Test func unsupportedValuesNameTheField() throws {
        for (json, field, value) in [
            (#"{"beta_schedule": "foo"}"#, "beta_schedule", "foo"),
            (#"{"prediction_type": "x"}"#, "prediction_type", "x"),
            (#"{"timestep_spacing": "cosine"}"#, "timestep_spacing", "cosine"),
            (#"{"rescale_betas_zero_snr": true}"#, "rescale_betas_zero_snr", "true"),
        ] {
            do {
                _ = try SchedulerConfig.decode(Data(json.utf8))
                Issue.record("\(json) decoded")
            } catch let error as SchedulerConfigError {
                #expect(error.field == field)
                let message = "\(error)"
                #expect(message.contains(field) && message.contains(value) && message.contains("supported"), "\(message)")
            }
        }
        do {
            _ = try SchedulerConfig.decode(Data(#"{"beta_schedule": "foo"}"#.utf8))
        } catch {
            #expect("\(error)".contains("linear, scaled_linear, squaredcos_cap_v2"))
        }
    }

    @Test func invalidValuesNameTheField() throws {
        for (json, field) in [
            (#"{"num_train_timesteps": 0}"#, "num_train_timesteps"),
            (#"{"num_train_timesteps": 3, "trained_betas": [0.1, 0.2]}"#, "trained_betas"),
            (#"{"beta_start": "small"}"#, "beta_start"),
            (#"{"clip_sample": 3}"#, "clip_sample"),
        ] {
            #expect {
                _ = try SchedulerConfig.decode(Data(json.utf8))
            } throws: { error in
                (error as? SchedulerConfigError)?.field == field && "\(error)".contains(field)
            }
        }
    }

    @Test func loadNamesTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sampling-tests-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("scheduler_config.json")
        try Data(#"{"prediction_type": "x"}"#.utf8).write(to: url)
        #expect {
            _ = try SchedulerConfig.load(from: url)
        } throws: { error in
            "\(error)".contains(url.path) && "\(error)".contains("prediction_type")
        }
        #expect {
            _ = try SchedulerConfig.load(from: dir.appendingPathComponent("missing.json"))
        } throws: { error in
            "\(error)".contains("missing.json")
        }
        try Data("not json".utf8).write(to: url)
        #expect {
            _ = try SchedulerConfig.load(from: url)
        } throws: { error in
            "\(error)".contains(url.path)
        }
    }
}
