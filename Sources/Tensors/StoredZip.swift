import Files

/// The central directory of a zip archive whose entries are stored (not compressed), as
/// `torch.save` writes them: read from the end of the file, entries found by name, each entry's
/// bytes located through its local header. Nothing is decompressed; a compressed or encrypted
/// entry is refused when it is asked for.
///
/// Format (APPNOTE.TXT; all integers little-endian):
/// - end of central directory (EOCD), the last 22 bytes + a comment of ≤ 65535 bytes:
///   `50 4B 05 06`, disk u16, cd disk u16, entries on disk u16, entries u16, cd size u32,
///   cd offset u32, comment length u16. A field of all ones (0xFFFF, 0xFFFFFFFF) means: see ZIP64.
/// - ZIP64 locator, the 20 bytes before the EOCD: `50 4B 06 07`, disk u32, ZIP64 EOCD offset u64,
///   disks u32; ZIP64 EOCD: `50 4B 06 06`, size u64, versions u16×2, disks u32×2, entries on disk
///   u64, entries u64, cd size u64, cd offset u64. torch's writer always writes both.
/// - central header, 46 bytes + name + extra + comment: `50 4B 01 02`, versions u16×2, flags u16
///   (bit 0: encrypted), method u16 (0: stored), time u16, date u16, crc u32, compressed size u32,
///   size u32, name length u16, extra length u16, comment length u16, disk u16, attributes u16 +
///   u32, local header offset u32. Extra field 0x0001 (ZIP64) holds, in this order, the size, the
///   compressed size and the offset that were all ones.
/// - local header, 30 bytes + name + extra, then the data: `50 4B 03 04`, …, name length u16 at
///   26, extra length u16 at 28. Its extra length differs from the central one (torch pads it to
///   align the data to 64 bytes), and with flag bit 3 its sizes are 0: the central sizes count.
/// CRCs are not checked (that would read every byte twice).
struct StoredZip {
    /// One entry of the central directory.
    struct Entry {
        let name: String
        let method: Int
        let flags: Int
        let compressedSize: Int
        let size: Int
        let localHeader: Int
    }

    /// The most entries read (torch writes one per storage, plus five).
    static let maxEntries = 1 << 18
    /// The largest central directory read.
    static let maxDirectoryBytes = 64 << 20

    let source: any RandomAccessBytes
    /// Entries by name.
    let entries: [String: Entry]
    /// Where the central directory starts: no entry's data may reach it.
    let directoryStart: Int

