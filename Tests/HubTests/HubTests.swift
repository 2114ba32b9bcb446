import Engine
import Foundation
import Hub
import Imaging
import Testing

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

/// The built `ddim` beside this test binary.
let ddimBinary: URL = {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("ddim")
}()

/// One `ddim` run: status and standard error.
func runDDIM(_ arguments: [String], environment: [String: String], directory: String? = nil) throws -> (status: Int32, stderr: String) {
    let p = Process()
    if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
    p.executableURL = ddimBinary
    p.arguments = arguments
    var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HF_") && $0.key != "HUGGINGFACE_HUB_CACHE" }
    env.merge(environment) { $1 }
    p.environment = env
    let err = Pipe()
    p.standardOutput = FileHandle.nullDevice
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: e, as: UTF8.self))
}

/// The files of a fixture folder, by their path inside it.
func files(_ folder: String, _ names: [String]) throws -> [String: [UInt8]] {
    var out: [String: [UInt8]] = [:]
    for name in names { out[name] = Array(try Data(contentsOf: fixtures.appendingPathComponent(folder + "/" + name))) }
    return out
}

let pipelineFiles = ["model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors", "scheduler/scheduler_config.json"]
let commitA = String(repeating: "a1", count: 20)
let commitB = String(repeating: "b2", count: 20)

@Suite("Hub names and the hub cache", .serialized)
final class HubCacheTests {
    let tmp: String
    let cache: String

