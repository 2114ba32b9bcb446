import Preview
import Testing

@Suite("Tile renderers")
struct TileRendererTests {
    /// A screen that records what is put where.
    struct Grid: TileSurface {
        var cells: [[Int]: Cell] = [:]
        mutating func put(_ cell: Cell, row: Int, column: Int) { cells[[row, column]] = cell }
    }

    @Test("the block renderer puts CellRenderer's cells into the rectangle, each once")
    func blocks() {
        let bitmap = Bitmap(width: 4, height: 4, colors: (0..<16).map { RGB(grey: UInt8($0 * 16)) })
        let cells = CellRenderer(blitter: .quadrant, colorMode: .palette256)
        let renderer: any TileRenderer = BlockTileRenderer(cells)
        #expect(renderer.colorMode == .palette256)
        var grid = Grid()
        renderer.draw(bitmap, in: CellRect(row: 5, column: 3, columns: 2, rows: 2), on: &grid)
        let expected = cells.render(bitmap, columns: 2, rows: 2)
        #expect(grid.cells.count == 4)
        for r in 0..<2 {
            for c in 0..<2 { #expect(grid.cells[[5 + r, 3 + c]] == expected[c, r]) }
        }
    }
}
