import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the hub says about one file.
struct FileInfo {
    let commit: String
    let etag: String
    let size: Int64?
    /// Where its bytes are (the resolve URL itself, or the CDN it redirects to).
    let location: URL
    /// An LFS file, named by its SHA-256.
    var isLFS: Bool { etag.utf8.count == 64 }
}

/// One download of a model's files into the cache.
struct Download {
    let name: HubName
    let repo: RepoCache
    let settings: HubSettings
    let progress: (@Sendable (HubProgress) -> Void)?
    let client = HTTPClient()

    func run() throws -> URL {
        // the first answer pins the commit; every later file is asked for at that commit
        let index = try info("model_index.json", at: name.revision)
        var commit: String
        let layout: RepoLayout
        switch index {
        case .found(let file):
            commit = file.commit
            layout = .pipeline
        case .missing(let c):
            layout = .model
            if let c {
                commit = c
            } else {
                // a server that sends no commit with its 404: the config tells it
                guard case .found(let file) = try info("config.json", at: name.revision) else {
                    throw HubError("\(name): the hub has neither model_index.json nor config.json for it: not a diffusers model")
                }
                commit = file.commit
            }
            try markMissing(commit, "model_index.json")
        }
        if case .found(let file) = index { try fetch(file, as: "model_index.json", commit: commit) }
        // the config, required
        guard case .found(let config) = try info(layout.config, at: commit) else {
            throw HubError("\(name)@\(commit.prefix(12)): the hub has no \(layout.config)\(layout == .model ? " (nor model_index.json)" : ""): not a diffusers UNet")
        }
        try fetch(config, as: layout.config, commit: commit)
        // the weights: safetensors, else the pickle
        var gotWeights = false
        for file in layout.weights {
            if try repo.entry(commit, file) == .present { gotWeights = true; break }
            switch try info(file, at: commit) {
            case .found(let weights):
                try fetch(weights, as: file, commit: commit)
                gotWeights = true
            case .missing:
                try markMissing(commit, file)
            }
            if gotWeights { break }
        }
        guard gotWeights else {
            throw HubError("\(name)@\(commit.prefix(12)): the hub has no \(layout.weights.joined(separator: " nor "))")
        }
        // the scheduler config, optional (DDPM's defaults apply without one)
        if try repo.entry(commit, layout.scheduler) == .absent {
            switch try info(layout.scheduler, at: commit) {
            case .found(let file): try fetch(file, as: layout.scheduler, commit: commit)
            case .missing: try markMissing(commit, layout.scheduler)
            }
        }
        if !name.revisionIsCommit { try writeRef(commit) }
        return URL(fileURLWithPath: repo.snapshot(commit))
    }

    enum Lookup {
        case found(FileInfo)
        /// The hub has no such file (at the commit given, when it said which).
        case missing(commit: String?)
    }

    /// The resolve URL of `path` at `revision`: `ENDPOINT/org/name/resolve/REVISION/PATH`, the
    /// revision percent-encoded (`refs/pr/1` → `refs%2Fpr%2F1`, as huggingface_hub sends it).
    func resolveURL(_ path: String, at revision: String) throws(HubError) -> URL {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        let rev = revision.addingPercentEncoding(withAllowedCharacters: allowed) ?? revision
        let text = settings.endpoint.absoluteString + "/" + name.repo + "/resolve/" + rev + "/" + path
        guard let url = URL(string: text) else { throw HubError("\(text): not a URL") }
        return url
    }

    /// Whether `url` is on the hub itself (same scheme, host and port): only there does the token go.
    func isHub(_ url: URL) -> Bool {
        func port(_ u: URL) -> Int? { u.port ?? (u.scheme?.lowercased() == "https" ? 443 : u.scheme?.lowercased() == "http" ? 80 : nil) }
        return url.scheme?.lowercased() == settings.endpoint.scheme?.lowercased()
            && url.host?.lowercased() == settings.endpoint.host?.lowercased() && port(url) == port(settings.endpoint)
    }

    func headers(for url: URL) -> [String: String] {
        var h = ["User-Agent": "ddim"]
        if let token = settings.token, isHub(url) { h["Authorization"] = "Bearer \(token)" }
        return h
    }

