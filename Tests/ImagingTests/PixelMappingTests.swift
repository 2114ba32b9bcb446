import Imaging
import Testing

/// The [−1, 1] ↔ byte mapping against diffusers' `numpy_to_pil` (float32, numpy round-half-even).
struct PixelMappingTests {
    @Test func edgeValues() {
        #expect(RGBImage.byte(fromSigned: -1) == 0)
        #expect(RGBImage.byte(fromSigned: 1) == 255)
        #expect(RGBImage.byte(fromSigned: 0) == 128)  // 127.5 → 128 (even)
        #expect(RGBImage.byte(fromSigned: -3) == 0)
        #expect(RGBImage.byte(fromSigned: 7) == 255)
        #expect(RGBImage.byte(fromSigned: .nan) == 0)
        #expect(RGBImage.byte(fromSigned: .infinity) == 255)
        #expect(RGBImage.byte(fromSigned: -.infinity) == 0)
    }

    /// A float x whose `(x / 2 + 0.5) * 255` is exactly `k + 0.5` in float32, found by walking ulps.
    func tie(_ k: Int) -> Float? {
        var x = (Float(k) + 0.5) / 127.5 - 1
        for _ in 0..<64 { x = x.nextDown }
        for _ in 0..<128 {
            if (x / 2 + 0.5) * 255 == Float(k) + 0.5 { return x }
            x = x.nextUp
        }
        return nil
    }

    @Test func halfwayTiesRoundToEven() throws {
        // numpy rounds k + 0.5 to the even neighbour. (float32 ties exist only for k ≥ 64.)
        let expected: [Int: UInt8] = [64: 64, 65: 66, 100: 100, 101: 102, 126: 126, 253: 254, 254: 254]
        for (k, byte) in expected {
            let x = try #require(tie(k), "no float32 tie found at \(k).5")
            #expect(RGBImage.byte(fromSigned: x) == byte, "tie at \(k).5")
        }
    }

    /// x (float32 bits) → byte, from numpy 2.4.6:
    /// `v = np.clip(x / np.float32(2) + np.float32(0.5), 0, 1); (v * np.float32(255)).round().astype(np.uint8)`
    /// on `np.random.default_rng(0).uniform(-1.1, 1.1, 8).astype(np.float32)`, the edges, and four ties.
    static let numpyGolden: [(UInt32, UInt8)] = [
        (0x3E9A460E, 166), (0xBF01A7F8, 63), (0xBF814309, 0), (0xBF882554, 0), (0x3F306F0D, 215),
        (0x3F6876C5, 243), (0x3E703AA5, 157), (0x3F0140A1, 192), (0x00000000, 128), (0xBF800000, 0),
        (0x3F800000, 255), (0xBE58D8DA, 100), (0xBE50D0D2, 102), (0x3F7CFCFB, 254), (0x3F7EFEFE, 254),
    ]

    @Test func matchesNumpy() {
        for (bits, byte) in Self.numpyGolden {
            #expect(RGBImage.byte(fromSigned: Float(bitPattern: bits)) == byte, "x = \(Float(bitPattern: bits))")
        }
    }

    @Test func bytesSurviveTheRoundTrip() {
        for p in 0...255 {
            let x = RGBImage.signed(fromByte: UInt8(p))
            #expect(RGBImage.byte(fromSigned: x) == UInt8(p))
        }
        #expect(RGBImage.signed(fromByte: 0) == -1)
        #expect(RGBImage.signed(fromByte: 255) == 1)
    }

    @Test func chwIsInterleavedRowMajor() throws {
        // 3 channels × 1 row × 2 columns: R = [-1, 1], G = [0, 0], B = [1, -1].
        let chw: [Float] = [-1, 1, 0, 0, 1, -1]
        let image = try RGBImage(chw: chw, channels: 3, height: 1, width: 2)
        #expect(image.pixels == [0, 128, 255, 255, 128, 0])
        #expect(image[1, 0, 0] == 255)
        #expect(image.chwFloats() == [-1, 1, RGBImage.signed(fromByte: 128), RGBImage.signed(fromByte: 128), 1, -1])
    }

    @Test func batchSplitsSamples() throws {
        let nchw: [Float] = [-1, 1, 0, 0, 1, -1]  // 3 samples of 1×1×2
        let images = try nchw.withUnsafeBufferPointer { buffer throws(ImagingError) in
            try RGBImage.batch(nchw: buffer, count: 3, channels: 1, height: 1, width: 2)
        }
        #expect(images.map(\.pixels) == [[0, 255], [128, 128], [255, 0]])
        #expect(throws: ImagingError.self) {
            try nchw.withUnsafeBufferPointer { buffer throws(ImagingError) in
                try RGBImage.batch(nchw: buffer, count: 2, channels: 1, height: 1, width: 2)
            }
        }
    }

    @Test func greyChwAndConversions() throws {
        let image = try RGBImage(chw: [-1, 0, 1, 0.5], channels: 1, height: 2, width: 2)
        #expect(image.pixels == [0, 128, 255, 191])  // 0.75 · 255 = 191.25 → 191
        let rgb = try image.converted(toChannels: 3)
        #expect(rgb.pixels == [0, 0, 0, 128, 128, 128, 255, 255, 255, 191, 191, 191])
        #expect(try rgb.converted(toChannels: 1) == image)
    }

    @Test func shapeMismatchesThrow() {
        #expect(throws: ImagingError.self) { try RGBImage(chw: [0, 0, 0], channels: 1, height: 2, width: 2) }
        #expect(throws: ImagingError.self) { try RGBImage(chw: [Float](repeating: 0, count: 16), channels: 4, height: 2, width: 2) }
        #expect(throws: ImagingError.self) { try RGBImage(width: 2, height: 2, channels: 3, pixels: [1, 2, 3]) }
    }
}
