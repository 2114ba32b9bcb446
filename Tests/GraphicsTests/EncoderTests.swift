import Foundation
import Graphics
import Imaging
import Preview
import Testing

/// Pictures for the tests: deterministic, with structure in both directions.
enum Pictures {
    /// A `width` × `height` grey picture: a diagonal ramp with a bright square in it.
    static func grey(width: Int, height: Int) -> Bitmap {
        var pixels = [UInt8](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                let inSquare = x > width / 4 && x < width / 2 && y > height / 4 && y < height / 2
                pixels[y * width + x] = inSquare ? 255 : UInt8((x + y) * 255 / max(width + height - 2, 1))
            }
        }
        return Bitmap(width: width, height: height, channels: 1, pixels: pixels)
    }

    /// A `width` × `height` RGB picture: red across, green down, blue from a cheap hash, so it
    /// neither compresses to nothing nor is one flat colour.
    static func color(width: Int, height: Int) -> Bitmap {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let i = 3 * (y * width + x)
                pixels[i] = UInt8(x * 255 / max(width - 1, 1))
                pixels[i + 1] = UInt8(y * 255 / max(height - 1, 1))
                pixels[i + 2] = UInt8(truncatingIfNeeded: (x &* 2_654_435_761 ^ y &* 40_503) >> 7)
            }
        }
        return Bitmap(width: width, height: height, channels: 3, pixels: pixels)
    }

    /// A smooth RGB picture (no noise): what a generated image looks like to a palette.
    static func smooth(width: Int, height: Int) -> Bitmap {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let i = 3 * (y * width + x)
                pixels[i] = UInt8(x * 255 / max(width - 1, 1))
                pixels[i + 1] = UInt8(y * 255 / max(height - 1, 1))
                pixels[i + 2] = UInt8(255 - (x + y) * 255 / max(width + height - 2, 1))
            }
        }
        return Bitmap(width: width, height: height, channels: 3, pixels: pixels)
    }

    /// A `width` × `height` RGB picture of uniform noise (a fixed LCG): nothing to compress.
    static func noise(width: Int, height: Int) -> Bitmap {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        let samples = (0..<(width * height * 3)).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        return Bitmap(width: width, height: height, channels: 3, pixels: samples)
    }

    /// `bitmap` with its grey samples repeated into RGB.
    static func greyAsRGB(_ bitmap: Bitmap) -> Bitmap {
        Bitmap(width: bitmap.width, height: bitmap.height, channels: 3, pixels: bitmap.pixels.flatMap { [$0, $0, $0] })
    }
}

/// A kitty transmission taken apart: the first command's keys, and the payload decoded.
struct KittyTransmission {
    var commands: [KittyCommand]
    var first: KittyCommand { commands[0] }
    /// The base64 of every chunk, joined and decoded (still deflated when `o=z`).
    var data: [UInt8]?

    init?(_ bytes: [UInt8]) {
        guard let commands = Decoders.kittyCommands(bytes), !commands.isEmpty else { return nil }
        self.commands = commands
        data = Decoders.base64(commands.flatMap(\.payload))
    }

    /// The pixels: inflated when the first command says `o=z`.
    var pixels: [UInt8]? {
        guard let data, let w = first["s"].flatMap(Int.init), let h = first["v"].flatMap(Int.init) else { return nil }
        return first["o"] == "z" ? Decoders.inflate(data, count: w * h * 3) : data
    }
}

// MARK: - kitty