    /// `Location` of a redirect, resolved against the URL that sent it.
    func location(_ response: HTTPClient.Response, from url: URL) throws(HubError) -> URL {
        guard let text = response.header("Location"), let next = URL(string: text, relativeTo: url)?.absoluteURL,
              let scheme = next.scheme?.lowercased(), ["http", "https"].contains(scheme)
        else { throw HubError("\(HTTPClient.display(url)): HTTP \(response.status) without a usable Location") }
        return next
    }

    /// The hub's metadata for `path` (a HEAD of its resolve URL; redirects on the hub's own host,
    /// a renamed repository, are followed; one to another host is where the bytes are).
    func info(_ path: String, at revision: String) throws -> Lookup {
        var url = try resolveURL(path, at: revision)
        for _ in 0..<6 {
            let response: HTTPClient.Response
            do { response = try client.head(url, headers: headers(for: url)) } catch { throw TransportFailure(error: error) }
            let commit = response.header("X-Repo-Commit")
            switch response.status {
            case 200, 301, 302, 303, 307, 308:
                let target = response.status == 200 ? url : try location(response, from: url)
                if response.status != 200, isHub(target), response.header("X-Linked-Etag") == nil {
                    url = target  // the hub moved the repository: ask again there
                    continue
                }
                return .found(try fileInfo(response, url: url, location: target, path: path))
            case 404:
                let code = response.header("X-Error-Code")
                if code == "RepoNotFound" { throw notFound() }
                if code == "RevisionNotFound" {
                    throw HubError("\(name): the hub has no revision \(HubName.quoted(revision)) (\(HTTPClient.display(url)))")
                }
                return .missing(commit: commit.flatMap { HubName.isCommitHash($0) ? $0 : nil })
            case 401: throw notFound()
            case 403:
                throw HubError("\(HTTPClient.display(url)): HTTP 403, access refused (a gated model: accept its terms on the hub and set HF_TOKEN)")
            default:
                throw HubError("\(HTTPClient.display(url)): HTTP \(response.status)")
            }
        }
        throw HubError("\(HTTPClient.display(url)): too many redirects")
    }

    func notFound() -> HubError {
        HubError("\(name.repo): no such repository on \(settings.endpoint.absoluteString)\(settings.token == nil ? " (or it is private or gated: set HF_TOKEN)" : " (or HF_TOKEN does not give access to it)")")
    }

    private func fileInfo(_ response: HTTPClient.Response, url: URL, location: URL, path: String) throws(HubError) -> FileInfo {
        let shown = HTTPClient.display(url)
        guard let commit = response.header("X-Repo-Commit"), HubName.isCommitHash(commit) else {
            throw HubError("\(shown): the answer has no X-Repo-Commit (a commit hash); is HF_ENDPOINT a Hugging Face hub?")
        }
        var etag = response.header("X-Linked-Etag") ?? response.header("ETag") ?? ""
        if etag.hasPrefix("W/") { etag.removeFirst(2) }
        etag = etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        let lowercaseHex = etag.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        guard lowercaseHex, etag.utf8.count == 40 || etag.utf8.count == 64 else {
            throw HubError("\(shown): the ETag \(HubName.quoted(etag)) is not a blob id (a git SHA-1 or an LFS SHA-256)")
        }
        let sizeText = response.header("X-Linked-Size") ?? (response.status == 200 ? response.header("Content-Length") : nil)
        var size: Int64?
        if let sizeText {
            guard let s = Int64(sizeText.trimmingCharacters(in: .whitespaces)), s >= 0 else {
                throw HubError("\(shown): the size \(HubName.quoted(sizeText)) is not a number of bytes")
            }
            size = s
        }
        return FileInfo(commit: commit, etag: etag, size: size, location: location)
    }

    /// Puts `file` into the cache as `path` of `commit`: the blob (unless there already), then the link.
    func fetch(_ file: FileInfo, as path: String, commit: String) throws {
        let fm = FileManager.default
        if try repo.entry(commit, path) == .present { return }
        try makeFolders(repo.folder + "/blobs")
        let blob = repo.blob(file.etag)
        if !fm.fileExists(atPath: blob) {
            let lock = try BlobLock(folder: settings.cache + "/.locks/" + name.folderName, etag: file.etag)
            defer { lock.release() }
            if !fm.fileExists(atPath: blob) { try downloadBlob(file, path: path, to: blob) }
        }
        try link(path, commit: commit, etag: file.etag)
    }

