import CSixel
import Preview

/// How a colour picture's sixel palette is chosen.
public enum SixelPalette: Sendable {
    /// libsixel's median cut of the picture's own colours, with error diffusion: the best
    /// picture, at ~0.3 s for 800 × 800 pixels (`ddim sample --preview`).
    case fromPicture
    /// A fixed 6 × 7 × 6 colour cube with ordered dithering: ~50× faster, a little grainier (the
    /// live sampler's frames of colour tiles).
    case fixed
}

/// DEC sixel: a palette of at most 256 colours, the picture at its own size in pixels (the
/// terminal does not scale sixel, so the caller sizes it to the tile). Indexed pictures (grey
/// levels, the fixed cube) are written by ``SixelWriter``; the median cut is libsixel's.
///
/// Two paths:
/// - a picture of at most `colors` grey levels (a 1-channel bitmap through a ``Colormap``, or RGB
///   with r = g = b everywhere) is sent indexed: its palette is the colours of the levels it uses,
///   so nothing is quantised — no histogram, no dithering, the same bytes for the same picture —
///   and the only loss is the format's own (sixel colours are whole percentages, 2.55 levels
///   apart, so a channel is off by at most 1.3 levels);
/// - anything else gets a palette of `colors` chosen by libsixel's median cut from the picture,
///   with its automatic box split and representative colour, and error diffusion when `dither`.
///
/// libsixel 1.10 always starts with `ESC P q` (P2 = 0: the terminal first paints the raster
/// area in its background colour). The introducer is rewritten to `ESC P 0;1;0 q` (P2 = 1:
/// pixels not drawn stay as they were), which matters only for the rows below the last band.
/// libsixel 1.10 also starts a picture under 6 rows high with a graphics new line (`-`, its
/// `y != 5` test for "not the first band"), which would draw it one band too low; that `-` is
/// removed.
public enum SixelImage {
    /// DCS sixel of `rgb` at its own size through libsixel (palette ≤ `colors`, clamped to
    /// 2…256; a grey picture is sent exactly with a palette of its levels; otherwise median cut,
    /// with libsixel's automatic error diffusion when `dither`), P2 = 1 (background untouched).
    /// A 1-channel bitmap is taken as grey. libsixel's failures are thrown as
    /// ``GraphicsError/sixel(status:message:)``.
    public static func encode(_ rgb: Bitmap, colors: Int = 256, dither: Bool = true,
                              palette: SixelPalette = .fromPicture) throws(GraphicsError) -> [UInt8] {
        if rgb.channels == 1 { return try encode(rgb, colormap: .grey, colors: colors, dither: dither) }
        try PixelFit.checkSize(width: rgb.width, height: rgb.height)
        if let grey = greyLevels(rgb) {
            let levels = Bitmap(width: rgb.width, height: rgb.height, channels: 1, pixels: grey)
            return try encode(levels, colormap: .grey, colors: colors, dither: dither)
        }
        if palette == .fixed && colors >= Indexed.cubeColors {
            let cube = Indexed(cube: rgb)
            return SixelWriter.write(indices: cube.indices, palette: cube.palette, width: rgb.width, height: rgb.height)
        }
        var sink = Sink()
        let status = encodeMedianCut(rgb, colors: min(max(colors, 2), 256), dither: dither, into: &sink)
        return try finished(sink, status: status, height: rgb.height)
    }

    /// DCS sixel of the grey picture `levels` shown through `colormap`: indexed with a palette of
    /// the colours of the levels it uses when they are at most `colors` (exact up to sixel's
    /// percentages), else the coloured picture through the median cut of
    /// ``encode(_:colors:dither:)``. A 3-channel bitmap is encoded as it is, without the map.
    public static func encode(
        _ levels: Bitmap, colormap: Colormap, colors: Int = 256, dither: Bool = true
    ) throws(GraphicsError) -> [UInt8] {
        if levels.channels == 3 { return try encode(levels, colors: colors, dither: dither) }
        try PixelFit.checkSize(width: levels.width, height: levels.height)
        let colors = min(max(colors, 2), 256)
        if let indexed = Indexed(levels, colormap: colormap, colors: colors) {
            return SixelWriter.write(indices: indexed.indices, palette: indexed.palette, width: levels.width, height: levels.height)
        }
        var sink = Sink()
        let rgb = PixelFit.rgb(levels, colormap: colormap)
        let status = encodeMedianCut(rgb, colors: colors, dither: dither, into: &sink)
        return try finished(sink, status: status, height: levels.height)
    }

    /// The bytes in `sink` with the header repaired, or libsixel's error.
    private static func finished(_ sink: Sink, status: SIXELSTATUS, height: Int) throws(GraphicsError) -> [UInt8] {
        guard !failed(status) else { throw .sixel(status: Int(status), message: message(status)) }
        return repaired(sink.bytes, height: height)
    }

