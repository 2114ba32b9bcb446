import Files

// MARK: - The header: strict JSON, entries checked one by one, then the layout as a whole

extension SafeTensorsFile {
    /// The entries and metadata of a header `text`, for a data section of `dataCount` bytes.
    static func parseHeader(_ text: [UInt8], dataCount: Int, path: String) throws -> ([String: Entry], [String: String]) {
        let fail = { (reason: String) in SafeTensorsError(file: path, reason) }
        var json = JSONReader(text)
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        do {
            try json.beginObject()
            while let name = try json.nextKey() {
                if name == "__metadata__" {
                    metadata = try readMetadata(&json, fail: fail)
                } else {
                    entries[name] = try readEntry(&json, name: name, dataCount: dataCount, fail: fail)
                }
            }
            try json.finish()
        } catch let error as JSONError {
            throw fail("header: \(error.reason) at byte \(error.offset) of the header")
        }
        try checkLayout(entries, dataCount: dataCount, fail: fail)
        return (entries, metadata)
    }

    /// `{"dtype": …, "shape": […], "data_offsets": [begin, end]}`, checked against itself and
    /// the data's size. JSON errors inside it name the tensor.
    private static func readEntry(_ json: inout JSONReader, name: String, dataCount: Int,
                                  fail: (String) -> SafeTensorsError) throws -> Entry {
        let tensor = "tensor '\(name)'"
        var dtype: DType?, shape: [Int]?, offsets: [Int]?
        do {
            try json.beginObject()
            while let key = try json.nextKey() {
                switch key {
                case "dtype":
                    let text = try json.readString()
                    guard let d = DType(rawValue: text) else { throw fail("\(tensor): dtype \(text) is not supported (F32, F16, BF16)") }
                    dtype = d
                case "shape":
                    shape = try readIntegers(&json, atMost: maxRank, "shape has more than \(maxRank) dimensions")
                case "data_offsets":
                    offsets = try readIntegers(&json, atMost: 2, "data_offsets has more than 2 values")
                default:
                    try json.skipValue()
                }
            }
        } catch let error as JSONError {
            throw fail("\(tensor): \(error.reason) at byte \(error.offset) of the header")
        }
        guard let dtype else { throw fail("\(tensor): no dtype") }
        guard let shape else { throw fail("\(tensor): no shape") }
        guard let o = offsets else { throw fail("\(tensor): no data_offsets") }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw fail("\(tensor): shape \(shape) has a negative dimension") }
        guard o.count == 2, o[0] >= 0, o[0] <= o[1] else { throw fail("\(tensor): data_offsets \(o) is not [begin, end] with 0 ≤ begin ≤ end") }
        guard o[1] <= dataCount else {
            throw fail("\(tensor): data_offsets \(o) run past the end of the data (\(dataCount) bytes)")
        }
        var elements = 1
        for d in shape {
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail("\(tensor): shape \(shape) overflows") }
            elements = p
        }
        let (byteCount, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, byteCount == o[1] - o[0] else {
            throw fail("\(tensor): \(o[1] - o[0]) bytes for shape \(shape) of \(dtype.rawValue) (expected \(overflow ? "more than 2⁶³" : "\(byteCount)"))")
        }
        return Entry(dtype: dtype, shape: shape, range: o[0]..<o[1])
    }

    /// The most dimensions a tensor may have: numpy's limit (PyTorch's is lower). Without one, a
    /// 16 MB header of `[1,1,1,…]` would cost 64 MB of shape.
    static let maxRank = 64

    /// A JSON list of at most `limit` integers (`[2, 3]`; not `[2.0]`, `[1e3]` or `[true]`).
    private static func readIntegers(_ json: inout JSONReader, atMost limit: Int, _ tooMany: String) throws(JSONError) -> [Int] {
        var values: [Int] = []
        try json.beginArray()
        while try json.nextElement() {
            guard values.count < limit else { throw JSONError(tooMany, at: json.offset) }
            values.append(try json.readInteger())
        }
        return values
    }

    /// `"__metadata__": {"key": "value", …}` (strings only, as the reference crate has it) or null.
    private static func readMetadata(_ json: inout JSONReader, fail: (String) -> SafeTensorsError) throws -> [String: String] {
        var metadata: [String: String] = [:]
        if try json.peekKind() == .null {
            try json.skipValue()
            return metadata
        }
        try json.beginObject()
        while let key = try json.nextKey() {
            guard try json.peekKind() == .string else { throw fail("__metadata__: the value of '\(key)' is not a string") }
            metadata[key] = try json.readString()
        }
        return metadata
    }

    /// The tensors, sorted by offset, must tile the data exactly, as in the reference crate
    /// (`Metadata::validate` and `MetadataIncompleteBuffer`): no overlap, no gap, nothing after.
    private static func checkLayout(_ entries: [String: Entry], dataCount: Int, fail: (String) -> SafeTensorsError) throws {
        let ordered = entries.sorted {
            ($0.value.range.lowerBound, $0.value.range.upperBound, $0.key) < ($1.value.range.lowerBound, $1.value.range.upperBound, $1.key)
        }
        var end = 0
        var previous: (name: String, range: Range<Int>)?
        for (name, entry) in ordered {
            let r = entry.range
            if r.lowerBound < end, let previous {
                throw fail("tensor '\(name)': data_offsets [\(r.lowerBound), \(r.upperBound)] overlap tensor '\(previous.name)' [\(previous.range.lowerBound), \(previous.range.upperBound)]")
            }
            if r.lowerBound > end {
                let after = previous.map { "after tensor '\($0.name)' " } ?? "at the start of the data "
                throw fail("bytes \(end)..<\(r.lowerBound) of the data \(after)belong to no tensor (tensor '\(name)' starts at \(r.lowerBound))")
            }
            end = r.upperBound
            previous = (name, r)
        }
        guard end == dataCount else {
            let last = previous.map { "after the last tensor '\($0.name)' " } ?? "(with no tensor) "
            throw fail("\(dataCount - end) bytes of data \(last)belong to no tensor")
        }
    }
}
