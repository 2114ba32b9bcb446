import Engine
import Foundation
import Testing

@Suite("The embedded digits model")
struct DefaultModelTests {
    /// Found beside the executable (the test binary shares its folder), from any working folder.
    @Test("loads from the build's resource bundle")
    func loads() throws {
        let model = try ModelStore.loadDefault()
        #expect(model.name == "digits")
        #expect(model.sampleShape() == [1, 32, 32])
        #expect(model.unet.parameterCount > 100_000)
    }

    /// A seeded 10-step run equals diffusers' DDIMPipeline on the same weights (F16 stored, run
    /// in float32 by both), η = 0 and 1, within 1e-3 (a quarter of an 8-bit level).
    @Test("seeded samples equal diffusers' DDIMPipeline")
    func parity() throws {
        try expectParity(try ModelStore.loadDefault(), goldens: fixtures.appendingPathComponent("default_model"), tolerance: 1e-3)
    }
}
