/// Our own sixel writer for a picture already in palette indices (the grey levels of a tile, the
/// fixed colour cube of the live sampler's colour tiles), in place of libsixel's `sixel_encode`
/// for those: libsixel walks every palette entry across the whole width for each band of six
/// rows, so a noisy 800 × 800 colour tile (252 colours in most bands) took 4.6 s; this writer
/// visits each pixel once and each colour only where it occurs in the band, ~0.03 s. libsixel
/// stays for what it does better: the median-cut palette of a picture's own colours.
///
/// Output: `ESC P 0;1;0 q` (P2 = 1: pixels not drawn keep what was there), raster attributes
/// `"1;1;W;H`, the colours used as `#n;2;r;g;b` in whole percentages, then each band of six rows:
/// for each colour present, `#n` and its sixel characters (63 + the six bits, row k as bit k) from
/// column 0 to its last column, runs of four or more as `!count`, columns without it as `?`; `$`
/// returns to the band's start between colours and `-` goes to the next band. `ESC \` ends it.
enum SixelWriter {
    /// The DCS sixel of `indices` (one palette entry per pixel, row by row, `width` × `height`)
    /// with `palette` (r, g, b of each entry).
    static func write(indices: [UInt8], palette: [UInt8], width: Int, height: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + width * height / 2)
        out += Array("\u{1B}P0;1;0q\"1;1;\(width);\(height)".utf8)
        // the colours used, each once
        var used = [Bool](repeating: false, count: 256)
        for i in indices { used[Int(i)] = true }
        for c in 0..<min(256, palette.count / 3) where used[c] {
            // sixel colours are percentages: p = round(100·v/255)
            let rgb = (0..<3).map { (Int(palette[3 * c + $0]) * 200 + 255) / 510 }
            out += Array("#\(c);2;\(rgb[0]);\(rgb[1]);\(rgb[2])".utf8)
        }
        // per band: the (column, bits) of each colour, grouped by colour in column order
        var count = [Int](repeating: 0, count: 257)
        var columns = [Int32](repeating: 0, count: 6 * max(width, 1))
        var bits = [UInt8](repeating: 0, count: 6 * max(width, 1))
        var bandColors = [UInt8](repeating: 0, count: 6)
        var bandBits = [UInt8](repeating: 0, count: 6)
        var start = [Int](repeating: 0, count: 257)
        var sortedColumns = [Int32](repeating: 0, count: 6 * max(width, 1))
        var sortedBits = [UInt8](repeating: 0, count: 6 * max(width, 1))
        var entryColor = [UInt8](repeating: 0, count: 6 * max(width, 1))
        indices.withUnsafeBufferPointer { idx in
            for top in stride(from: 0, to: height, by: 6) {
                let rows = min(6, height - top)
                for c in 0..<257 { count[c] = 0 }
                var entries = 0
                for x in 0..<width {
                    // the distinct colours of this column of the band, with their bits
                    var n = 0
                    for k in 0..<rows {
                        let c = idx[(top + k) * width + x]
                        var j = 0
                        while j < n, bandColors[j] != c { j += 1 }
                        if j == n { bandColors[n] = c; bandBits[n] = 0; n += 1 }
                        bandBits[j] |= 1 << UInt8(k)
                    }
                    for j in 0..<n {
                        columns[entries] = Int32(x)
                        bits[entries] = bandBits[j]
                        entryColor[entries] = bandColors[j]
                        count[Int(bandColors[j]) + 1] += 1
                        entries += 1
                    }
                }
                // counting sort by colour, columns staying in order within a colour
                for c in 0..<256 { count[c + 1] += count[c] }
                for c in 0..<257 { start[c] = count[c] }
                for e in 0..<entries {
                    let c = Int(entryColor[e])
                    sortedColumns[start[c]] = columns[e]
                    sortedBits[start[c]] = bits[e]
                    start[c] += 1
                }
                var first = true
                for c in 0..<256 where count[c + 1] > count[c] {
                    if !first { out.append(UInt8(ascii: "$")) }
                    first = false
                    out += Array("#\(c)".utf8)
                    var cursor = 0
                    var e = count[c]
                    let end = count[c + 1]
                    while e < end {
                        let x = Int(sortedColumns[e])
                        if x > cursor { run(&out, UInt8(ascii: "?"), x - cursor) }
                        // a run: the next columns with the same bits
                        var length = 1
                        while e + length < end, Int(sortedColumns[e + length]) == x + length, sortedBits[e + length] == sortedBits[e] {
                            length += 1
                        }
                        run(&out, 63 + sortedBits[e], length)
                        cursor = x + length
                        e += length
                    }
                }
                if top + 6 < height { out.append(UInt8(ascii: "-")) }
            }
        }
        out += [0x1B, UInt8(ascii: "\\")]
        return out
    }

    /// `length` times `char`: as `!length char` from four on (shorter that way), else repeated.
    private static func run(_ out: inout [UInt8], _ char: UInt8, _ length: Int) {
        if length >= 4 {
            out += Array("!\(length)".utf8)
            out.append(char)
        } else {
            for _ in 0..<length { out.append(char) }
        }
    }
}
