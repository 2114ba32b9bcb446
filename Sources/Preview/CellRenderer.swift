/// Turns a picture into terminal cells: resample (``Resampler``), fit each cell (a glyph and two
/// colours), quantise the colours (``ColorQuantizer``).
///
/// Per blitter, in the colour modes:
/// - ``Blitter/half``: `▀`, fg = top pixel, bg = bottom pixel.
/// - ``Blitter/quadrant`` and ``Blitter/sextant``: the least-squares fit, as chafa and notcurses
///   do. Each glyph splits the cell's n pixels into an ink set and a background set; for a split
///   the best colours are each set's mean and the error is Σ|p − mean|². Every split is tried
///   (2ⁿ⁻¹ of them, since a split and its complement give the same colour pair: 8 for
///   quadrants, 32 for sextants) using error = Σ|p|² − |S_ink|²/k − |S_bg|²/(n − k), where S is
///   a set's sum and k its size, and the least error wins.
/// - ``Blitter/braille``: the dots brighter than the cell's mean luma are lit; fg = their mean,
///   bg = the mean of the rest. (A dot covers far less than 1/8 of a cell, so the least-squares
///   model does not fit braille; measured on 4800-cell frames the threshold is ~20× faster, 0.3
///   against 6 ms, with equal error on two-level and smooth pictures.)
/// - ``Blitter/ascii``: the ramp glyph for the pixel's luma, in the pixel's colour, on black.
///
/// The ink is always the brighter of the two sets (BT.601 luma), so a cell white on top and
/// black below is `▀` white on black. After quantisation, a cell whose fg and bg became the
/// same colour is drawn as a space in that colour; so is a uniform cell.
///
/// In ``ColorMode/mono`` the glyph alone carries the picture: pixels with luma above 127.5 are
/// inked (ascii: the ramp), in the terminal's default colours (index −1).
/// One-channel pictures go through ``colormap`` after resampling (not in mono).
public struct CellRenderer: Sendable {
    /// How cells show pixels.
    public var blitter: Blitter
    /// The colours cells may use.
    public var colorMode: ColorMode
    /// The colours of one-channel pictures.
    public var colormap: Colormap

    /// A renderer with the given settings.
    public init(blitter: Blitter = .half, colorMode: ColorMode = .truecolor, colormap: Colormap = .grey) {
        self.blitter = blitter
        self.colorMode = colorMode
        self.colormap = colormap
    }

    /// `bitmap` drawn in exactly `columns` × `rows` cells (stretched if their shape differs;
    /// see ``render(_:fitting:maxRows:cellAspect:)`` for aspect-true sizing).
    public func render(_ bitmap: Bitmap, columns: Int, rows: Int) -> CellImage {
        let columns = max(columns, 1), rows = max(rows, 1)
        let grid = Resampler.boxAverage(
            bitmap, width: columns * blitter.cellWidth, height: rows * blitter.cellHeight)
        return render(grid, columns: columns, rows: rows)
    }

    /// `bitmap` at the largest aspect-true size within `maxColumns` × `maxRows` cells
    /// (``CellGeometry/fit(sourceWidth:sourceHeight:maxColumns:maxRows:blitter:cellAspect:)``).
    public func render(
        _ bitmap: Bitmap, fitting maxColumns: Int, maxRows: Int,
        cellAspect: Double = CellGeometry.defaultCellAspect
    ) -> CellImage {
        let geometry = CellGeometry.fit(
            sourceWidth: bitmap.width, sourceHeight: bitmap.height, maxColumns: maxColumns,
            maxRows: maxRows, blitter: blitter, cellAspect: cellAspect)
        return render(bitmap, columns: geometry.columns, rows: geometry.rows)
    }

    /// A grid already at the blitter's resolution (`columns × cellWidth` by `rows × cellHeight`).
    public func render(_ grid: PixelGrid, columns: Int, rows: Int) -> CellImage {
        precondition(
            grid.width == columns * blitter.cellWidth && grid.height == rows * blitter.cellHeight,
            "CellRenderer: a \(grid.width)×\(grid.height) grid is not \(columns)×\(rows) \(blitter) cells")
        let quantizer = ColorQuantizer(mode: colorMode)
        let cw = blitter.cellWidth, ch = blitter.cellHeight
        let map = colorMode == .mono ? Colormap.grey : colormap
        var cells: [Cell] = []
        cells.reserveCapacity(columns * rows)
        withUnsafeTemporaryAllocation(of: SIMD3<Float>.self, capacity: cw * ch) { pixels in
            for row in 0..<rows {
                for column in 0..<columns {
                    for dy in 0..<ch {
                        for dx in 0..<cw {
                            pixels[dy * cw + dx] = grid.color(x: column * cw + dx, y: row * ch + dy, colormap: map)
                        }
                    }
                    cells.append(cell(UnsafeBufferPointer(pixels), quantizer: quantizer))
                }
            }
        }
        return CellImage(columns: columns, rows: rows, cells: cells, colorMode: colorMode)
    }

    /// One cell from its pixels (row-major, `cellWidth × cellHeight`).
    private func cell(_ pixels: UnsafeBufferPointer<SIMD3<Float>>, quantizer: ColorQuantizer) -> Cell {
        if colorMode == .mono {
            let glyph: Unicode.Scalar
            if blitter == .ascii {
                glyph = Blitter.asciiGlyph(luma: RGB.luma(pixels[0]))
            } else {
                glyph = blitter.glyph(mask: CellFitter.mask(pixels, above: 127.5))
            }
            return Cell(glyph: glyph, fg: .white, bg: .black, fgIndex: -1, bgIndex: -1)
        }
        let glyph: Unicode.Scalar, fg: SIMD3<Float>, bg: SIMD3<Float>
        switch blitter {
        case .half:
            (glyph, fg, bg) = ("▀", pixels[0], pixels[1])
        case .ascii:
            (glyph, fg, bg) = (Blitter.asciiGlyph(luma: RGB.luma(pixels[0])), pixels[0], .zero)
        case .quadrant, .sextant:
            let fit = CellFitter.exhaustive(pixels)
            (glyph, fg, bg) = (blitter.glyph(mask: fit.mask), fit.fg, fit.bg)
        case .braille:
            let fit = CellFitter.lumaThreshold(pixels)
            (glyph, fg, bg) = (blitter.glyph(mask: fit.mask), fit.fg, fit.bg)
        }
        let ink = quantizer.quantize(RGB(fg)), paper = quantizer.quantize(RGB(bg))
        if ink.index == paper.index || glyph == " " {
            return Cell(glyph: " ", fg: paper.rgb, bg: paper.rgb, fgIndex: paper.index, bgIndex: paper.index)
        }
        return Cell(glyph: glyph, fg: ink.rgb, bg: paper.rgb, fgIndex: ink.index, bgIndex: paper.index)
    }
}
