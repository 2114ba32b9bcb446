import Engine
import Foundation
import Imaging
import Sampling
import Tensors
import Testing

/// Guidance steers a model that learned something: `Tests/Fixtures/guided_toy`, trained on the CPU
/// by `scripts/train_tiny_guided.py` on a toy world of 8×8 pictures — class 0 a horizontal bar,
/// 1 a vertical bar, 2 a 3×3 square, 3 the null class (20 % of training). Its samples are told
/// apart by their bright pixels (``kind(_:)``).
@Suite("Guidance on a trained toy model")
struct GuidedToyTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/guided_toy")

    /// 0: full bright rows only; 1: full bright columns only; 2: neither, 5–13 bright pixels; nil: none of these.
    static func kind(_ image: RGBImage) -> Int? {
        let (w, h) = (image.width, image.height)
        func bright(_ x: Int, _ y: Int) -> Bool { image.pixels[(y * w + x) * image.channels] >= 128 }
        let rows = (0..<h).filter { y in (0..<w).filter { bright($0, y) }.count >= 6 }.count
        let columns = (0..<w).filter { x in (0..<h).filter { bright(x, $0) }.count >= 6 }.count
        let lit = (0..<h).reduce(0) { n, y in n + (0..<w).filter { bright($0, y) }.count }
        if rows >= 1 && columns == 0 { return 0 }
        if columns >= 1 && rows == 0 { return 1 }
        if rows == 0 && columns == 0 && (5...13).contains(lit) { return 2 }
        return nil
    }

    /// How many of 24 samples (seeds 0…23, S = 20, η = 0) are of each kind 0, 1, 2.
    func kinds(label: Int?, w: Float) throws -> [Int] {
        var m = try ModelStore.load(Self.folder)
        (m.classLabel, m.guidance) = (label, w)
        try m.checkClassLabel()
        let x = try m.sample(SampleRequest(steps: 20, noise: .eta(0), seed: 0, batch: 24)).sample
        let found = try ImageExport.images(x).map(Self.kind)
        return (0..<3).map { k in found.filter { $0 == k }.count }
    }

    @Test("unconditional (no class, or w = 0) draws every class; w = 1 and 1.5 draw the class asked for; w = 0.5 mostly")
    func steers() throws {
        let free = try kinds(label: nil, w: 1)
        #expect(free.allSatisfy { $0 >= 3 }, "unconditional: \(free)")
        for c in 0..<3 {
            #expect(try kinds(label: c, w: 0) == free, "w = 0 is the unconditional model whatever the class")
            let half = try kinds(label: c, w: 0.5)
            #expect(half[c] >= 14 && half[c] > free[c], "class \(c), w 0.5: \(half)")
            for w: Float in [1, 1.5] {
                let guided = try kinds(label: c, w: w)
                #expect(guided[c] >= 22, "class \(c), w \(w): \(guided)")
            }
        }
    }
}