    /// A grey picture as palette indices: the levels it uses, in order, coloured by a map; or
    /// any picture in the fixed colour cube (``init(cube:)``).
    struct Indexed {
        /// Levels of red, green and blue in the fixed cube: 6 × 7 × 6 = 252 colours (green, to
        /// which the eye is most sensitive, gets the extra level).
        static let cubeLevels = (r: 6, g: 7, b: 6)
        static let cubeColors = 6 * 7 * 6

        /// `rgb` in the fixed 6 × 7 × 6 cube with 4 × 4 ordered (Bayer) dithering: no histogram
        /// and no search, a few operations a pixel — for live frames of big colour tiles, where
        /// libsixel's median cut and error diffusion took ~0.3 s for 800 × 800 pixels.
        init(cube rgb: Bitmap) {
            let (lr, lg, lb) = Self.cubeLevels
            var palette: [UInt8] = []
            palette.reserveCapacity(3 * Self.cubeColors)
            for r in 0..<lr {
                for g in 0..<lg {
                    for b in 0..<lb {
                        palette += [UInt8(r * 255 / (lr - 1)), UInt8(g * 255 / (lg - 1)), UInt8(b * 255 / (lb - 1))]
                    }
                }
            }
            self.palette = palette
            // Bayer's 4×4 matrix m; a channel of L levels at threshold t = (m + 0.5)/16 is
            // q = ⌊v·(L − 1)/255 + t⌋, tabulated per (m, v) with the index weight of the channel
            // folded in, so a pixel is three lookups and two additions
            let bayer: [Int] = [0, 8, 2, 10, 12, 4, 14, 6, 3, 11, 1, 9, 15, 7, 13, 5]
            func table(_ l: Int, weight: Int) -> [UInt8] {
                var t = [UInt8](repeating: 0, count: 16 * 256)
                for m in 0..<16 {
                    for v in 0..<256 {
                        let q = min(l - 1, (v * (l - 1) * 32 + (2 * m + 1) * 255) / (255 * 32))
                        t[m * 256 + v] = UInt8(q * weight)
                    }
                }
                return t
            }
            let (tr, tg, tb) = (table(lr, weight: lg * lb), table(lg, weight: lb), table(lb, weight: 1))
            var indices = [UInt8](repeating: 0, count: rgb.width * rgb.height)
            let (w, h) = (rgb.width, rgb.height)
            tr.withUnsafeBufferPointer { r in
                tg.withUnsafeBufferPointer { g in
                    tb.withUnsafeBufferPointer { b in
                        rgb.pixels.withUnsafeBufferPointer { src in
                            indices.withUnsafeMutableBufferPointer { dst in
                                for y in 0..<h {
                                    let row = (y & 3) * 4
                                    var p = 3 * y * w
                                    for x in 0..<w {
                                        let m = bayer[row + (x & 3)] << 8
                                        dst[y * w + x] = r[m + Int(src[p])] &+ g[m + Int(src[p + 1])] &+ b[m + Int(src[p + 2])]
                                        p += 3
                                    }
                                }
                            }
                        }
                    }
                }
            }
            self.indices = indices
        }

        /// One palette index per pixel.
        var indices: [UInt8]
        /// r, g, b of each palette entry.
        var palette: [UInt8]

        /// nil when `levels` uses more than `colors` grey levels.
        init?(_ levels: Bitmap, colormap: Colormap, colors: Int) {
            var used = [Bool](repeating: false, count: 256)
            for level in levels.pixels { used[Int(level)] = true }
            var index = [UInt8](repeating: 0, count: 256)
            var count = 0
            for level in 0..<256 where used[level] {
                index[level] = UInt8(truncatingIfNeeded: count)
                count += 1
            }
            guard count <= colors else { return nil }
            let table = PixelFit.colorTable(colormap)
            var palette: [UInt8] = []
            palette.reserveCapacity(3 * count)
            for level in 0..<256 where used[level] { palette += table[(3 * level)..<(3 * level + 3)] }
            self.palette = palette
            var indices = [UInt8](repeating: 0, count: levels.pixels.count)
            index.withUnsafeBufferPointer { map in
                levels.pixels.withUnsafeBufferPointer { src in
                    indices.withUnsafeMutableBufferPointer { dst in
                        for i in 0..<src.count { dst[i] = map[Int(src[i])] }
                    }
                }
            }
            self.indices = indices
        }
    }

    // MARK: - libsixel

    /// Where libsixel's output callback appends.
    struct Sink {
        var bytes: [UInt8] = []
    }

