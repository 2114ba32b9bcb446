import Foundation
import Hub
#if canImport(Glibc)
    import Glibc
#endif

/// A Hugging Face hub of the test's own, over plain sockets on 127.0.0.1 (port 0: the kernel
/// picks): the `resolve` endpoint (`/org/name/resolve/REV/PATH`, HEAD and GET) answers as the hub
/// does — `X-Repo-Commit`, a quoted `ETag` (a SHA-1-sized id for small files), 404 with
/// `X-Error-Code` (RepoNotFound, RevisionNotFound, EntryNotFound) — and sends LFS files
/// (`.safetensors`, `.bin`) by a 302 to a second listener, the "CDN", with `X-Linked-Etag` (their
/// SHA-256) and `X-Linked-Size`. Both honour `Range: bytes=N-` (206). Every request's method,
/// path and headers are recorded. Faults: a connection cut after half of a blob, a blob with a
/// byte changed.
final class FakeHub: @unchecked Sendable {
    struct Request: Sendable {
        let server: String  // "hub" or "cdn"
        let method: String
        let path: String
        let headers: [String: String]
    }

    /// A repository: its branches (and tags) and the files of each commit.
    struct Repo {
        var refs: [String: String]
        var commits: [String: [String: [UInt8]]]
    }

    private let lock = NSLock()
    private var _repos: [String: Repo] = [:]
    private var _requests: [Request] = []
    private var _cutOnce: Set<String> = []
    private var _corrupt: Set<String> = []
    private var listeners: [Int32] = []
    private var running = true
    private var threads: [Thread] = []
    private(set) var hubPort: UInt16 = 0
    private(set) var cdnPort: UInt16 = 0

    var endpoint: URL { URL(string: "http://127.0.0.1:\(hubPort)")! }
    var requests: [Request] { lock.withLock { _requests } }
    func add(_ name: String, _ repo: Repo) { lock.withLock { _repos[name] = repo } }
    /// The next GET of this blob (by SHA-256) stops after half of its bytes.
    func cutOnce(_ sha: String) { lock.withLock { _ = _cutOnce.insert(sha) } }
    /// The CDN sends this blob with its first byte changed.
    func corrupt(_ sha: String) { lock.withLock { _ = _corrupt.insert(sha) } }

