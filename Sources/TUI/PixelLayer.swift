import Graphics
import Preview

/// The pictures a pixel protocol (kitty graphics, sixel, iTerm2) shows over the text layer: what
/// is on screen, what a frame asks for, and so which pictures to send, which to delete, and when
/// the screen must be cleared first. Pure (no terminal, no encoding): `Terminal` encodes and
/// writes what ``plan(partial:)`` says, after ncurses' frame and the direct cells.
///
/// The rules, per protocol:
/// - a picture is sent only when it changed (its pixels, colour map or place): an unchanged tile
///   costs nothing, not even an encoding;
/// - kitty: each tile is an image id; a changed picture is sent again under the same id and
///   placement, which replaces it in place (or moves it); a tile that went away is deleted by
///   its id; switching to another protocol deletes them all;
/// - sixel and iTerm2 pictures are pixels in the cells, with no id: a new picture overdraws the
///   old one in the same place, but a picture that went away or moved would stay behind, so then
///   the text layer clears the whole screen (and repaints it) and every picture is sent again.
///   The same after switching away from them.
///
/// The text layer holds the cells beneath each picture unchanged from frame to frame (the tile's
/// background), so ncurses never writes over it; a frame that clears or repaints the screen
/// (``forgetScreen()``) has every picture sent again.
public struct PixelLayer: Sendable {
    /// One picture in a rectangle of cells.
    public struct Placement: Equatable, Sendable {
        /// Where: the cells the picture fills.
        public var rect: CellRect
        /// What: the picture at its own size (grey through ``colormap``).
        public var bitmap: Bitmap
        /// The colours of a one-channel picture.
        public var colormap: Colormap

        /// A placement.
        public init(rect: CellRect, bitmap: Bitmap, colormap: Colormap) {
            (self.rect, self.bitmap, self.colormap) = (rect, bitmap, colormap)
        }
    }

    /// What one frame writes, in this order: the deletes, the clear, the pictures.
    public struct Plan: Equatable, Sendable {
        /// kitty image ids to delete (tiles that went away).
        public var deletes: [UInt32] = []
        /// Delete every kitty image (the protocol changed from kitty, or the layer was reset).
        public var deleteAll = false
        /// The text layer is to clear the screen and repaint it whole before the pictures go out
        /// (a sixel or iTerm2 picture went away or moved, or the protocol changed from one).
        public var clearScreen = false
        /// The pictures to send, by id, in id order.
        public var draws: [(id: UInt32, placement: Placement)] = []

        /// Nothing to do.
        public var isEmpty: Bool { deletes.isEmpty && !deleteAll && !clearScreen && draws.isEmpty }

        public static func == (a: Plan, b: Plan) -> Bool {
            a.deletes == b.deletes && a.deleteAll == b.deleteAll && a.clearScreen == b.clearScreen
                && a.draws.map(\.id) == b.draws.map(\.id) && a.draws.map(\.placement) == b.draws.map(\.placement)
        }
    }

    /// The protocol the pictures are drawn in (``GraphicsProtocol/blocks``: none; the layer then
    /// only cleans up after the last one).
    public private(set) var graphics: GraphicsProtocol
    /// What is on screen, by id.
    private var shown: [UInt32: Placement] = [:]
    /// What this frame asks for, by id.
    private var queued: [UInt32: Placement] = [:]
    /// Cleaning up after a protocol that was switched away from (or after a reset).
    private var pendingDeleteAll = false, pendingClear = false

    /// A layer drawing in `graphics`, with nothing on screen.
    public init(graphics: GraphicsProtocol = .blocks) {
        self.graphics = graphics
    }

    /// Whether pictures are drawn (a pixel protocol is in force).
    public var drawsPixels: Bool { graphics != .blocks }

    /// Whether any picture may be on screen now.
    public var hasPictures: Bool { !shown.isEmpty }

    /// Draws in `graphics` from the next frame: the pictures of the old protocol are cleaned up
    /// then (kitty's deleted, sixel's and iTerm2's cleared with the screen).
    public mutating func switchTo(_ graphics: GraphicsProtocol) {
        guard graphics != self.graphics else { return }
        if !shown.isEmpty {
            if self.graphics == .kitty { pendingDeleteAll = true } else { pendingClear = true }
        }
        shown.removeAll()
        queued.removeAll()
        self.graphics = graphics
    }

    /// Queues picture `id` for the next frame. Ignored while no pixel protocol is in force, and
    /// for an empty rectangle.
    public mutating func place(id: UInt32, rect: CellRect, bitmap: Bitmap, colormap: Colormap) {
        guard drawsPixels, rect.columns > 0, rect.rows > 0 else { return }
        queued[id] = Placement(rect: rect, bitmap: bitmap, colormap: colormap)
    }

    /// The text layer cleared or repainted the screen (a resize, a whole repaint): every picture
    /// queued next is sent again. kitty's images are kept by id, so the ones not queued again are
    /// still deleted.
    public mutating func forgetScreen() {
        if graphics == .kitty {
            // kept so that the next plan deletes the ones that went away; sent again as changed
            for id in shown.keys { shown[id]?.rect = CellRect(row: -1, column: -1, columns: 0, rows: 0) }
        } else {
            shown.removeAll()
        }
    }

    /// The frame's work, and the queued pictures counted as on screen from now on. A `partial`
    /// frame (one that redrew some tiles only) leaves pictures it did not queue as they are; a
    /// whole frame removes them.
    public mutating func plan(partial: Bool) -> Plan {
        var plan = Plan()
        plan.deleteAll = pendingDeleteAll
        plan.clearScreen = pendingClear
        (pendingDeleteAll, pendingClear) = (false, false)
        defer { queued.removeAll(keepingCapacity: true) }
        guard drawsPixels else { return plan }
        let gone = partial ? [] : shown.keys.filter { queued[$0] == nil }.sorted()
        if graphics == .kitty {
            plan.deletes = gone
            for id in gone { shown[id] = nil }
        } else {
            // a picture that went away or moved stays in the cells: clear, then send them all
            let moved = queued.contains { id, p in shown[id].map { $0.rect != p.rect } ?? false }
            if !gone.isEmpty || moved { plan.clearScreen = true }
            if plan.clearScreen { shown.removeAll() }
        }
        for id in queued.keys.sorted() {
            guard let placement = queued[id], shown[id] != placement else { continue }
            plan.draws.append((id, placement))
            shown[id] = placement
        }
        return plan
    }

    /// Everything on screen is to go (quitting, or the help overlay over the tiles): the next
    /// plan deletes kitty's images and clears sixel's and iTerm2's, and nothing counts as shown.
    public mutating func removeAll() {
        guard !shown.isEmpty else { return }
        if graphics == .kitty { pendingDeleteAll = true } else { pendingClear = true }
        shown.removeAll()
    }
}