    /// The sixel of an RGB picture with a median-cut palette of `colors` built from it.
    private static func encodeMedianCut(
        _ rgb: Bitmap, colors: Int, dither diffuse: Bool, into sink: inout Sink
    ) -> SIXELSTATUS {
        var dither: OpaquePointer?
        var status = sixel_dither_new(&dither, Int32(colors), nil)
        guard !failed(status), let dither else { return failed(status) ? status : SIXEL_BAD_ALLOCATION }
        defer { sixel_dither_unref(dither) }
        // libsixel diffuses the quantisation error into the buffer it is given: hand it a copy.
        var pixels = rgb.pixels
        status = pixels.withUnsafeMutableBufferPointer { p in
            sixel_dither_initialize(
                dither, p.baseAddress, Int32(rgb.width), Int32(rgb.height), SIXEL_PIXELFORMAT_RGB888,
                SIXEL_LARGE_AUTO, SIXEL_REP_AUTO, SIXEL_QUALITY_AUTO)
        }
        guard !failed(status) else { return status }
        sixel_dither_set_diffusion_type(dither, diffuse ? SIXEL_DIFFUSE_AUTO : SIXEL_DIFFUSE_NONE)
        return write(&pixels, width: rgb.width, height: rgb.height, dither: dither, into: &sink)
    }

    /// Runs `sixel_encode` on `pixels` with an output whose callback appends to `sink`.
    private static func write(
        _ pixels: inout [UInt8], width: Int, height: Int, dither: OpaquePointer, into sink: inout Sink
    ) -> SIXELSTATUS {
        withUnsafeMutablePointer(to: &sink) { sinkPointer in
            var output: OpaquePointer?
            let callback: sixel_write_function = { data, size, context in
                guard let data, let context, size > 0 else { return 0 }
                let sink = context.assumingMemoryBound(to: Sink.self)
                data.withMemoryRebound(to: UInt8.self, capacity: Int(size)) { bytes in
                    sink.pointee.bytes.append(contentsOf: UnsafeBufferPointer(start: bytes, count: Int(size)))
                }
                return size
            }
            var status = sixel_output_new(&output, callback, UnsafeMutableRawPointer(sinkPointer), nil)
            guard !failed(status), let output else { return failed(status) ? status : SIXEL_BAD_ALLOCATION }
            defer { sixel_output_unref(output) }
            status = pixels.withUnsafeMutableBufferPointer { p in
                sixel_encode(p.baseAddress, Int32(width), Int32(height), 3, dither, output)
            }
            return status
        }
    }

    /// `SIXEL_FAILED(status)`: the failure bit 0x1000.
    private static func failed(_ status: SIXELSTATUS) -> Bool {
        status & 0x1000 != 0
    }

    /// libsixel's text for `status`, with its detail message when it left one, on one line.
    private static func message(_ status: SIXELSTATUS) -> String {
        var text = sixel_helper_format_error(status).map { String(cString: $0) } ?? "status \(status)"
        if let detail = sixel_helper_get_additional_message().map({ String(cString: $0) }), !detail.isEmpty {
            text += ": " + detail
        }
        return text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    // MARK: - Pixels and header

    /// One grey byte per pixel when every pixel of `bitmap` is grey (1 channel, or r = g = b);
    /// nil otherwise.
    static func greyLevels(_ bitmap: Bitmap) -> [UInt8]? {
        if bitmap.channels == 1 { return bitmap.pixels }
        let count = bitmap.width * bitmap.height
        var levels = [UInt8](repeating: 0, count: count)
        let grey = bitmap.pixels.withUnsafeBufferPointer { src in
            levels.withUnsafeMutableBufferPointer { dst in
                for i in 0..<count {
                    let r = src[3 * i]
                    guard src[3 * i + 1] == r, src[3 * i + 2] == r else { return false }
                    dst[i] = r
                }
                return true
            }
        }
        return grey ? levels : nil
    }

    /// `sixel` with its DCS introducer `ESC P … q` replaced by `ESC P 0;1;0 q` (P2 = 1) and, for a
    /// picture under 6 rows, the graphics new line libsixel puts before its only band removed;
    /// as it is if it does not start with a 7-bit DCS whose parameters end in `q`.
    static func repaired(_ sixel: [UInt8], height: Int) -> [UInt8] {
        guard sixel.count > 2, sixel[0] == 0x1B, sixel[1] == UInt8(ascii: "P") else { return sixel }
        var q = 2
        while q < sixel.count, sixel[q] != UInt8(ascii: "q") {
            // Only digits and ';' may stand between ESC P and q.
            guard isParameter(sixel[q]) else { return sixel }
            q += 1
        }
        guard q < sixel.count else { return sixel }
        var out = Array("\u{1B}P0;1;0".utf8)
        out.reserveCapacity(sixel.count + 5)
        guard height < 6 else {
            out += sixel[q...]
            return out
        }
        // Raster attributes `"1;1;W;H` and colour definitions `#n;2;r;g;b` use only these
        // characters; the first other one starts the pixel data.
        var data = q + 1
        while data < sixel.count,
            sixel[data] == UInt8(ascii: "\"") || sixel[data] == UInt8(ascii: "#") || isParameter(sixel[data])
        {
            data += 1
        }
        out += sixel[q..<data]
        if data < sixel.count, sixel[data] == UInt8(ascii: "-") { data += 1 }
        out += sixel[data...]
        return out
    }

    /// A digit or `;`.
    private static func isParameter(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ";") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