    init() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("ddim-hub-\(UUID().uuidString)").path
        cache = tmp + "/hub"
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: tmp) }

    func server() throws -> FakeHub {
        let hub = try FakeHub()
        hub.add("test-org/tiny", FakeHub.Repo(refs: ["main": commitA], commits: [commitA: try files("pipeline/tiny", pipelineFiles)]))
        return hub
    }

    func settings(_ hub: FakeHub, token: String? = nil) -> HubSettings {
        HubSettings(cache: cache, endpoint: hub.endpoint, token: token)
    }

    var repoFolder: String { cache + "/models--test-org--tiny" }

    func link(_ path: String, commit: String = commitA) throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: repoFolder + "/snapshots/\(commit)/" + path)
    }

    @Test("a fresh download lays the cache out as huggingface_hub does, and the model loads and samples")
    func freshDownload() throws {
        let hub = try server()
        defer { hub.stop() }
        let snapshot = try Hub.locate(try HubName(parsing: "test-org/tiny"), settings: settings(hub))
        #expect(snapshot.path == repoFolder + "/snapshots/" + commitA)
        #expect(String(decoding: try Data(contentsOf: URL(fileURLWithPath: repoFolder + "/refs/main")), as: UTF8.self) == commitA)
        let expected = try files("pipeline/tiny", pipelineFiles)
        for path in pipelineFiles {
            let bytes = try #require(expected[path])
            let etag = FakeHub.isLFS(path) ? SHA256.hex(bytes) : FakeHub.gitID(bytes)
            let depth = path.split(separator: "/").count + 1
            #expect(try link(path) == String(repeating: "../", count: depth) + "blobs/" + etag, "\(path)")
            #expect(try Data(contentsOf: snapshot.appendingPathComponent(path)) == Data(bytes), "\(path)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: repoFolder + "/blobs/" + etag)) == Data(bytes), "\(path)")
        }
        let blobs = try FileManager.default.contentsOfDirectory(atPath: repoFolder + "/blobs")
        #expect(blobs.count == 4 && !blobs.contains { $0.hasSuffix(".incomplete") })
        // the weights came from the "CDN" by the hub's redirect
        #expect(hub.requests.contains { $0.server == "cdn" && $0.method == "GET" })

        let env = ["HF_ENDPOINT": hub.endpoint.absoluteString, "HF_HUB_CACHE": cache]
        let model = try ModelStore.load(model: "test-org/tiny", environment: env)
        #expect(model.name == "test-org/tiny" && model.folder.path == snapshot.path)
        #expect(model.reference == "test-org/tiny@" + commitA)
        let out = tmp + "/s.png"
        let r = try runDDIM(["sample", "--model", "test-org/tiny", "--steps", "3", "--out", out], environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        let text = try PNGReader().readText(out)
        #expect(text.contains(PNGText("Model", "test-org/tiny")))
        #expect(text.contains { $0.key == "Command" && $0.value.contains("--model test-org/tiny@" + commitA) })
    }

    @Test("a second run reads the cache and touches no network")
    func secondRunOffline() throws {
        let hub = try server()
        _ = try Hub.locate(try HubName(parsing: "test-org/tiny"), settings: settings(hub))
        let count = hub.requests.count
        _ = try Hub.locate(try HubName(parsing: "test-org/tiny"), settings: settings(hub))
        #expect(hub.requests.count == count)
        hub.stop()
        let env = ["HF_ENDPOINT": hub.endpoint.absoluteString, "HF_HUB_CACHE": cache]
        _ = try ModelStore.load(model: "test-org/tiny", environment: env)
        let r = try runDDIM(["sample", "--model", "test-org/tiny", "--steps", "2", "--out", tmp + "/b.png"], environment: env)
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test("@revision: a branch (also with a slash) and a commit hash")
    func revisions() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        var older = try files("pipeline/tiny", pipelineFiles)
        older["scheduler/scheduler_config.json"] = Array(#"{"_class_name": "DDIMScheduler", "num_train_timesteps": 500}"#.utf8)
        hub.add("test-org/tiny", FakeHub.Repo(refs: ["main": commitA, "v1": commitB, "refs/pr/1": commitB],
                                              commits: [commitA: try files("pipeline/tiny", pipelineFiles), commitB: older]))
        let s = settings(hub)
        let v1 = try Hub.locate(try HubName(parsing: "test-org/tiny@v1"), settings: s)
        #expect(v1.lastPathComponent == commitB)
        #expect(String(decoding: try Data(contentsOf: URL(fileURLWithPath: repoFolder + "/refs/v1")), as: UTF8.self) == commitB)
        let pr = try Hub.locate(try HubName(parsing: "test-org/tiny@refs/pr/1"), settings: s)
        #expect(pr == v1)
        #expect(FileManager.default.fileExists(atPath: repoFolder + "/refs/refs/pr/1"))
        #expect(hub.requests.contains { $0.path.contains("/resolve/refs%2Fpr%2F1/") })
        let main = try Hub.locate(try HubName(parsing: "test-org/tiny"), settings: s)
        #expect(main.lastPathComponent == commitA)
        // the shared weights are one blob, linked from both snapshots
        #expect(try link("unet/diffusion_pytorch_model.safetensors") == (try link("unet/diffusion_pytorch_model.safetensors", commit: commitB)))
        let byHash = try Hub.locate(try HubName(parsing: "test-org/tiny@" + commitB), settings: s)
        #expect(byHash == v1)
        #expect(!FileManager.default.fileExists(atPath: repoFolder + "/refs/" + commitB))
        let model = try ModelStore.load(byHash, name: "x")
        #expect(model.schedule.trainTimesteps == 500)
        hub.stop()
        // by hash, from the cache alone
        #expect(try Hub.locate(try HubName(parsing: "test-org/tiny@" + commitB), settings: s) == v1)
    }

    @Test("a connection broken midway is resumed with Range from where the file stopped")
    func resume() throws {
        let hub = try server()
        defer { hub.stop() }
        let weights = try #require(try files("pipeline/tiny", pipelineFiles)["unet/diffusion_pytorch_model.safetensors"])
        let sha = SHA256.hex(weights)
        hub.cutOnce(sha)
        let name = try HubName(parsing: "test-org/tiny")
        let error = try #require(throws: HubError.self) { try Hub.locate(name, settings: settings(hub)) }
        #expect(error.description.contains("http://127.0.0.1:\(hub.cdnPort)/blobs/\(sha)?…"), "\(error)")
        #expect(error.description.contains("run again to resume") && !error.description.contains("\n"), "\(error)")
        let partial = repoFolder + "/blobs/\(sha).incomplete"
        let kept = try #require(try FileManager.default.attributesOfItem(atPath: partial)[.size] as? Int)
        #expect(kept == weights.count / 2)
        // nothing in snapshots/ points to a missing blob
        #expect(!FileManager.default.fileExists(atPath: repoFolder + "/snapshots/\(commitA)/unet/diffusion_pytorch_model.safetensors"))
        #expect((try? link("unet/diffusion_pytorch_model.safetensors")) == nil)

        _ = try Hub.locate(name, settings: settings(hub))
        #expect(hub.requests.contains { $0.server == "cdn" && $0.headers["range"] == "bytes=\(kept)-" })
        #expect(try Data(contentsOf: URL(fileURLWithPath: repoFolder + "/blobs/" + sha)) == Data(weights))
        #expect(!FileManager.default.fileExists(atPath: partial))
    }

    @Test("a blob whose SHA-256 is not its ETag is refused and deleted")
    func wrongChecksum() throws {
        let hub = try server()
        defer { hub.stop() }
        let weights = try #require(try files("pipeline/tiny", pipelineFiles)["unet/diffusion_pytorch_model.safetensors"])
        let sha = SHA256.hex(weights)
        hub.corrupt(sha)
        let error = try #require(throws: HubError.self) { try Hub.locate(try HubName(parsing: "test-org/tiny"), settings: settings(hub)) }
        #expect(error.description.contains("SHA-256") && error.description.contains(sha) && error.description.contains("deleted"), "\(error)")
        let blobs = try FileManager.default.contentsOfDirectory(atPath: repoFolder + "/blobs")
        #expect(!blobs.contains { $0.hasPrefix(sha) })
        #expect((try? link("unet/diffusion_pytorch_model.safetensors")) == nil)
        #expect(!FileManager.default.fileExists(atPath: repoFolder + "/refs/main"))
    }

    @Test("HF_HUB_OFFLINE=1 and nothing cached: one line naming the cache path, no request")
    func offline() throws {
        let hub = try server()
        defer { hub.stop() }
        var s = settings(hub)
        s.offline = true
        let error = try #require(throws: HubError.self) { try Hub.locate(try HubName(parsing: "test-org/tiny"), settings: s) }
        #expect(error.description.contains("HF_HUB_OFFLINE") && error.description.contains(repoFolder), "\(error)")
        let r = try runDDIM(["sample", "--model", "test-org/tiny", "--out", tmp + "/o.png"],
                            environment: ["HF_ENDPOINT": hub.endpoint.absoluteString, "HF_HUB_CACHE": cache, "HF_HUB_OFFLINE": "1"])
        #expect(r.status != 0)
        #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.contains("HF_HUB_OFFLINE"), "\(r.stderr)")
        #expect(hub.requests.isEmpty)
        // once cached, offline works
        _ = try Hub.locate(try HubName(parsing: "test-org/tiny"), settings: settings(hub))
        #expect(try Hub.locate(try HubName(parsing: "test-org/tiny"), settings: s).lastPathComponent == commitA)
    }

    @Test("HF_TOKEN goes to the hub's host, never to the host it redirects to")
    func token() throws {
        let hub = try server()
        defer { hub.stop() }
        _ = try Hub.locate(try HubName(parsing: "test-org/tiny"), settings: settings(hub, token: "hf_secret"))
        let toHub = hub.requests.filter { $0.server == "hub" }
        let toCDN = hub.requests.filter { $0.server == "cdn" }
        #expect(!toHub.isEmpty && !toCDN.isEmpty)
        #expect(toHub.allSatisfy { $0.headers["authorization"] == "Bearer hf_secret" })
        #expect(toCDN.allSatisfy { $0.headers["authorization"] == nil })
    }

    @Test("bad hub names, an unknown repository and a missing revision are one clear line")
    func badNames() throws {
        for bad in ["org/na me", "org/-name", "org/name.", "org/na--me", "org/na..me", "org/name.git", "/", "org/",
                    "org/name@", "org/name@../x", "org/name@a b", "org/é", String(repeating: "a", count: 60) + "/" + String(repeating: "b", count: 40)] {
            let error = try #require(throws: HubError.self, "\(bad)") { try HubName(parsing: bad) }
            #expect(!error.description.contains("\n") && error.description.contains("'"), "\(error)")
        }
        for good in ["google/ddpm-cifar10-32", "a/b", "Org_1/x.y-z@v1.0", "o/n@refs/pr/3"] {
            #expect(throws: Never.self) { _ = try HubName(parsing: good) }
        }
        let hub = try server()
        defer { hub.stop() }
        let missing = try #require(throws: HubError.self) { try Hub.locate(try HubName(parsing: "nobody/nothing"), settings: settings(hub)) }
        #expect(missing.description.contains("nobody/nothing: no such repository"), "\(missing)")
        let noRevision = try #require(throws: HubError.self) { try Hub.locate(try HubName(parsing: "test-org/tiny@nope"), settings: settings(hub)) }
        #expect(noRevision.description.contains("no revision 'nope'"), "\(noRevision)")
        let r = try runDDIM(["sample", "--model", "org/na me", "--out", tmp + "/n.png"], environment: ["HF_HUB_CACHE": cache])
        #expect(r.status != 0 && r.stderr.contains("not a folder, nor a hub name") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        // a path that exists is a folder, whatever its shape
        let local = tmp + "/org/name"
        try FileManager.default.createDirectory(atPath: tmp + "/org", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent("pipeline/tiny").path, toPath: local)
        let offline = ["HF_HUB_CACHE": cache, "HF_HUB_OFFLINE": "1"]
        let info = try runDDIM(["info", "--model", "org/name"], environment: offline, directory: tmp)
        #expect(info.status == 0, "\(info.stderr)")
        let dotted = try runDDIM(["info", "--model", "./org/name"], environment: offline, directory: tmp)
        #expect(dotted.status == 0, "\(dotted.stderr)")
        let source = try ModelSource.resolve(local, environment: offline)
        #expect(source.reference == nil && source.name == "name")
    }

    @Test("a model-layout repository: config.json at the top, model_index.json recorded as missing")
    func modelLayout() throws {
        let hub = try FakeHub()
        defer { hub.stop() }
        hub.add("test-org/unet", FakeHub.Repo(refs: ["main": commitA], commits: [commitA: try files("unet/ddpm_style", ["config.json", "diffusion_pytorch_model.safetensors"])]))
        let snapshot = try Hub.locate(try HubName(parsing: "test-org/unet"), settings: settings(hub))
        let folder = cache + "/models--test-org--unet"
        #expect(FileManager.default.fileExists(atPath: folder + "/.no_exist/\(commitA)/model_index.json"))
        #expect(FileManager.default.fileExists(atPath: folder + "/.no_exist/\(commitA)/scheduler_config.json"))
        _ = try ModelStore.load(snapshot, name: "unet")
        let count = hub.requests.count
        _ = try Hub.locate(try HubName(parsing: "test-org/unet"), settings: settings(hub))
        #expect(hub.requests.count == count)
    }

    /// A cache as huggingface_hub writes it, made by hand: refs/main, snapshots/HASH/… as relative
    /// symlinks into blobs/.
    func handMadeCache() throws -> String {
        let folder = cache + "/models--hf-org--tiny"
        let fm = FileManager.default
        try fm.createDirectory(atPath: folder + "/blobs", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: folder + "/refs", withIntermediateDirectories: true)
        try Data(commitB.utf8).write(to: URL(fileURLWithPath: folder + "/refs/main"))
        for (path, bytes) in try files("pipeline/tiny", pipelineFiles) {
            let etag = FakeHub.isLFS(path) ? SHA256.hex(bytes) : FakeHub.gitID(bytes)
            try Data(bytes).write(to: URL(fileURLWithPath: folder + "/blobs/" + etag))
            let linkPath = folder + "/snapshots/\(commitB)/" + path
            try fm.createDirectory(atPath: (linkPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try fm.createSymbolicLink(atPath: linkPath, withDestinationPath: String(repeating: "../", count: path.split(separator: "/").count + 1) + "blobs/" + etag)
        }
        return folder
    }

    @Test("a cache huggingface_hub made is read without network; a link out of the cache is refused")
    func huggingfaceHubCache() throws {
        let folder = try handMadeCache()
        // no server at all: a port nothing listens on
        let env = ["HF_HUB_CACHE": cache, "HF_ENDPOINT": "http://127.0.0.1:9"]
        let model = try ModelStore.load(model: "hf-org/tiny", environment: env)
        #expect(model.folder.path == folder + "/snapshots/" + commitB)
        // a snapshot file that leads outside blobs/ is refused by name
        let outside = tmp + "/elsewhere.json"
        try Data("{}".utf8).write(to: URL(fileURLWithPath: outside))
        let config = folder + "/snapshots/\(commitB)/unet/config.json"
        try FileManager.default.removeItem(atPath: config)
        try FileManager.default.createSymbolicLink(atPath: config, withDestinationPath: outside)
        let error = try #require(throws: HubError.self) { try ModelSource.resolve("hf-org/tiny", environment: env) }
        #expect(error.description.contains(config) && error.description.contains("outside"), "\(error)")
        // a ref that is not a commit hash
        try Data("../../etc".utf8).write(to: URL(fileURLWithPath: folder + "/refs/main"))
        let badRef = try #require(throws: HubError.self) { try ModelSource.resolve("hf-org/tiny", environment: env) }
        #expect(badRef.description.contains("refs/main") && badRef.description.contains("commit hash"), "\(badRef)")
    }

    @Test("an unreachable hub: one line with the URL and the cause")
    func unreachable() throws {
        let error = try #require(throws: HubError.self) {
            try Hub.locate(try HubName(parsing: "test-org/tiny"), settings: HubSettings(cache: cache, endpoint: URL(string: "http://127.0.0.1:9")!))
        }
        #expect(error.description.contains("http://127.0.0.1:9/test-org/tiny/resolve/main/model_index.json") && error.description.contains("could not connect"), "\(error)")
    }
}

@Suite("Hub settings and SHA-256")
struct HubSettingsTests {
    @Test("the cache root: HF_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub")
    func cacheRoot() throws {
        #expect(try HubSettings(environment: ["HF_HUB_CACHE": "/c", "HF_HOME": "/h", "HOME": "/u"]).cache == "/c")
        #expect(try HubSettings(environment: ["HF_HOME": "/h", "XDG_CACHE_HOME": "/x", "HOME": "/u"]).cache == "/h/hub")
        #expect(try HubSettings(environment: ["XDG_CACHE_HOME": "/x", "HOME": "/u"]).cache == "/x/huggingface/hub")
        #expect(try HubSettings(environment: ["HOME": "/u"]).cache == "/u/.cache/huggingface/hub")
        #expect(try HubSettings(environment: ["HF_HUB_CACHE": "~/c", "HOME": "/u"]).cache == "/u/c")
        #expect(try HubSettings(environment: ["HF_HUB_CACHE": "", "HOME": "/u"]).cache == "/u/.cache/huggingface/hub")
        #expect(try HubSettings(environment: ["HOME": "/u"]).endpoint.absoluteString == "https://huggingface.co")
        #expect(try HubSettings(environment: ["HF_ENDPOINT": "http://mirror:8080/", "HOME": "/u"]).endpoint.absoluteString == "http://mirror:8080")
        #expect(try HubSettings(environment: ["HF_HUB_OFFLINE": "yes"]).offline)
        #expect(try !HubSettings(environment: ["HF_HUB_OFFLINE": "0"]).offline)
        #expect(throws: HubError.self) { try HubSettings(environment: ["HF_ENDPOINT": "ftp://x"]) }
        #expect(throws: HubError.self) { try HubSettings(environment: ["HF_TOKEN": "a\r\nX-Evil: 1"]) }
    }

    @Test("SHA-256 of the FIPS 180 vectors, in one piece and in odd chunks")
    func sha256() {
        #expect(SHA256.hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let two = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA256.hex(two) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let million = [UInt8](repeating: 0x61, count: 1_000_000)
        #expect(SHA256.hex(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        var h = SHA256()
        var i = 0, step = 1
        while i < million.count { let n = min(step, million.count - i); h.update(million[i..<(i + n)]); i += n; step = step * 3 % 997 + 1 }
        #expect(h.hexDigest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