    /// Reads the central directory of `source`; throws ``ZipRefusal`` with the reason.
    init(_ source: any RandomAccessBytes) throws {
        self.source = source
        let size = source.count
        // the EOCD: the last signature whose comment ends exactly at the end of the file
        let tailCount = min(size, 22 + 0xFFFF)
        let tail = try Self.read(source, at: size - tailCount, count: tailCount, "the end of the archive")
        var eocd: Int?
        var i = tailCount - 22
        while i >= 0 {
            if Self.u32(tail, i) == 0x0605_4B50, i + 22 + Self.u16(tail, i + 20) == tailCount {
                eocd = i
                break
            }
            i -= 1
        }
        guard let e = eocd else { throw ZipRefusal("no zip end-of-central-directory record (not a zip archive, or cut short)") }
        let eocdOffset = size - tailCount + e
        var count = Self.u16(tail, e + 10)
        var directorySize = Self.u32(tail, e + 12)
        var directoryOffset = Self.u32(tail, e + 16)
        var directoryLimit = eocdOffset
        if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            guard eocdOffset >= 20 else { throw ZipRefusal("ZIP64 fields without a ZIP64 locator") }
            let locator = try Self.read(source, at: eocdOffset - 20, count: 20, "the ZIP64 locator")
            guard Self.u32(locator, 0) == 0x0706_4B50 else { throw ZipRefusal("ZIP64 fields without a ZIP64 locator") }
            let z64 = try Self.u64(locator, 8)
            guard z64 >= 0, z64 <= eocdOffset - 20 - 56 else { throw ZipRefusal("the ZIP64 record's offset \(z64) is outside the archive") }
            let record = try Self.read(source, at: z64, count: 56, "the ZIP64 record")
            guard Self.u32(record, 0) == 0x0606_4B50 else { throw ZipRefusal("no ZIP64 record at byte \(z64)") }
            (count, directorySize, directoryOffset) = (try Self.u64(record, 32), try Self.u64(record, 40), try Self.u64(record, 48))
            directoryLimit = z64
        }
        guard count <= Self.maxEntries else { throw ZipRefusal("\(count) entries (at most \(Self.maxEntries))") }
        guard directorySize <= Self.maxDirectoryBytes else { throw ZipRefusal("a central directory of \(directorySize) bytes (at most \(Self.maxDirectoryBytes >> 20) MiB)") }
        guard directoryOffset <= directoryLimit - directorySize else {
            throw ZipRefusal("the central directory (\(directorySize) bytes at \(directoryOffset)) runs past its end record")
        }
        directoryStart = directoryOffset
        let cd = try Self.read(source, at: directoryOffset, count: directorySize, "the central directory")
        var entries: [String: Entry] = [:]
        var at = 0
        for _ in 0..<count {
            guard at + 46 <= cd.count, Self.u32(cd, at) == 0x0201_4B50 else { throw ZipRefusal("central directory entry \(entries.count) is malformed") }
            let nameLength = Self.u16(cd, at + 28), extraLength = Self.u16(cd, at + 30), commentLength = Self.u16(cd, at + 32)
            let end = at + 46 + nameLength + extraLength + commentLength
            guard end <= cd.count else { throw ZipRefusal("central directory entry \(entries.count) runs past the directory") }
            let name = String(decoding: cd[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
            var compressed = Self.u32(cd, at + 20), plain = Self.u32(cd, at + 24), local = Self.u32(cd, at + 42)
            // ZIP64 extra field: the values that were all ones, in this order
            var x = at + 46 + nameLength
            let extraEnd = x + extraLength
            while x + 4 <= extraEnd {
                let id = Self.u16(cd, x), length = Self.u16(cd, x + 2)
                guard x + 4 + length <= extraEnd else { throw ZipRefusal("entry '\(PickleText.shown(name))': a malformed extra field") }
                if id == 0x0001 {
                    var y = x + 4
                    for keyPath in [0, 1, 2] {
                        let isOnes = keyPath == 0 ? plain == 0xFFFF_FFFF : keyPath == 1 ? compressed == 0xFFFF_FFFF : local == 0xFFFF_FFFF
                        guard isOnes else { continue }
                        guard y + 8 <= x + 4 + length else { throw ZipRefusal("entry '\(PickleText.shown(name))': a short ZIP64 field") }
                        let v = try Self.u64(cd, y)
                        if keyPath == 0 { plain = v } else if keyPath == 1 { compressed = v } else { local = v }
                        y += 8
                    }
                }
                x += 4 + length
            }
            guard entries[name] == nil else { throw ZipRefusal("two entries named '\(PickleText.shown(name))'") }
            entries[name] = Entry(name: name, method: Self.u16(cd, at + 10), flags: Self.u16(cd, at + 8),
                                  compressedSize: compressed, size: plain, localHeader: local)
            at = end
        }
        self.entries = entries
    }

    /// The byte range of `entry`'s data, checked: stored, not encrypted, inside the file before
    /// the central directory.
    func dataRange(of entry: Entry) throws -> Range<Int> {
        let name = "'\(PickleText.shown(entry.name))'"
        guard entry.flags & 1 == 0 else { throw ZipRefusal("entry \(name) is encrypted") }
        guard entry.method == 0 else { throw ZipRefusal("entry \(name) is compressed (method \(entry.method)); torch stores entries uncompressed") }
        guard entry.compressedSize == entry.size else { throw ZipRefusal("entry \(name) is stored with \(entry.compressedSize) bytes for \(entry.size)") }
        guard entry.localHeader <= directoryStart - 30 else { throw ZipRefusal("entry \(name): its local header at \(entry.localHeader) is outside the archive") }
        let header = try Self.read(source, at: entry.localHeader, count: 30, "the local header of \(name)")
        guard Self.u32(header, 0) == 0x0403_4B50 else { throw ZipRefusal("entry \(name): no local header at byte \(entry.localHeader)") }
        let start = entry.localHeader + 30 + Self.u16(header, 26) + Self.u16(header, 28)
        guard start <= directoryStart, entry.size <= directoryStart - start else {
            throw ZipRefusal("entry \(name): \(entry.size) bytes at \(start) run past the entries' end (\(directoryStart))")
        }
        return start..<(start + entry.size)
    }

    // MARK: - Little-endian fields

    private static func read(_ source: any RandomAccessBytes, at offset: Int, count: Int, _ what: String) throws -> [UInt8] {
        do {
            return try source.bytes(at: offset, count: count)
        } catch {
            throw ZipRefusal("cannot read \(what): \(error)")
        }
    }

    private static func u16(_ b: [UInt8], _ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 }
    private static func u32(_ b: [UInt8], _ i: Int) -> Int { u16(b, i) | u16(b, i + 2) << 16 }
    /// A u64 that must fit in an Int (2⁶³ bytes is no file).
    private static func u64(_ b: [UInt8], _ i: Int) throws -> Int {
        let high = u32(b, i + 4)
        guard high < 0x8000_0000 else { throw ZipRefusal("a ZIP64 value of 2⁶³ or more") }
        return u32(b, i) | high << 32
    }
}

/// Why a zip archive was refused.
struct ZipRefusal: Error, CustomStringConvertible {
    let description: String
    init(_ reason: String) { description = reason }
}
