import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a download reports as it goes (for a progress bar).
public enum HubProgress: Sendable {
    /// `done` of `total` bytes of `file` (a path in the repository) are in.
    case received(file: String, done: Int64, total: Int64?)
    /// `file` is complete (or failed); the next event starts another.
    case finished(file: String)
}

/// Hub names to model folders, through the Hugging Face cache that diffusers uses.
///
/// ``locate(_:settings:progress:)`` answers from the cache when the snapshot there holds every
/// file a download would fetch, without a request. Otherwise, unless offline, it asks the hub's
/// `resolve` endpoint for the files the model needs (`model_index.json` or `config.json`, the
/// unet's config and weights — safetensors, else `.bin` — and the scheduler config) and puts each
/// into the cache as huggingface_hub does: `blobs/ETAG.incomplete` (resumed with `Range` when it
/// exists), SHA-256 checked against an LFS file's ETag, renamed into `blobs/ETAG`, linked from
/// `snapshots/COMMIT/PATH` by a relative symlink, and `refs/REVISION` written last.
public enum Hub {
    /// The snapshot folder of `name`: a model or pipeline folder that `ModelStore` reads.
    public static func locate(_ name: HubName, settings: HubSettings,
                              progress: (@Sendable (HubProgress) -> Void)? = nil) throws(HubError) -> URL {
        let repo = RepoCache(root: settings.cache, name: name)
        let knownCommit = name.revisionIsCommit ? name.revision : try repo.commit(forRef: name.revision)
        var cached: (commit: String, usable: Bool)?
        if let knownCommit {
            let state = try repo.inspect(knownCommit)
            if state.complete || (settings.offline && state.usable) { return URL(fileURLWithPath: repo.snapshot(knownCommit)) }
            cached = (knownCommit, state.usable)
        }
        if settings.offline {
            let looked = knownCommit.map { repo.snapshot($0) } ?? repo.folder
            throw HubError("\(name) is not in the hub cache (looked in \(looked)) and HF_HUB_OFFLINE is set: nothing is downloaded")
        }
        do {
            return try Download(name: name, repo: repo, settings: settings, progress: progress).run()
        } catch let error as TransportFailure {
            // the hub is out of reach: a snapshot ddim can load will do, as huggingface_hub does
            if let cached, cached.usable { return URL(fileURLWithPath: repo.snapshot(cached.commit)) }
            throw error.error
        } catch let error as HubError {
            throw error
        } catch {
            throw HubError("\(name): \(error)")
        }
    }
}

/// A request that got no HTTP answer (refused, broke off, timed out): the cache may still serve.
struct TransportFailure: Error {
    let error: HubError
}