    init() throws {
        for role in ["hub", "cdn"] {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw HubError("socket failed") }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = 0
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0, listen(fd, 16) == 0 else { throw HubError("bind/listen failed") }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            let port = UInt16(bigEndian: address.sin_port)
            if role == "hub" { hubPort = port } else { cdnPort = port }
            listeners.append(fd)
            let thread = Thread { [self] in acceptLoop(fd, role: role) }
            threads.append(thread)
            thread.start()
        }
    }

    /// Stops listening: later connections are refused.
    func stop() {
        lock.withLock { running = false }
        for fd in listeners { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
        listeners = []
        Thread.sleep(forTimeInterval: 0.25)
    }

    deinit { if !listeners.isEmpty { stop() } }

    private func acceptLoop(_ fd: Int32, role: String) {
        while lock.withLock({ running }) {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            guard lock.withLock({ running }) else { return }
            let client = accept(fd, nil, nil)
            if client < 0 { continue }
            handle(client, role: role)
            close(client)
        }
    }

    private func handle(_ fd: Int32, role: String) {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !data.containsHeaderEnd() {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return }
            data += buffer[0..<n]
            if data.count > 65536 { return }
        }
        let text = String(decoding: data, as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2 else { return }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let request = Request(server: role, method: String(parts[0]), path: String(parts[1]), headers: headers)
        lock.withLock { _requests.append(request) }
        let (status, responseHeaders, body, cutAt) = role == "hub" ? hubAnswer(request) : cdnAnswer(request)
        var head = "HTTP/1.1 \(status) \(status == 200 ? "OK" : status == 206 ? "Partial Content" : status == 302 ? "Found" : "Error")\r\n"
        var all = responseHeaders
        all["Content-Length"] = all["Content-Length"] ?? "\(body.count)"
        all["Connection"] = "close"
        for (k, v) in all { head += "\(k): \(v)\r\n" }
        head += "\r\n"
        sendAll(fd, Array(head.utf8))
        if request.method == "GET" {
            sendAll(fd, cutAt.map { Array(body.prefix($0)) } ?? body)
        }
    }

    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    typealias Answer = (Int, [String: String], [UInt8], Int?)

    static func isLFS(_ path: String) -> Bool { path.hasSuffix(".safetensors") || path.hasSuffix(".bin") }
    /// The stand-in git blob id of a small file: 40 hex digits derived from its bytes.
    static func gitID(_ bytes: [UInt8]) -> String { String(SHA256.hex(Array("blob ".utf8) + bytes).prefix(40)) }

    private func hubAnswer(_ r: Request) -> Answer {
        // /org/name/resolve/REV/PATH
        let parts = r.path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 6, parts[3] == "resolve" else { return (404, [:], [], nil) }
        let repoName = parts[1] + "/" + parts[2]
        let revision = parts[4].removingPercentEncoding ?? parts[4]
        let path = parts[5...].joined(separator: "/")
        guard let repo = lock.withLock({ _repos[repoName] }) else { return (404, ["X-Error-Code": "RepoNotFound"], [], nil) }
        guard let commit = repo.refs[revision] ?? (repo.commits[revision] != nil ? revision : nil), let files = repo.commits[commit] else {
            return (404, ["X-Error-Code": "RevisionNotFound"], [], nil)
        }
        guard let bytes = files[path] else { return (404, ["X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit], [], nil) }
        if FakeHub.isLFS(path) {
            let sha = SHA256.hex(bytes)
            return (302, ["Location": "http://127.0.0.1:\(cdnPort)/blobs/\(sha)?signature=abc", "X-Linked-Etag": "\"\(sha)\"",
                          "X-Linked-Size": "\(bytes.count)", "X-Repo-Commit": commit, "ETag": "\"\(FakeHub.gitID(Array(sha.utf8)))\"",
                          "Content-Length": "0"], [], nil)
        }
        return ranged(r, bytes, ["ETag": "\"\(FakeHub.gitID(bytes))\"", "X-Repo-Commit": commit])
    }

    private func cdnAnswer(_ r: Request) -> Answer {
        let path = r.path.split(separator: "?")[0]
        guard path.hasPrefix("/blobs/") else { return (404, [:], [], nil) }
        let sha = String(path.dropFirst("/blobs/".count))
        let all = lock.withLock { _repos.values.flatMap { $0.commits.values.flatMap { $0.values } } }
        guard var bytes = all.first(where: { SHA256.hex($0) == sha }) else { return (404, [:], [], nil) }
        if lock.withLock({ _corrupt.contains(sha) }) { bytes[0] ^= 0xff }
        var answer = ranged(r, bytes, ["ETag": "\"\(sha)\""])
        if r.method == "GET", lock.withLock({ _cutOnce.remove(sha) != nil }) { answer.3 = answer.2.count / 2 }
        return answer
    }

    private func ranged(_ r: Request, _ bytes: [UInt8], _ headers: [String: String]) -> Answer {
        if let range = r.headers["range"], range.hasPrefix("bytes="), range.hasSuffix("-"),
           let start = Int(range.dropFirst(6).dropLast()) {
            guard start < bytes.count else { return (416, headers.merging(["Content-Range": "bytes */\(bytes.count)"]) { $1 }, [], nil) }
            return (206, headers.merging(["Content-Range": "bytes \(start)-\(bytes.count - 1)/\(bytes.count)"]) { $1 }, Array(bytes[start...]), nil)
        }
        return (200, headers, bytes, nil)
    }
}

extension [UInt8] {
    func containsHeaderEnd() -> Bool {
        guard count >= 4 else { return false }
        for i in 0...(count - 4) where self[i] == 13 && self[i + 1] == 10 && self[i + 2] == 13 && self[i + 3] == 10 { return true }
        return false
    }
}