@Suite struct KittyGraphicsTests {
    /// A 120×90 noisy picture (≈ 32 KB raw, more than one chunk even deflated): every chunk is
    /// framed, carries m=1 but the last (m=0), holds ≤ 4096 base64 characters (a multiple of 4
    /// before the last), only the first has the keys, and the payload inflates to the pixels.
    @Test func compressedChunksRoundTrip() throws {
        let picture = Pictures.color(width: 120, height: 90)
        let bytes = KittyGraphics.place(picture, imageID: 42, placementID: 3, columns: 12, rows: 5)
        let sent = try #require(KittyTransmission(bytes))
        #expect(sent.commands.count > 1)
        #expect(sent.first.keys.map(\.key) == ["a", "f", "s", "v", "o", "i", "p", "c", "r", "C", "q", "m"])
        #expect(sent.first.keys.map(\.value) == ["T", "24", "120", "90", "z", "42", "3", "12", "5", "1", "2", "1"])
        for (n, command) in sent.commands.enumerated() {
            let last = n == sent.commands.count - 1
            #expect(command["m"] == (last ? "0" : "1"))
            #expect(command.payload.count <= 4096)
            if !last { #expect(command.payload.count % 4 == 0) }
            if n > 0 { #expect(command.keys.map(\.key) == ["m", "q"] && command["q"] == "2") }
        }
        #expect(sent.pixels == picture.pixels)
    }

    /// Without compression: no `o` key, the base64 decodes to the raw RGB samples; a picture whose
    /// payload fits one chunk is one command with m=0.
    @Test func uncompressedRoundTrip() throws {
        let small = Pictures.color(width: 16, height: 16)  // 768 bytes → 1024 base64 characters
        let one = try #require(KittyTransmission(KittyGraphics.place(small, imageID: 1, columns: 4, rows: 2, compress: false)))
        #expect(one.commands.count == 1)
        #expect(one.first["o"] == nil && one.first["m"] == "0" && one.first["p"] == "1")
        #expect(one.pixels == small.pixels)

        let big = Pictures.color(width: 64, height: 48)  // 9216 bytes → 3 chunks
        let many = try #require(KittyTransmission(KittyGraphics.place(big, imageID: 9, columns: 8, rows: 4, compress: false)))
        #expect(many.commands.map(\.payload.count) == [4096, 4096, 4096])
        #expect(many.pixels == big.pixels)
    }

    /// A grey bitmap goes as grey RGB (f=24 has three samples a pixel); cells below 1 go as 1.
    @Test func greyAndDegenerateCells() throws {
        let grey = Pictures.grey(width: 10, height: 7)
        let sent = try #require(KittyTransmission(KittyGraphics.place(grey, imageID: 5, columns: 0, rows: -3)))
        #expect(sent.first["c"] == "1" && sent.first["r"] == "1")
        #expect(sent.pixels == Pictures.greyAsRGB(grey).pixels)
    }

    /// Compression only where it pays: a 160×160 noise picture (75 KB, more than twice the 32 KB
    /// sample) goes raw; a 192×192 upscaled digit (108 KB) goes deflated, to a small fraction.
    @Test func compressionWhereItPays() throws {
        let noisy = Pictures.noise(width: 160, height: 160)
        let raw = try #require(KittyTransmission(KittyGraphics.place(noisy, imageID: 1, columns: 16, rows: 8)))
        #expect(raw.first["o"] == nil)
        #expect(raw.pixels == noisy.pixels)

        let digit = PixelFit.scaled(Pictures.grey(width: 32, height: 32), width: 192, height: 192)
        let bytes = KittyGraphics.place(digit, imageID: 2, columns: 20, rows: 10)
        let deflated = try #require(KittyTransmission(bytes))
        #expect(deflated.first["o"] == "z")
        #expect(bytes.count < 192 * 192 * 3 / 10)
        #expect(deflated.pixels == Pictures.greyAsRGB(digit).pixels)
    }

    /// The delete commands, byte for byte.
    @Test func deleteCommands() {
        #expect(KittyGraphics.delete(imageID: 7) == Array("\u{1B}_Ga=d,d=I,i=7,q=2\u{1B}\\".utf8))
        #expect(KittyGraphics.deleteAll == Array("\u{1B}_Ga=d,d=A,q=2\u{1B}\\".utf8))
    }
}

// MARK: - sixel

/// The mean of each channel over each whole `block` × `block` square, rounded to a level.
func blockMeans(_ rgb: [UInt8], width: Int, height: Int, block: Int = 4) -> [UInt8] {
    var means: [UInt8] = []
    for by in 0..<(height / block) {
        for bx in 0..<(width / block) {
            for c in 0..<3 {
                var sum = 0
                for y in 0..<block {
                    for x in 0..<block { sum += Int(rgb[3 * ((by * block + y) * width + bx * block + x) + c]) }
                }
                means.append(UInt8((sum + block * block / 2) / (block * block)))
            }
        }
    }
    return means
}

/// Mean and largest absolute difference per sample.
func sampleError(_ a: [UInt8], _ b: [UInt8]) -> (mean: Double, max: Int) {
    var total = 0, largest = 0
    for (x, y) in zip(a, b) {
        let d = abs(Int(x) - Int(y))
        total += d
        largest = max(largest, d)
    }
    return (Double(total) / Double(max(a.count, 1)), largest)
}

@Suite struct SixelImageTests {
    /// A grey ramp through every level, as 1 channel and as r = g = b, decoded by libsixel: size
    /// exact; error ≤ 2 levels (measured: max 1, mean 0.6 — the 256-grey palette is exact and sixel
    /// colours are whole percentages, 2.55 levels apart, so rounding costs at most 1.3 levels).
    @Test func greyRampIsNearlyExact() throws {
        var ramp = [UInt8](repeating: 0, count: 256 * 13)
        for i in ramp.indices { ramp[i] = UInt8(i % 256) }
        let grey = Bitmap(width: 256, height: 13, channels: 1, pixels: ramp)
        for input in [grey, Pictures.greyAsRGB(grey)] {
            let bytes = try SixelImage.encode(input)
            #expect(bytes.starts(with: Array("\u{1B}P0;1;0q\"1;1;256;13".utf8)))
            #expect(bytes.suffix(2).elementsEqual([0x1B, UInt8(ascii: "\\")]))
            let decoded = try #require(Decoders.sixel(bytes))
            #expect(decoded.width == 256 && decoded.height == 13)
            let error = sampleError(decoded.rgb, Pictures.greyAsRGB(grey).pixels)
            #expect(error.max <= 2 && error.mean <= 1)
        }
    }

    /// A smooth colour picture (97×61, ≈ 5900 colours) through libsixel's median cut to 256,
    /// decoded: size exact, and close. Measured with libsixel 1.10.3: dithered (error diffusion,
    /// which trades per-pixel error for right local averages) mean 7.7, max 49, 4×4-block means
    /// off by 3.3 on average; undithered mean 5.0, max 20. Bounds: those with about 30 % margin —
    /// tight enough that a wrong palette order, swapped channels or a lost band (errors of tens
    /// to a hundred levels) fail, loose enough for another libsixel's box splits.
    @Test func colourPictureIsClose() throws {
        let picture = Pictures.smooth(width: 97, height: 61)
        let dithered = try #require(Decoders.sixel(try SixelImage.encode(picture)))
        #expect(dithered.width == 97 && dithered.height == 61 && dithered.colors <= 256)
        let error = sampleError(dithered.rgb, picture.pixels)
        #expect(error.mean <= 10 && error.max <= 64, "dithered: mean \(error.mean), max \(error.max)")
        let blocks = sampleError(blockMeans(dithered.rgb, width: 97, height: 61), blockMeans(picture.pixels, width: 97, height: 61))
        #expect(blocks.mean <= 5, "dithered 4×4 blocks: mean \(blocks.mean)")

        let plain = try #require(Decoders.sixel(try SixelImage.encode(picture, dither: false)))
        let plainError = sampleError(plain.rgb, picture.pixels)
        #expect(plainError.mean <= 6.5 && plainError.max <= 28, "undithered: mean \(plainError.mean), max \(plainError.max)")
    }

    /// The fixed cube (the live sampler's colour frames): size exact, at most 252 colours, no
    /// pixel further than one cube step plus sixel's rounding (51 levels + 2), and 4×4-block means —
    /// what ordered dithering keeps — within a few levels. `DDIM_SIXEL_TIMING=1` prints both
    /// paths' time on an 800×800 picture (docs/performance.md).
    @Test func fixedCubePalette() throws {
        let picture = Pictures.smooth(width: 97, height: 61)
        let decoded = try #require(Decoders.sixel(try SixelImage.encode(picture, palette: .fixed)))
        #expect(decoded.width == 97 && decoded.height == 61 && decoded.colors <= 252)
        let error = sampleError(decoded.rgb, picture.pixels)
        #expect(error.max <= 53, "fixed: max \(error.max)")
        let blocks = sampleError(blockMeans(decoded.rgb, width: 97, height: 61), blockMeans(picture.pixels, width: 97, height: 61))
        #expect(blocks.mean <= 6, "fixed 4×4 blocks: mean \(blocks.mean)")
        if ProcessInfo.processInfo.environment["DDIM_SIXEL_TIMING"] != nil {
            // not a timed test: the figures for docs/performance.md, printed on request
            for (name, big) in [("smooth", Pictures.smooth(width: 800, height: 800)), ("noise", Pictures.noise(width: 800, height: 800))] {
                let clock = ContinuousClock()
                let fast = try clock.measure { _ = try SixelImage.encode(big, palette: .fixed) }
                let slow = try clock.measure { _ = try SixelImage.encode(big) }
                print("sixel 800×800 \(name): fixed cube \(fast), median cut \(slow)")
            }
        }
    }

    /// 16 colours: the palette holds at most 16 and 4×4-block means stay within 11 levels on
    /// average (measured 8.0: 16 colours cannot do better on a three-way gradient).
    @Test func smallPalette() throws {
        let picture = Pictures.smooth(width: 40, height: 32)
        let decoded = try #require(Decoders.sixel(try SixelImage.encode(picture, colors: 16)))
        #expect(decoded.width == 40 && decoded.height == 32)
        #expect(decoded.colors <= 16)
        let blocks = sampleError(blockMeans(decoded.rgb, width: 40, height: 32), blockMeans(picture.pixels, width: 40, height: 32))
        #expect(blocks.mean <= 11, "4×4 blocks: mean \(blocks.mean)")
    }

    /// A grey picture through a colour map goes indexed with the map's colours of the levels it
    /// uses: exact up to sixel's percentages (≤ 1.3 levels, bound 2; measured max 1, mean 0.66),
    /// one palette entry per level used.
    @Test func colormappedGreyIsIndexed() throws {
        let digit = Pictures.grey(width: 96, height: 64)
        let decoded = try #require(Decoders.sixel(try SixelImage.encode(digit, colormap: .viridis)))
        #expect(decoded.width == 96 && decoded.height == 64)
        #expect(decoded.colors == Set(digit.pixels).count)
        let error = sampleError(decoded.rgb, PixelFit.rgb(digit, colormap: .viridis).pixels)
        #expect(error.max <= 2 && error.mean <= 1, "mean \(error.mean), max \(error.max)")
        // More levels than registers: the median cut instead, within its palette.
        let few = try #require(Decoders.sixel(try SixelImage.encode(digit, colormap: .magma, colors: 8)))
        #expect(few.colors <= 8 && few.width == 96)
    }

    /// One pixel, and heights that are not a multiple of the six-pixel band. Under 6 rows,
    /// libsixel 1.10.3 alone starts with a graphics new line (decoded 6 rows too tall, the
    /// picture one band low): the repaired output decodes to the exact size, rows in place.
    @Test func oddSizes() throws {
        for (w, h) in [(1, 1), (3, 7), (11, 5), (2, 6), (5, 13)] {
            let decoded = try #require(Decoders.sixel(try SixelImage.encode(Pictures.color(width: w, height: h))))
            #expect(decoded.width == w && decoded.height == h)
        }
        for (w, h) in [(9, 1), (9, 4), (9, 8)] {
            let grey = Pictures.grey(width: w, height: h)
            let decoded = try #require(Decoders.sixel(try SixelImage.encode(grey)))
            #expect(decoded.width == w && decoded.height == h)
            #expect(sampleError(decoded.rgb, Pictures.greyAsRGB(grey).pixels).max <= 2)
        }
    }
}

// MARK: - iTerm2

@Suite struct ITermImageTests {
    /// `ESC ] 1337 ; File=inline=1;size=N;width=C;height=R;preserveAspectRatio=0 : base64 BEL`:
    /// keys in order, N the PNG's length, and the PNG reads back to the same pixels.
    @Test func inlineRoundTrip() throws {
        let picture = Pictures.color(width: 33, height: 21)
        let body = try #require(Decoders.osc(try ITermImage.inline(picture, columns: 7, rows: 3)))
        let colon = try #require(body.firstIndex(of: UInt8(ascii: ":")))
        let keys = String(decoding: body[..<colon], as: UTF8.self)
        let png = try #require(Decoders.base64(Array(body[(colon + 1)...])))
        #expect(keys == "1337;File=inline=1;size=\(png.count);width=7;height=3;preserveAspectRatio=0")
        let image = try PNGReader().read(bytes: png, name: "inline image")
        #expect(image.width == 33 && image.height == 21 && image.channels == 3)
        #expect(image.pixels == picture.pixels)
    }

    /// A noise picture over 64 KB goes as a stored PNG (deflating would not pay), still exact.
    @Test func incompressibleInline() throws {
        let noisy = Pictures.noise(width: 160, height: 160)
        let body = try #require(Decoders.osc(try ITermImage.inline(noisy, columns: 16, rows: 8)))
        let colon = try #require(body.firstIndex(of: UInt8(ascii: ":")))
        let png = try #require(Decoders.base64(Array(body[(colon + 1)...])))
        #expect(png.count > noisy.pixels.count)
        #expect(try PNGReader().read(bytes: png, name: "inline image").pixels == noisy.pixels)
    }

    /// A grey bitmap goes as a grey PNG with the same samples.
    @Test func greyInline() throws {
        let grey = Pictures.grey(width: 9, height: 4)
        let body = try #require(Decoders.osc(try ITermImage.inline(grey, columns: 1, rows: 1)))
        let colon = try #require(body.firstIndex(of: UInt8(ascii: ":")))
        let png = try #require(Decoders.base64(Array(body[(colon + 1)...])))
        let image = try PNGReader().read(bytes: png, name: "inline image", channels: 1)
        #expect(image.pixels == grey.pixels)
    }
}

// MARK: - tmux passthrough

@Suite struct PassthroughTests {
    /// Framing `ESC P tmux; … ESC \`, every ESC doubled, and unwrapping gives the bytes back.
    @Test func escapesDoubled() throws {
        let inner = Array("\u{1B}_Ga=d,d=A,q=2\u{1B}\\x\u{1B}\u{1B}".utf8)
        let wrapped = Passthrough.tmux(inner)
        #expect(wrapped == Array("\u{1B}Ptmux;\u{1B}\u{1B}_Ga=d,d=A,q=2\u{1B}\u{1B}\\x\u{1B}\u{1B}\u{1B}\u{1B}\u{1B}\\".utf8))
        #expect(Decoders.tmux(wrapped) == inner)
        #expect(Passthrough.tmux([]) == Array("\u{1B}Ptmux;\u{1B}\\".utf8))
        let sixel = try SixelImage.encode(Pictures.color(width: 12, height: 12))
        #expect(Decoders.tmux(Passthrough.tmux(sixel)) == sixel)
    }
}

// MARK: - PixelEncoder

@Suite struct PixelEncoderTests {
    let digit = Pictures.grey(width: 32, height: 32)
    let photo = Pictures.color(width: 256, height: 256)

    /// The size rule: the largest integer factor within the rectangle, each side capped at it.
    @Test func fittedSizes() {
        #expect(PixelFit.fittedSize(width: 32, height: 32, maxWidth: 200, maxHeight: 200) == (192, 192))
        #expect(PixelFit.fittedSize(width: 32, height: 32, maxWidth: 400, maxHeight: 200) == (192, 192))
        #expect(PixelFit.fittedSize(width: 256, height: 256, maxWidth: 400, maxHeight: 400) == (256, 256))
        #expect(PixelFit.fittedSize(width: 256, height: 256, maxWidth: 200, maxHeight: 200) == (200, 200))
        #expect(PixelFit.fittedSize(width: 256, height: 128, maxWidth: 200, maxHeight: 400) == (200, 128))
        #expect(PixelFit.fittedSize(width: 0, height: -1, maxWidth: 0, maxHeight: 5) == (1, 1))
    }

    /// kitty: a 32×32 digit in 20×10 cells of 10×20 px is sent at 192×192 (factor 6), every
    /// source pixel a 6×6 block; a 256×256 picture at its size in 40×20 cells, at 200×200 in
    /// 20×10 cells; c and r are the tile's cells; image id as given, placement 1.
    @Test func kittySizes() throws {
        let encoder = PixelEncoder(graphics: .kitty, cellWidth: 10, cellHeight: 20)
        let small = try #require(KittyTransmission(try encoder.encode(digit, colormap: .grey, columns: 20, rows: 10, id: 11)))
        #expect(small.first["s"] == "192" && small.first["v"] == "192")
        #expect(small.first["c"] == "20" && small.first["r"] == "10")
        #expect(small.first["i"] == "11" && small.first["p"] == "1")
        let expected = PixelFit.rgb(PixelFit.scaled(digit, width: 192, height: 192), colormap: .grey)
        #expect(small.pixels == expected.pixels)
        let pixels = try #require(small.pixels)
        #expect(pixels[3 * (6 * 192 * 9 + 6 * 12)] == digit.pixels[9 * 32 + 12])

        let big = try #require(KittyTransmission(try encoder.encode(photo, colormap: .grey, columns: 40, rows: 20, id: 12)))
        #expect(big.first["s"] == "256" && big.first["v"] == "256")
        #expect(big.pixels == photo.pixels)
        let shrunk = try #require(KittyTransmission(try encoder.encode(photo, colormap: .grey, columns: 20, rows: 10, id: 12)))
        #expect(shrunk.first["s"] == "200" && shrunk.first["v"] == "200")
    }

    /// sixel: scaled to exactly the tile's pixels, whatever the picture's size.
    @Test func sixelSizes() throws {
        let encoder = PixelEncoder(graphics: .sixel, cellWidth: 10, cellHeight: 20)
        let small = try #require(Decoders.sixel(try encoder.encode(digit, colormap: .grey, columns: 20, rows: 10, id: 1)))
        #expect(small.width == 200 && small.height == 200)
        let big = try #require(Decoders.sixel(try encoder.encode(photo, colormap: .grey, columns: 7, rows: 3, id: 1)))
        #expect(big.width == 70 && big.height == 60)
    }

    /// iTerm2: the kitty size rule for the PNG, the tile in cells for width and height.
    @Test func itermSizes() throws {
        let encoder = PixelEncoder(graphics: .iterm, cellWidth: 10, cellHeight: 20)
        for (picture, columns, rows, side) in [(digit, 20, 10, 192), (photo, 40, 20, 256), (photo, 20, 10, 200)] {
            let body = try #require(Decoders.osc(try encoder.encode(picture, colormap: .grey, columns: columns, rows: rows, id: 1)))
            let text = String(decoding: body, as: UTF8.self)
            #expect(text.contains(";width=\(columns);height=\(rows);"))
            let colon = try #require(body.firstIndex(of: UInt8(ascii: ":")))
            let png = try #require(Decoders.base64(Array(body[(colon + 1)...])))
            let image = try PNGReader().read(bytes: png, name: "inline image")
            #expect(image.width == side && image.height == side)
        }
    }

    /// A grey picture goes through the colour map (viridis here), pixel for pixel.
    @Test func greyThroughColormap() throws {
        let encoder = PixelEncoder(graphics: .kitty, cellWidth: 8, cellHeight: 16)
        let sent = try #require(KittyTransmission(try encoder.encode(digit, colormap: .viridis, columns: 4, rows: 2, id: 3)))
        #expect(sent.first["s"] == "32" && sent.first["v"] == "32")
        let expected = digit.pixels.flatMap { level -> [UInt8] in
            let c = Colormap.viridis.apply(level)
            return [c.r, c.g, c.b]
        }
        #expect(sent.pixels == expected)
        #expect(PixelFit.rgb(digit, colormap: .viridis).pixels == expected)
    }

    /// blocks draws nothing; only kitty deletes; passthrough wraps both; the tile's size is checked.
    @Test func blocksDeletesPassthroughAndLimits() throws {
        for graphics in [GraphicsProtocol.blocks, .sixel, .iterm] {
            #expect(PixelEncoder(graphics: graphics, cellWidth: 10, cellHeight: 20).delete(id: 4) == [])
        }
        let blocks = PixelEncoder(graphics: .blocks, cellWidth: 10, cellHeight: 20)
        #expect(try blocks.encode(digit, colormap: .grey, columns: 20, rows: 10, id: 1) == [])
        let kitty = PixelEncoder(graphics: .kitty, cellWidth: 10, cellHeight: 20, passthrough: true)
        #expect(Decoders.tmux(kitty.delete(id: 4)) == KittyGraphics.delete(imageID: 4))
        let wrapped = try kitty.encode(digit, colormap: .grey, columns: 2, rows: 1, id: 4)
        let inner = try #require(Decoders.tmux(wrapped))
        #expect(KittyTransmission(inner)?.first["s"] == "20")
        #expect(throws: GraphicsError.tooLarge(width: 10 * 100_000, height: 20, limit: PixelFit.maxSide)) {
            try kitty.encode(digit, colormap: .grey, columns: 100_000, rows: 1, id: 4)
        }
        #expect(throws: GraphicsError.self) {
            try PixelEncoder(graphics: .sixel, cellWidth: Int.max, cellHeight: 2).encode(digit, colormap: .grey, columns: 3, rows: 1, id: 1)
        }
        // Cells and tiles below 1 are taken as 1: one 1×1 pixel cell.
        let tiny = PixelEncoder(graphics: .sixel, cellWidth: 0, cellHeight: -5)
        let dot = try #require(Decoders.sixel(try tiny.encode(digit, colormap: .grey, columns: 0, rows: 0, id: 1)))
        #expect(dot.width == 1 && dot.height == 1)
    }

    /// Nearest-neighbour: an integer upscale repeats each pixel in a k×k block; a downscale takes
    /// the source pixel under each destination centre.
    @Test func nearestNeighbour() {
        let source = Bitmap(width: 3, height: 2, channels: 1, pixels: [1, 2, 3, 4, 5, 6])
        #expect(PixelFit.scaled(source, width: 6, height: 4).pixels == [
            1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6,
        ])
        let wide = Bitmap(width: 4, height: 1, channels: 3, pixels: Array(0..<12))
        #expect(PixelFit.scaled(wide, width: 2, height: 1).pixels == [3, 4, 5, 9, 10, 11])
        #expect(PixelFit.scaled(source, width: 0, height: 0).pixels == [5])
    }
}
