import Preview
import Testing

struct ColormapTests {
    @Test func endpoints() {
        #expect(Colormap.grey.apply(0) == RGB(grey: 0))
        #expect(Colormap.grey.apply(77) == RGB(grey: 77))
        #expect(Colormap.grey.apply(255) == RGB(grey: 255))
        #expect(Colormap.viridis.apply(0) == RGB(hex: 0x440154))
        #expect(Colormap.viridis.apply(255) == RGB(hex: 0xFDE725))
        #expect(Colormap.magma.apply(0) == RGB(hex: 0x000004))
        #expect(Colormap.magma.apply(255) == RGB(hex: 0xFCFDBF))
        #expect(Colormap.viridis.apply(unit: 0.5) == RGB(hex: 0x21918C))
        #expect(Colormap.magma.apply(unit: -1) == Colormap.magma.apply(0))
        #expect(Colormap.magma.apply(unit: 2) == Colormap.magma.apply(255))
    }

    @Test(arguments: Colormap.allCases)
    func lumaRisesAlongTheMap(_ map: Colormap) {
        let lumas = (0...255).map { map.apply(UInt8($0)).luma }
        for i in 1..<lumas.count { #expect(lumas[i] >= lumas[i - 1] - 0.5, "\(map) at \(i)") }
        #expect(lumas[255] - lumas[0] > 150)
    }
}
