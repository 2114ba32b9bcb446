import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The files of a diffusers model in a repository, in either layout.
enum RepoLayout: Sendable {
    /// `model_index.json`, `unet/`, `scheduler/`.
    case pipeline
    /// `config.json` and the weights at the top (`UNet2DModel.save_pretrained`).
    case model

    var config: String { self == .pipeline ? "unet/config.json" : "config.json" }
    var scheduler: String { self == .pipeline ? "scheduler/scheduler_config.json" : "scheduler_config.json" }
    /// The weights downloaded, in order of preference.
    var weights: [String] {
        let folder = self == .pipeline ? "unet/" : ""
        return [folder + "diffusion_pytorch_model.safetensors", folder + "diffusion_pytorch_model.bin"]
    }
    /// The weights ddim reads from a cache another program filled (the fp16 variant too).
    var cachedWeights: [String] {
        weights + [(self == .pipeline ? "unet/" : "") + "diffusion_pytorch_model.fp16.safetensors"]
    }
}

/// One repository's folder in the hub cache, `models--org--name/`, laid out as huggingface_hub
/// lays it out: `refs/REV` (a commit hash), `snapshots/HASH/PATH` (relative symlinks into
/// `blobs/`), `blobs/ETAG`, `.no_exist/HASH/PATH` (files the hub said it does not have).
struct RepoCache {
    let folder: String
    let name: HubName

    init(root: String, name: HubName) {
        folder = root + "/" + name.folderName
        self.name = name
    }

    /// What a path in a snapshot is.
    enum Entry {
        case present
        /// Not there (or a link to a blob that is missing).
        case absent
        /// The hub said there is no such file at this commit.
        case knownMissing
    }

    func snapshot(_ commit: String) -> String { folder + "/snapshots/" + commit }
    func blob(_ etag: String) -> String { folder + "/blobs/" + etag }
    func ref(_ revision: String) -> String { folder + "/refs/" + revision }
    func noExist(_ commit: String, _ path: String) -> String { folder + "/.no_exist/" + commit + "/" + path }

    /// The commit that `refs/REVISION` names, nil when there is no such ref; a ref that does not
    /// hold a commit hash is an error naming it.
    func commit(forRef revision: String) throws(HubError) -> String? {
        let path = ref(revision)
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        guard info.st_mode & S_IFMT == S_IFREG, info.st_size <= 256 else {
            throw HubError("\(path): not a ref file (a small file holding a commit hash)")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw HubError("\(path): cannot be read") }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard HubName.isCommitHash(text) else { throw HubError("\(path): does not hold a commit hash (40 hexadecimal digits)") }
        return text
    }

    /// What `path` in the snapshot of `commit` is. A file must be a regular file inside the
    /// snapshot or a symlink (through any number of links) to a regular file in this repository's
    /// `blobs/`; anything that leads elsewhere is refused by name.
    func entry(_ commit: String, _ path: String) throws(HubError) -> Entry {
        let snapshotFolder = snapshot(commit)
        let full = snapshotFolder + "/" + path
        var info = stat()
        if lstat(full, &info) != 0 {
            return FileManager.default.fileExists(atPath: noExist(commit, path)) ? .knownMissing : .absent
        }
        guard let real = RepoCache.realPath(full) else {
            // a dangling link: its blob is gone; a download puts it back
            if info.st_mode & S_IFMT == S_IFLNK { return .absent }
            throw HubError("\(full): cannot be resolved")
        }
        var target = stat()
        guard stat(real, &target) == 0, target.st_mode & S_IFMT == S_IFREG else {
            throw HubError("\(full): not a regular file")
        }
        let blobs = RepoCache.realPath(folder + "/blobs").map { $0 + "/" }
        let snapshotReal = RepoCache.realPath(snapshotFolder).map { $0 + "/" }
        let inBlobs = blobs.map { real.hasPrefix($0) } ?? false
        let inSnapshot = snapshotReal.map { real.hasPrefix($0) } ?? false
        guard inBlobs || inSnapshot else {
            throw HubError("\(full): leads to \(real), outside the cache's \(folder)/blobs; refused")
        }
        return .present
    }

    /// The snapshot's layout, and whether ddim can load it (`usable`: config and weights) and
    /// whether it holds everything a download would fetch (`complete`: the scheduler config too,
    /// or the hub's word that there is none).
    func inspect(_ commit: String) throws(HubError) -> (layout: RepoLayout, usable: Bool, complete: Bool) {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: snapshot(commit), isDirectory: &isFolder), isFolder.boolValue else {
            return (.model, false, false)
        }
        let index = try entry(commit, "model_index.json")
        let layout: RepoLayout = index == .present ? .pipeline : .model
        let config = try entry(commit, layout.config) == .present
        var weights = false
        for file in layout.cachedWeights where try entry(commit, file) == .present { weights = true; break }
        let scheduler = try entry(commit, layout.scheduler) != .absent
        let usable = config && weights
        return (layout, usable, usable && scheduler && (layout == .pipeline || index == .knownMissing))
    }

    /// `realpath(3)`, nil when a component is missing.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
