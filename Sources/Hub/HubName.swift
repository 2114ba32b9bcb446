/// A model on the Hugging Face hub as `--model` names it: `org/name` or `org/name@revision`.
///
/// Names are checked as strictly as the hub's own client does (huggingface_hub's
/// `validate_repo_id`): two parts, each of letters, digits, `-`, `_` and `.`, starting and ending
/// with a letter, digit or `_`, without `--` or `..`, not ending in `.git`, at most 96 characters
/// in all. A revision is a branch, a tag or a 40-digit commit hash: letters, digits, `-_./`,
/// without `..` or empty parts (`refs/pr/1` is one), at most 200 characters.
public struct HubName: Sendable, Equatable, CustomStringConvertible {
    /// `org/name`.
    public let repo: String
    /// The revision given after `@`; nil for the default branch.
    public let givenRevision: String?

    /// The revision asked for: the given one, or `main`.
    public var revision: String { givenRevision ?? "main" }

    /// Whether the revision is a full commit hash (a snapshot, without a ref to read).
    public var revisionIsCommit: Bool { HubName.isCommitHash(revision) }

    /// The repository's folder in the cache: `models--org--name`.
    public var folderName: String { "models--" + repo.replacingOccurrences(of: "/", with: "--") }

    /// `org/name` or `org/name@revision`, as given.
    public var description: String { repo + (givenRevision.map { "@" + $0 } ?? "") }

    /// Parses `org/name[@revision]`; anything else is refused with one line saying what is wrong.
    public init(parsing text: String) throws(HubError) {
        var repoPart = Substring(text), revisionPart: Substring?
        if let at = text.firstIndex(of: "@") {
            repoPart = text[..<at]
            revisionPart = text[text.index(after: at)...]
        }
        if let problem = HubName.repoProblem(repoPart) {
            throw HubError("\(HubName.quoted(text)) is not a folder, nor a hub name (org/name[@revision]): \(problem)")
        }
        if let revisionPart, let problem = HubName.revisionProblem(revisionPart) {
            throw HubError("\(HubName.quoted(text)): the revision \(problem)")
        }
        repo = String(repoPart)
        givenRevision = revisionPart.map(String.init)
    }

    /// Whether `text` could be meant as a hub name (it has the shape `a/b` or `a/b@c` with no other
    /// slash before the `@`); used to word the error for a missing local folder.
    public static func looksLikeHubName(_ text: String) -> Bool {
        let repo = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return repo.split(separator: "/", omittingEmptySubsequences: false).count == 2 && !repo.hasPrefix(".")
    }

    /// Forty lowercase hexadecimal digits.
    public static func isCommitHash<S: StringProtocol>(_ text: S) -> Bool {
        text.utf8.count == 40 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    private static func isNameByte(_ b: UInt8) -> Bool {
        (0x30...0x39).contains(b) || (0x41...0x5a).contains(b) || (0x61...0x7a).contains(b) || b == 0x2d || b == 0x5f || b == 0x2e
    }

    private static func isWordByte(_ b: UInt8) -> Bool { isNameByte(b) && b != 0x2d && b != 0x2e }

    private static func repoProblem(_ repo: Substring) -> String? {
        let parts = repo.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            return parts.count == 1 ? "no '/' between the organisation and the name" : "more than one '/'"
        }
        guard repo.utf8.count <= 96 else { return "longer than 96 characters" }
        for part in parts {
            guard let first = part.utf8.first, let last = part.utf8.last else { return "an empty part" }
            if let bad = part.unicodeScalars.first(where: { !$0.isASCII || !isNameByte(UInt8($0.value)) }) {
                return "the character \(quoted(String(bad))) (names have letters, digits, '-', '_' and '.')"
            }
            guard isWordByte(first), isWordByte(last) else { return "\(quoted(String(part))) must start and end with a letter, a digit or '_'" }
        }
        if repo.contains("--") || repo.contains("..") { return "'--' and '..' are not allowed" }
        if repo.hasSuffix(".git") { return "a name cannot end in .git" }
        return nil
    }

    private static func revisionProblem(_ revision: Substring) -> String? {
        guard !revision.isEmpty else { return "after '@' is empty" }
        guard revision.utf8.count <= 200 else { return "is longer than 200 characters" }
        if let bad = revision.unicodeScalars.first(where: { !$0.isASCII || !(isNameByte(UInt8($0.value)) || $0 == "/") }) {
            return "has the character \(quoted(String(bad))) (revisions have letters, digits, '-', '_', '.' and '/')"
        }
        for part in revision.split(separator: "/", omittingEmptySubsequences: false) {
            if part.isEmpty || part == "." || part.contains("..") { return "\(quoted(String(revision))) has an empty part, '.' or '..'" }
        }
        if revision.hasPrefix("-") { return "cannot start with '-'" }
        return nil
    }

    /// `text` in quotes, its control characters escaped.
    static func quoted(_ text: String) -> String {
        var out = "'"
        for s in text.unicodeScalars.prefix(200) {
            if s.value < 0x20 || s.value == 0x7f { out += "\\u{\(String(s.value, radix: 16))}" } else { out.unicodeScalars.append(s) }
        }
        return out + (text.unicodeScalars.count > 200 ? "…'" : "'")
    }
}
