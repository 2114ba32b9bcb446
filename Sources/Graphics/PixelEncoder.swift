import Preview

/// One entry point for the TUI and `ddim sample --preview`: the bytes that draw a picture in a
/// rectangle of cells whose top-left cell is where the cursor is.
///
/// Sizes, for a rectangle of `columns` × `rows` cells of `cellWidth` × `cellHeight` pixels
/// (W × H pixels):
/// - kitty and iTerm2 scale the picture to the rectangle themselves, so it is sent at
///   ``PixelFit/fittedSize(width:height:maxWidth:maxHeight:)``: its own size times the largest
///   integer factor within W × H (nearest-neighbour, so a 32×32 digit stays crisp when the
///   terminal filters it up), each side capped at W or H (a big picture is downscaled to it);
/// - sixel is drawn pixel for pixel, so it is scaled to exactly W × H: it fills the tile and
///   never spills past it.
public struct PixelEncoder: Sendable {
    /// Which protocol to speak; ``GraphicsProtocol/blocks`` draws nothing here (`encode` gives []).
    public var graphics: GraphicsProtocol
    /// Pixels per cell, across (the terminal's answer, or a default such as 10).
    public var cellWidth: Int
    /// Pixels per cell, down (the terminal's answer, or a default such as 20).
    public var cellHeight: Int
    /// Wrap every sequence in tmux's passthrough (``Passthrough/tmux(_:)``).
    public var passthrough: Bool
    /// Sixel colour registers to use, 2…256 (XTSMGRAPHICS tells; 256 until then). A grey
    /// picture with no more levels than this is sent exactly; others get a median-cut palette.
    public var sixelColors = 256
    /// The largest sixel picture the terminal shows (XTSMGRAPHICS tells; xterm's default is
    /// 1000 × 1000, a bigger one is clipped): a tile bigger than this gets a picture scaled down
    /// to fit it, in proportion, from its top-left cell. nil: no limit known.
    public var sixelMaxSize: PixelSize?
    /// How a colour picture's sixel palette is chosen (``SixelPalette``): from the picture by
    /// default; the live sampler takes the fixed cube, fast enough for every frame.
    public var sixelPalette: SixelPalette = .fromPicture
    /// kitty pictures as virtual placements for Unicode placeholders (``KittyPlaceholder``):
    /// inside tmux, where text cells carry the picture through tmux's own redraws.
    public var kittyPlaceholders = false

    /// An encoder for `graphics` with cells of `cellWidth` × `cellHeight` pixels (values below 1
    /// are taken as 1 when encoding).
    public init(graphics: GraphicsProtocol, cellWidth: Int, cellHeight: Int, passthrough: Bool = false) {
        self.graphics = graphics
        self.cellWidth = cellWidth
        self.cellHeight = cellHeight
        self.passthrough = passthrough
    }

    /// The rectangle's size in pixels: `columns` × `cellWidth` by `rows` × `cellHeight`, each
    /// factor at least 1. Throws ``GraphicsError/tooLarge(width:height:limit:)`` past
    /// ``PixelFit/maxSide``.
    public func tilePixels(columns: Int, rows: Int) throws(GraphicsError) -> (width: Int, height: Int) {
        let (width, o1) = max(columns, 1).multipliedReportingOverflow(by: max(cellWidth, 1))
        let (height, o2) = max(rows, 1).multipliedReportingOverflow(by: max(cellHeight, 1))
        guard !o1, !o2 else {
            throw .tooLarge(width: o1 ? Int.max : width, height: o2 ? Int.max : height, limit: PixelFit.maxSide)
        }
        try PixelFit.checkSize(width: width, height: height)
        return (width, height)
    }

