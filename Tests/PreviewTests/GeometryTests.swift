import Preview
import Testing

struct GeometryTests {
    @Test func squareImageFitsTheShorterSide() {
        let a = CellGeometry.fit(sourceWidth: 32, sourceHeight: 32, maxColumns: 80, maxRows: 24, blitter: .half)
        #expect((a.columns, a.rows) == (48, 24))
        #expect((a.pixelWidth, a.pixelHeight) == (48, 48))  // half blocks: square pixels
        let b = CellGeometry.fit(sourceWidth: 32, sourceHeight: 32, maxColumns: 40, maxRows: 40, blitter: .half)
        #expect((b.columns, b.rows) == (40, 20))
    }

    @Test func otherShapesAndBlitters() {
        let wide = CellGeometry.fit(sourceWidth: 64, sourceHeight: 32, maxColumns: 80, maxRows: 24, blitter: .quadrant)
        #expect((wide.columns, wide.rows) == (80, 20))
        #expect((wide.pixelWidth, wide.pixelHeight) == (160, 40))  // quadrant pixels are 1:2
        let sextant = CellGeometry.fit(sourceWidth: 32, sourceHeight: 32, maxColumns: 30, maxRows: 30, blitter: .sextant)
        #expect((sextant.columns, sextant.rows) == (30, 15))
        #expect((sextant.pixelWidth, sextant.pixelHeight) == (60, 45))  // 3:4 pixels: 60·1/2 = 30, 45·2/3 = 30
        let tall = CellGeometry.fit(sourceWidth: 1, sourceHeight: 100, maxColumns: 80, maxRows: 10, blitter: .braille)
        #expect((tall.columns, tall.rows) == (1, 10))
        let square = CellGeometry.fit(sourceWidth: 10, sourceHeight: 10, maxColumns: 20, maxRows: 20, blitter: .half, cellAspect: 1)
        #expect((square.columns, square.rows) == (20, 20))
        let tiny = CellGeometry.fit(sourceWidth: 100, sourceHeight: 1, maxColumns: 0, maxRows: 0, blitter: .ascii)
        #expect((tiny.columns, tiny.rows) == (1, 1))
    }

    @Test func renderFittingUsesTheGeometry() {
        let bitmap = Bitmap(width: 32, height: 16, channels: 1, pixels: [UInt8](repeating: 60, count: 512))
        let image = CellRenderer(blitter: .braille).render(bitmap, fitting: 100, maxRows: 10)
        #expect((image.columns, image.rows) == (40, 10))
        #expect(image.cells.allSatisfy { $0.glyph == " " && $0.bg == RGB(grey: 60) })
    }

    @Test func boxAverageDownscale() {
        // 4×2 grey → 2×1: each output pixel averages a 2×2 block.
        let bitmap = Bitmap(width: 4, height: 2, channels: 1, pixels: [0, 100, 10, 20, 200, 100, 30, 40])
        let grid = Resampler.boxAverage(bitmap, width: 2, height: 1)
        #expect(grid.samples == [100, 25])
    }

    @Test func boxAverageFractionalAndUpscale() {
        // 3 → 2: weights (1, ½) and (½, 1), over 1.5 source pixels each.
        let row = Bitmap(width: 3, height: 1, channels: 1, pixels: [0, 90, 180])
        let down = Resampler.boxAverage(row, width: 2, height: 1).samples
        #expect(abs(down[0] - 30) < 1e-4 && abs(down[1] - 150) < 1e-4)
        // 1 → 3: the pixel repeats.
        let one = Bitmap(width: 1, height: 1, colors: [RGB(1, 2, 3)])
        let up = Resampler.boxAverage(one, width: 3, height: 2)
        #expect(up.samples == [Float]([1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]))
        // 2 → 4 duplicates each source pixel.
        let pair = Bitmap(width: 2, height: 1, channels: 1, pixels: [10, 50])
        #expect(Resampler.boxAverage(pair, width: 4, height: 1).samples == [10, 10, 50, 50])
    }

    @Test func renderPipelineOnABiggerPicture() {
        // A 16×16 image, left half white, right half black: the edge falls between cells.
        var pixels = [UInt8](repeating: 0, count: 256)
        for y in 0..<16 { for x in 0..<8 { pixels[y * 16 + x] = 255 } }
        let bitmap = Bitmap(width: 16, height: 16, channels: 1, pixels: pixels)
        let image = CellRenderer(blitter: .quadrant).render(bitmap, columns: 4, rows: 2)
        #expect(image.text == "    \n    ")
        #expect(image[0, 0].bg == .white && image[3, 1].bg == .black)
        // Odd split: 5 columns over 16 pixels puts the edge inside the middle cell.
        let odd = CellRenderer(blitter: .quadrant).render(bitmap, columns: 5, rows: 1)
        #expect(odd[2, 0].glyph == "▌")
    }
}