    /// The bytes into `blob + ".incomplete"` (resumed), checked, renamed into `blob`.
    private func downloadBlob(_ file: FileInfo, path: String, to blob: String) throws {
        let partial = blob + ".incomplete"
        let fd = open(partial, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw HubError("\(partial): cannot be written: \(errorText())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { throw HubError("\(partial): not a regular file") }
        var have = Int64(info.st_size)
        if let size = file.size, have > size {
            guard ftruncate(fd, 0) == 0 else { throw HubError("\(partial): cannot be truncated: \(errorText())") }
            have = 0
        }
        defer { progress?(.finished(file: path)) }
        if have != file.size {
            try transfer(file, path: path, fd: fd, have: have, partial: partial)
        }
        guard fsync(fd) == 0 else { throw HubError("\(partial): cannot be written: \(errorText())") }
        guard fstat(fd, &info) == 0 else { throw HubError("\(partial): \(errorText())") }
        if let size = file.size, Int64(info.st_size) != size {
            unlink(partial)
            throw HubError("\(HTTPClient.display(file.location)): \(info.st_size) bytes came, the hub said \(size); the file was deleted: run again")
        }
        if file.isLFS {
            let digest = try sha256(ofFile: partial)
            guard digest == file.etag else {
                unlink(partial)
                throw HubError("\(HTTPClient.display(file.location)): the SHA-256 of what came (\(digest)) is not the hub's \(file.etag) for \(path); the download was deleted: run again")
            }
        }
        guard rename(partial, blob) == 0 else { throw HubError("\(blob): cannot be created: \(errorText())") }
    }

    /// One GET of the bytes (following redirects, the token to the hub's host only), appended to
    /// `fd` from `have` on when the server honours `Range`, from 0 when it answers 200.
    private func transfer(_ file: FileInfo, path: String, fd: Int32, have: Int64, partial: String) throws {
        var url = file.location
        let written = Counter(have)
        let total = file.size
        let report = progress
        for _ in 0..<6 {
            var h = headers(for: url)
            let start = written.value
            if start > 0 { h["Range"] = "bytes=\(start)-" }
            let shownURL = HTTPClient.display(url)
            let response: HTTPClient.Response
            do {
                response = try client.get(url, headers: h, accept: { response in
                    switch response.status {
                    case 200:
                        // the whole file from its start: what was kept goes
                        if ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) < 0 { return false }
                        written.value = 0
                        return true
                    case 206:
                        // a 206 must continue where the file ends
                        guard let range = response.header("Content-Range"), range.hasPrefix("bytes \(start)-") else { return false }
                        return lseek(fd, off_t(start), SEEK_SET) >= 0
                    default:
                        return false
                    }
                }, body: { data in
                    let failure: String? = data.withUnsafeBytes { raw -> String? in
                        var offset = 0
                        while offset < raw.count {
                            guard let base = raw.baseAddress else { return nil }
                            let n = write(fd, base + offset, raw.count - offset)
                            if n < 0 { if errno == EINTR { continue }; return String(cString: strerror(errno)) }
                            offset += n
                        }
                        return nil
                    }
                    if let failure { throw HubError("\(partial): cannot be written: \(failure)") }
                    written.value += Int64(data.count)
                    report?(.received(file: path, done: written.value, total: total))
                })
            } catch let error as HubError {
                let got = written.value
                throw TransportFailure(error: HubError("\(error.description)\(got > 0 ? " after \(got)\(total.map { " of \($0)" } ?? "") bytes; \(partial) is kept: run again to resume" : "")"))
            }
            switch response.status {
            case 200, 206:
                if response.status == 206, response.header("Content-Range")?.hasPrefix("bytes \(start)-") != true {
                    throw HubError("\(shownURL): HTTP 206 with Content-Range \(HubName.quoted(response.header("Content-Range") ?? "")) for Range bytes=\(start)-")
                }
                return
            case 301, 302, 303, 307, 308:
                url = try location(response, from: url)
            case 416:
                // a range past the end: start again from nothing
                guard ftruncate(fd, 0) == 0 else { throw HubError("\(partial): cannot be truncated: \(errorText())") }
                written.value = 0
            case 401, 403, 404:
                throw HubError("\(shownURL): HTTP \(response.status) for \(name)'s \(path)")
            default:
                throw HubError("\(shownURL): HTTP \(response.status)")
            }
        }
        throw HubError("\(HTTPClient.display(file.location)): too many redirects")
    }

    /// `snapshots/COMMIT/PATH` → `../…/blobs/ETAG`, put in place by a rename.
    private func link(_ path: String, commit: String, etag: String) throws {
        let target = repo.snapshot(commit) + "/" + path
        let folder = (target as NSString).deletingLastPathComponent
        try makeFolders(folder)
        let depth = path.split(separator: "/").count + 1
        let relative = String(repeating: "../", count: depth) + "blobs/" + etag
        let temporary = folder + "/.\((path as NSString).lastPathComponent).\(getpid()).link"
        unlink(temporary)
        guard symlink(relative, temporary) == 0 else { throw HubError("\(target): cannot create the link: \(errorText())") }
        guard rename(temporary, target) == 0 else {
            let reason = errorText()
            unlink(temporary)
            throw HubError("\(target): cannot create the link: \(reason)")
        }
    }

    /// `.no_exist/COMMIT/PATH`, as huggingface_hub records a file the hub does not have (best effort).
    func markMissing(_ commit: String, _ path: String) throws {
        let marker = repo.noExist(commit, path)
        try? makeFolders((marker as NSString).deletingLastPathComponent)
        if !FileManager.default.fileExists(atPath: marker) { _ = FileManager.default.createFile(atPath: marker, contents: Data()) }
    }

    /// `refs/REVISION` ← the commit, through a temporary file and a rename.
    private func writeRef(_ commit: String) throws {
        let ref = repo.ref(name.revision)
        if (try? repo.commit(forRef: name.revision)) == commit { return }
        let folder = (ref as NSString).deletingLastPathComponent
        try makeFolders(folder)
        let temporary = ref + ".\(getpid()).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(commit.utf8)) else {
            throw HubError("\(ref): cannot be written")
        }
        guard rename(temporary, ref) == 0 else {
            let reason = errorText()
            unlink(temporary)
            throw HubError("\(ref): cannot be written: \(reason)")
        }
    }