    /// The size in pixels a `width` × `height` picture is sent at for a `columns` × `rows` tile
    /// (see the type's notes); nil for ``GraphicsProtocol/blocks``.
    public func sentSize(
        width: Int, height: Int, columns: Int, rows: Int
    ) throws(GraphicsError) -> (width: Int, height: Int)? {
        let tile = try tilePixels(columns: columns, rows: rows)
        switch graphics {
        case .kitty, .iterm:
            return PixelFit.fittedSize(width: width, height: height, maxWidth: tile.width, maxHeight: tile.height)
        case .sixel:
            guard let limit = sixelMaxSize, limit.width > 0, limit.height > 0,
                  tile.width > limit.width || tile.height > limit.height else { return tile }
            // s = min(W_max / W, H_max / H) < 1, the same factor on both sides
            let s = min(Double(limit.width) / Double(tile.width), Double(limit.height) / Double(tile.height))
            return (max(1, Int(Double(tile.width) * s)), max(1, Int(Double(tile.height) * s)))
        case .blocks:
            return nil
        }
    }

    /// Bytes drawing `bitmap` (grey via `colormap`) fitted to `columns` × `rows` cells: kitty as
    /// image `id` (placement 1, replacing an earlier picture of that id), sixel at the tile's
    /// exact pixel size, iTerm2 sized in cells; [] for blocks. Wrapped for tmux when
    /// ``passthrough`` is set. `columns` and `rows` below 1 are taken as 1.
    public func encode(
        _ bitmap: Bitmap, colormap: Colormap, columns: Int, rows: Int, id: UInt32
    ) throws(GraphicsError) -> [UInt8] {
        guard let size = try sentSize(width: bitmap.width, height: bitmap.height, columns: columns, rows: rows)
        else { return [] }
        let columns = max(columns, 1), rows = max(rows, 1)
        // Scale first, colour second: the colour lookup then runs once per sent pixel, and an
        // upscaled grey picture is copied one byte per pixel instead of three.
        let scaled = PixelFit.scaled(bitmap, width: size.width, height: size.height)
        let bytes: [UInt8]
        switch graphics {
        case .kitty:
            let rgb = PixelFit.rgb(scaled, colormap: colormap)
            bytes = KittyGraphics.place(rgb, imageID: id, columns: columns, rows: rows, virtual: kittyPlaceholders)
        case .sixel:
            // A grey picture keeps its levels: SixelImage indexes them with the map's colours.
            bytes = scaled.channels == 3
                ? try SixelImage.encode(scaled, colors: sixelColors, palette: sixelPalette)
                : try SixelImage.encode(scaled, colormap: colormap, colors: sixelColors)
        case .iterm:
            let rgb = PixelFit.rgb(scaled, colormap: colormap)
            bytes = try ITermImage.inline(rgb, columns: columns, rows: rows)
        case .blocks:
            return []
        }
        return passthrough ? Passthrough.tmux(bytes) : bytes
    }

    /// Bytes removing image `id` where the protocol can (kitty: the image and its data); []
    /// otherwise (a sixel or iTerm2 picture is text-cell content, gone when the cells are redrawn).
    public func delete(id: UInt32) -> [UInt8] {
        guard graphics == .kitty else { return [] }
        let bytes = KittyGraphics.delete(imageID: id)
        return passthrough ? Passthrough.tmux(bytes) : bytes
    }
}

// MARK: - Errors

/// What can go wrong while encoding a picture for a pixel protocol; each message is one line.
public enum GraphicsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A picture or tile of `width` × `height` pixels, past `limit` on a side.
    case tooLarge(width: Int, height: Int, limit: Int)
    /// libsixel failed with `status` (its SIXELSTATUS) and `message`.
    case sixel(status: Int, message: String)
    /// The PNG for an iTerm2 inline image could not be made.
    case png(reason: String)

    /// A one-line message naming what failed.
    public var description: String {
        switch self {
        case .tooLarge(let width, let height, let limit):
            let w = width == Int.max ? "overflowing" : "\(width)"
            let h = height == Int.max ? "overflowing" : "\(height)"
            return "picture of \(w)×\(h) pixels is too large for the terminal (at most \(limit) per side)"
        case .sixel(let status, let message):
            return "libsixel failed (status 0x\(String(status, radix: 16))): \(message)"
        case .png(let reason):
            return "cannot make the iTerm2 inline image's PNG: \(reason)"
        }
    }
}
