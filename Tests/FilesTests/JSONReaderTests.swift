import Files
import Foundation
import Testing

/// Reads any one JSON document to its end; the error if refused.
func check(_ text: String) -> JSONError? {
    check(Array(text.utf8))
}

func check(_ bytes: [UInt8]) -> JSONError? {
    var json = JSONReader(bytes)
    do {
        try json.skipValue()
        try json.finish()
        return nil
    } catch {
        return error
    }
}

@Suite("JSONReader: strict, total, depth-bounded")
struct JSONReaderTests {
    @Test("values are read as typed, strings unescaped")
    func typed() throws {
        let text = #" { "shape" : [2, -3, 0], "name": "a\/b\n\u00e9\ud83d\ude00\"", "skip": {"x": [true, false, null, 1.5e-3, {}]}, "n": 9223372036854775807 } "#
        var json = JSONReader(Array(text.utf8))
        var seen: [String] = []
        try json.beginObject()
        while let key = try json.nextKey() {
            seen.append(key)
            switch key {
            case "shape":
                var dims: [Int] = []
                try json.beginArray()
                while try json.nextElement() { dims.append(try json.readInteger()) }
                #expect(dims == [2, -3, 0])
            case "name": #expect(try json.readString() == "a/b\né😀\"")
            case "n": #expect(try json.readInteger() == Int.max)
            default: try json.skipValue()
            }
        }
        try json.finish()
        #expect(seen == ["shape", "name", "skip", "n"])
        #expect(check("[]") == nil && check("{}") == nil && check(" 0 ") == nil && check("-0.0E+1") == nil && check("\"\"") == nil)
    }

    @Test("readInteger takes JSON integers only, naming what it found", arguments: [
        ("2.0", "expected an integer, found 2.0"),
        ("2.5", "expected an integer, found 2.5"),
        ("1e3", "expected an integer, found 1e3"),
        ("true", "expected an integer, found true"),
        ("\"2\"", "expected an integer, found a string"),
        ("[2]", "expected an integer, found a list"),
        ("99999999999999999999", "integer 99999999999999999999 does not fit in 64 bits"),
        ("", "expected an integer, found the end of the text"),
    ])
    func integers(text: String, reason: String) {
        var json = JSONReader(Array(text.utf8))
        let e = #expect(throws: JSONError.self) { try json.readInteger() }
        #expect(e?.reason == reason, "\(text)")
    }

    @Test("malformed documents are refused with the reason and the byte", arguments: [
        ("[1,]", "expected a value after ',', found ']'", 3),
        (#"{"a":1,}"#, "expected a key after ',', found '}'", 7),
        (#"{"a":1 "b":2}"#, "expected ',' or '}', found a string", 7),
        ("[01]", "number with a leading zero", 1),
        ("[NaN]", "expected a value, found NaN", 1),
        ("[1] // c", "expected the end of the text, found '/'", 4),
        ("[1] x", "expected the end of the text, found x", 4),
        (#"["abc"#, "string not closed", 1),
        ("[\"a\tb\"]", "control character 9 in a string", 3),
        (#"["\x"]"#, #"invalid escape '\x'"#, 2),
        (#"["\ud800"]"#, #"lone surrogate \ud800"#, 2),
        (#"["\udc00"]"#, #"lone surrogate \udc00"#, 2),
        (#"["\u12G4"]"#, #"expected 4 hex digits after \u"#, 2),
        (#"{"a":1,"b":{"c":2,"c":3}}"#, "duplicate key 'c'", 18),
        (#"{"a": 1, "a": 1}"#, "duplicate key 'a'", 9),
        (#"{"a" 1}"#, "expected ':' after key 'a', found 1", 5),
        ("{1:2}", "expected a key in quotes, found 1", 1),
        ("-", "expected digits, found the end of the text", 1),
        ("1.", "expected digits after '.', found the end of the text", 2),
        ("1e+", "expected exponent digits, found the end of the text", 3),
        (".5", "expected a value, found .5", 0),
        ("tru", "expected a value, found tru", 0),
        ("", "expected a value, found the end of the text", 0),
    ])
    func malformed(text: String, reason: String, offset: Int) {
        #expect(check(text) == JSONError(reason, at: offset), "\(text)")
    }

    @Test("invalid UTF-8 in a string and stray bytes outside one are refused")
    func utf8() {
        #expect(check([0x22, 0xC3, 0x28, 0x22]) == JSONError("string is not valid UTF-8", at: 0))
        #expect(check([0x22, 0xED, 0xA0, 0x80, 0x22]) == JSONError("string is not valid UTF-8", at: 0))  // an encoded surrogate
        #expect(check([0x22, 0xC3, 0xA9, 0x22]) == nil)  // é
        #expect(check([0x5B, 0xFF, 0x5D]) == JSONError("expected a value, found byte 0xFF", at: 1))
    }

    @Test("nesting is bounded: 64 levels read, 65 refused, a million refused without a deep stack")
    func depth() {
        func nested(_ n: Int) -> String { String(repeating: "[", count: n) + String(repeating: "]", count: n) }
        #expect(check(nested(JSONReader.maxDepth)) == nil)
        #expect(check(nested(JSONReader.maxDepth + 1)) == JSONError("nesting deeper than 64 levels", at: 64))
        #expect(check(nested(1_000_000))?.reason == "nesting deeper than 64 levels")
        #expect(check(String(repeating: #"{"a":"#, count: 65) + "1" + String(repeating: "}", count: 65))?.reason == "nesting deeper than 64 levels")
    }

    @Test("whatever Foundation writes, the reader reads (random documents)")
    func foundationDocuments() throws {
        var state: UInt64 = 42
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33) % n
        }
        func value(_ depth: Int) -> Any {
            switch next(depth > 4 ? 4 : 7) {
            case 0: return next(2_000_000) - 1_000_000
            case 1: return Double(next(1000)) / 7
            case 2: return String((0..<next(8)).map { _ in ["a", "é", "\"", "\\", "/", "\n", "😀", "\u{1}"][next(8)] })
            case 3: return next(2) == 0
            case 4: return (0..<next(4)).map { _ in value(depth + 1) }
            case 5: return Dictionary(uniqueKeysWithValues: (0..<next(4)).map { i in ("k\(i)", value(depth + 1)) })
            default: return NSNull()
            }
        }
        for _ in 0..<300 {
            let document = (0..<next(5)).map { _ in value(0) }
            let data = try JSONSerialization.data(withJSONObject: document, options: [.fragmentsAllowed])
            #expect(check([UInt8](data)) == nil, "\(String(decoding: data, as: UTF8.self))")
        }
    }
}