    func makeFolders(_ path: String) throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw HubError("\(path): cannot create the folder: \((error as NSError).localizedFailureReason ?? error.localizedDescription)")
        }
    }
}

/// The SHA-256 of a file, read 1 MiB at a time.
func sha256(ofFile path: String) throws(HubError) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw HubError("\(path): cannot be read: \(errorText())") }
    defer { close(fd) }
    var hash = SHA256()
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 { if errno == EINTR { continue }; throw HubError("\(path): cannot be read: \(errorText())") }
        if n == 0 { break }
        hash.update(chunk[0..<n])
    }
    return hash.hexDigest()
}

func errorText() -> String { String(cString: strerror(errno)) }

/// A count shared with the transfer's callbacks.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var _value: Int64
    init(_ value: Int64) { _value = value }
    var value: Int64 {
        get { lock.withLock { _value } }
        set { lock.withLock { _value = newValue } }
    }
}

/// `flock` on `.locks/models--org--name/ETAG.lock`, the file huggingface_hub locks: two
/// downloads of one blob, by ddim or by diffusers, take turns.
private struct BlobLock {
    let fd: Int32

    init(folder: String, etag: String) throws {
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw HubError("\(folder): cannot create the folder")
        }
        let path = folder + "/" + etag + ".lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw HubError("\(path): cannot be opened: \(errorText())") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            FileHandle.standardError.write(Data("waiting for another download of \(etag.prefix(12))… (\(path))\n".utf8))
            while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
        }
    }

    func release() {
        _ = flock(fd, LOCK_UN)
        close(fd)
    }
}
