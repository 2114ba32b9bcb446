import Files
import Foundation
import Preview
import Themes

/// A problem in a theme file: the message names the file and the line.
public struct ThemeError: Error, CustomStringConvertible, Equatable {
    /// The theme file.
    public let file: String
    /// 1-based line number (0 when the whole file is concerned).
    public let line: Int
    /// What is wrong.
    public let reason: String
    /// "FILE:LINE: REASON".
    public var description: String { line > 0 ? "\(file):\(line): \(reason)" : "\(file): \(reason)" }
}

/// Colours of the UI by meaning (border, title, text, …), with fallbacks per colour depth.
public struct Theme: Sendable, Equatable {
    /// The semantic elements a theme colours.
    public enum Element: String, CaseIterable, Sendable {
        case background, border, title, text, dim, accent, bar
        case barEmpty = "bar-empty"
        case mark, warning, status
    }

    /// One element's colour at each depth; nil means the terminal's default colour.
    public struct Color: Sendable, Equatable {
        /// 0xRRGGBB for truecolor.
        public var rgb: UInt32?
        /// xterm 256-colour index.
        var index256: Int?
        /// ANSI 16-colour index (8–15 are the bright ones).
        var index16: Int?

        /// The terminal's default colour at every depth.
        static let terminalDefault = Color(rgb: nil, index256: nil, index16: nil)

        /// The colour number for `mode` (−1 for the terminal's default).
        public func number(for mode: ColorMode) -> Int32 {
            switch mode {
            case .truecolor: rgb.map { Int32(bitPattern: $0) } ?? -1
            case .palette256: Int32(index256 ?? index16 ?? -1)
            case .palette16: Int32(index16 ?? -1)
            case .mono: -1
            }
        }
    }

    /// The theme's name (the file name without `.theme`).
    public var name: String
    /// Colours by element; absent elements use the terminal's defaults.
    public var colors: [Element: Color]
    /// The map for one-channel previews.
    public var colormap: Colormap

    /// A colour of this theme.
    public subscript(element: Element) -> Color { colors[element] ?? .terminalDefault }

    /// The terminal's own colours: what is used when no theme file can be read.
    public static let plain = Theme(name: "plain", colors: [:], colormap: .grey)

    static let ansiNames = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]

    /// Parses a theme file's text; errors name `file` and the line.
    public static func parse(_ text: String, name: String, file: String) throws -> Theme {
        var theme = Theme(name: name, colors: [:], colormap: .grey)
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            // whole-line comments only: '#' also starts a colour
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            func fail(_ reason: String) -> ThemeError { ThemeError(file: file, line: n + 1, reason: reason) }
            let parts = trimmed.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty else { throw fail("expected 'element = colour', got '\(trimmed)'") }
            let (key, value) = (parts[0], parts[1])
            if key == "colormap" {
                guard let map = Colormap(rawValue: value) else {
                    throw fail("unknown colormap '\(value)' (known: \(Colormap.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                theme.colormap = map
                continue
            }
            guard let element = Element(rawValue: key) else {
                throw fail("unknown element '\(key)' (known: colormap, \(Element.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let fields = value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard (1...3).contains(fields.count) else { throw fail("expected TRUECOLOR [256-INDEX] [16-NAME] for '\(key)'") }
            var color = Color.terminalDefault
            if fields[0] != "default" {
                guard fields[0].hasPrefix("#"), fields[0].count == 7, let v = UInt32(fields[0].dropFirst(), radix: 16) else {
                    throw fail("'\(fields[0])' is not a #rrggbb colour or 'default'")
                }
                color.rgb = v
                color.index256 = ColorQuantizer.nearest256(RGB(hex: v))
                color.index16 = ColorQuantizer.nearest16(RGB(hex: v))
            }
            if fields.count >= 2 {
                guard let i = Int(fields[1]), (0...255).contains(i) else { throw fail("'\(fields[1])' is not a 256-colour index (0–255)") }
                color.index256 = i
            }
            if fields.count == 3 {
                guard let i = ansiIndex(fields[2]) else {
                    throw fail("'\(fields[2])' is not a 16-colour name (\(ansiNames.joined(separator: ", ")), or bright-…)")
                }
                color.index16 = i
            }
            theme.colors[element] = color
        }
        return theme
    }

    static func ansiIndex(_ name: String) -> Int? {
        if name.hasPrefix("bright-") { return ansiNames.firstIndex(of: String(name.dropFirst(7))).map { $0 + 8 } }
        return ansiNames.firstIndex(of: name)
    }

    /// The largest theme file read: 256 KiB (the bundled ones are about 1 KB).
    public static let fileLimit = ReadLimit(bytes: 256 << 10, what: "a theme file")

    /// Reads a theme file (a regular file of at most ``fileLimit``, UTF-8).
    public static func load(file url: URL) throws -> Theme {
        let bytes = try InputFile.contents(of: url.path, limit: fileLimit)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ThemeError(file: url.path, line: 0, reason: "not UTF-8 text")
        }
        return try parse(text, name: url.deletingPathExtension().lastPathComponent, file: url.path)
    }

    /// A theme by name or a theme file by path: a name is looked up first among the user's
    /// themes (`userThemes/NAME.theme`, so a user's `dusk.theme` replaces the bundled one), then
    /// among the bundled ones (dusk, paper, contrast); a value with a `/` or ending in `.theme`
    /// is a path.
    public static func load(_ nameOrPath: String, userThemes: String? = nil) throws -> Theme {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".theme") { return try load(file: URL(fileURLWithPath: nameOrPath)) }
        if let userThemes {
            let path = userThemes + "/\(nameOrPath).theme"
            var status = stat()
            // anything at that path is the user's (a FIFO or folder there is refused, not skipped)
            if lstat(path, &status) == 0 { return try load(file: URL(fileURLWithPath: path)) }
        }
        guard ThemeFiles.names.contains(nameOrPath) else {
            let user = userNames(in: userThemes)
            let known = "bundled: \(ThemeFiles.names.joined(separator: ", "))" + (user.isEmpty ? "" : "; yours: \(user.joined(separator: ", "))")
            throw ThemeError(file: nameOrPath, line: 0, reason: "no such theme (\(known); or give a path to a .theme file)")
        }
        return try load(file: ThemeFiles.folder.appendingPathComponent("\(nameOrPath).theme"))
    }

    /// The themes `t` cycles through: the bundled ones, then the user's others in name order.
    public static func names(userThemes: String?) -> [String] {
        ThemeFiles.names + userNames(in: userThemes).filter { !ThemeFiles.names.contains($0) }
    }

    /// The most user themes listed (a folder of thousands is not a theme collection).
    static let largestUserThemeCount = 100

    /// The names of the `NAME.theme` files in `folder`, sorted; none if it cannot be listed.
    static func userNames(in folder: String?) -> [String] {
        guard let folder, let files = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        let names = files.filter { $0.hasSuffix(".theme") && $0.count > 6 && !$0.hasPrefix(".") }.map { String($0.dropLast(6)) }
        return Array(names.sorted().prefix(largestUserThemeCount))
    }
}
