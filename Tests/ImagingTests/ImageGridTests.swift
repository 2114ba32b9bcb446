import Imaging
import Testing

struct ImageGridTests {
    /// A grey `width`×`height` image filled with `value`.
    func tile(_ value: UInt8, width: Int = 3, height: Int = 2) throws -> RGBImage {
        try RGBImage(width: width, height: height, channels: 1, repeating: value)
    }

    @Test func defaultColumnsIsCeilSqrt() {
        #expect([1, 2, 3, 4, 5, 9, 10, 16, 17].map(ImageGrid.defaultColumns(for:)) == [1, 2, 2, 2, 3, 3, 4, 4, 5])
    }

    @Test func tilesLandInRowMajorCells() throws {
        let images = try (1...5).map { try tile(UInt8($0 * 10)) }
        let grid = try ImageGrid.compose(images, padding: 1, background: 7)
        // 3 columns × 2 rows of 3×2 tiles, 1 pixel of padding between and around.
        #expect(grid.width == 3 * 3 + 4 * 1)
        #expect(grid.height == 2 * 2 + 3 * 1)
        #expect(grid.channels == 1)
        for (index, value) in [10, 20, 30, 40, 50].enumerated() {
            let origin = ImageGrid.cellOrigin(index: index, columns: 3, cellWidth: 3, cellHeight: 2, padding: 1)
            #expect(origin == (1 + (index % 3) * 4, 1 + (index / 3) * 3))
            #expect(grid[origin.x, origin.y, 0] == UInt8(value))
            #expect(grid[origin.x + 2, origin.y + 1, 0] == UInt8(value))
        }
        #expect(grid[0, 0, 0] == 7)  // frame
        #expect(grid[4, 1, 0] == 7)  // between columns 0 and 1
        #expect(grid[9, 4, 0] == 7)  // the empty sixth cell
    }

    @Test func explicitColumnsAndStrip() throws {
        let images = try (1...3).map { try tile(UInt8($0)) }
        let column = try ImageGrid.compose(images, columns: 1, padding: 0)
        #expect((column.width, column.height) == (3, 6))
        #expect(column[0, 4, 0] == 3)
        let strip = try ImageGrid.strip(images, padding: 2)
        #expect((strip.width, strip.height) == (3 * 3 + 4 * 2, 2 + 2 * 2))
        #expect(strip[2 + 2 * 5, 2, 0] == 3)
        #expect(strip[0, 0, 0] == 128)  // neutral grey by default
    }

    @Test func mixedSizesAndChannels() throws {
        let small = try tile(200, width: 1, height: 1)
        let rgb = try RGBImage(width: 3, height: 3, channels: 3, pixels: [UInt8](repeating: 9, count: 27))
        let grid = try ImageGrid.compose([small, rgb], padding: 0, background: 0)
        #expect((grid.width, grid.height, grid.channels) == (6, 3, 3))
        #expect(grid[1, 1, 0] == 200 && grid[1, 1, 2] == 200)  // centred in its 3×3 cell
        #expect(grid[0, 0, 1] == 0)
        #expect(grid[4, 2, 1] == 9)
    }

    @Test func badLayoutsThrow() throws {
        #expect(throws: ImagingError.self) { try ImageGrid.compose([]) }
        #expect(throws: ImagingError.self) { try ImageGrid.compose([try tile(1)], columns: 0) }
        #expect(throws: ImagingError.self) { try ImageGrid.compose([try tile(1)], padding: -1) }
    }
}
