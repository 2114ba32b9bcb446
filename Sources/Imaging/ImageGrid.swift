/// Lays several images out as one: a grid (for a batch) or a horizontal strip (for an
/// interpolation), like torchvision's `make_grid`.
///
/// Every tile gets a cell the size of the largest image; a smaller image sits centred in its
/// cell. `padding` pixels of `background` separate the cells and frame the whole grid. If any
/// image is RGB the result is RGB (grey images are repeated into three channels).
public enum ImageGrid {
    /// The column count used when none is given: ⌈√n⌉, so 4 → 2×2, 5 → 3 columns × 2 rows.
    public static func defaultColumns(for count: Int) -> Int {
        guard count > 1 else { return 1 }
        var columns = Int(Double(count).squareRoot().rounded(.down))
        while columns * columns < count { columns += 1 }
        return columns
    }

    /// One image holding `images` in row-major order, `columns` per row
    /// (default ``defaultColumns(for:)``; capped at the image count).
    ///
    /// - Parameters:
    ///   - padding: pixels between cells and around the edge (≥ 0).
    ///   - background: the sample value of the padding and of any empty cell (mid grey by default).
    public static func compose(
        _ images: [RGBImage], columns: Int? = nil, padding: Int = 2, background: UInt8 = 128
    ) throws(ImagingError) -> RGBImage {
        guard !images.isEmpty else { throw .invalidLayout(reason: "no images to lay out") }
        guard padding >= 0 else { throw .invalidLayout(reason: "negative padding \(padding)") }
        let requested = columns ?? defaultColumns(for: images.count)
        guard requested >= 1 else { throw .invalidLayout(reason: "\(requested) columns; need at least 1") }
        let layout = Layout(images: images, columns: min(requested, images.count), padding: padding)

        var grid = try RGBImage(
            width: layout.width, height: layout.height, channels: layout.channels, repeating: background)
        for (index, image) in images.enumerated() {
            let tile = try image.converted(toChannels: layout.channels)
            let origin = layout.origin(of: index, width: image.width, height: image.height)
            grid.paste(tile, x: origin.x, y: origin.y)
        }
        return grid
    }

    /// One row of all `images`, left to right; see ``compose(_:columns:padding:background:)``.
    public static func strip(
        _ images: [RGBImage], padding: Int = 2, background: UInt8 = 128
    ) throws(ImagingError) -> RGBImage {
        try compose(images, columns: max(images.count, 1), padding: padding, background: background)
    }

    /// Where tile `index` of a grid of `columns` columns and `cellWidth`×`cellHeight` cells
    /// starts (its top-left pixel, before centring a smaller image in the cell).
    public static func cellOrigin(
        index: Int, columns: Int, cellWidth: Int, cellHeight: Int, padding: Int
    ) -> (x: Int, y: Int) {
        let column = index % columns, row = index / columns
        return (padding + column * (cellWidth + padding), padding + row * (cellHeight + padding))
    }

    /// The geometry of one grid.
    private struct Layout {
        let columns: Int, rows: Int, padding: Int
        let cellWidth: Int, cellHeight: Int, channels: Int

        init(images: [RGBImage], columns: Int, padding: Int) {
            self.columns = columns
            self.rows = (images.count + columns - 1) / columns
            self.padding = padding
            self.cellWidth = images.map(\.width).max() ?? 0
            self.cellHeight = images.map(\.height).max() ?? 0
            self.channels = images.map(\.channels).max() ?? 1
        }

        var width: Int { columns * cellWidth + (columns + 1) * padding }
        var height: Int { rows * cellHeight + (rows + 1) * padding }

        func origin(of index: Int, width: Int, height: Int) -> (x: Int, y: Int) {
            let cell = ImageGrid.cellOrigin(
                index: index, columns: columns, cellWidth: cellWidth, cellHeight: cellHeight, padding: padding)
            return (cell.x + (cellWidth - width) / 2, cell.y + (cellHeight - height) / 2)
        }
    }
}

extension RGBImage {
    /// Copies `tile` (same channel count) with its top-left corner at `(x, y)`; the tile must fit.
    fileprivate mutating func paste(_ tile: RGBImage, x: Int, y: Int) {
        let rowBytes = tile.width * channels
        pixels.withUnsafeMutableBufferPointer { dst in
            tile.pixels.withUnsafeBufferPointer { src in
                for row in 0..<tile.height {
                    let d = ((y + row) * width + x) * channels
                    for i in 0..<rowBytes { dst[d + i] = src[row * rowBytes + i] }
                }
            }
        }
    }
}
