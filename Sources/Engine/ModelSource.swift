import Foundation
import Hub
import Tensors
import UNet

/// Where `--model`'s argument leads: a local folder, or a hub name resolved through the cache.
public struct ModelSource: Sendable, Equatable {
    /// The model or pipeline folder to read (a snapshot in the hub cache for a hub name).
    public let folder: URL
    /// The display name: the folder's name, or `org/name` for a hub name.
    public let name: String
    /// For a hub name, `org/name@COMMIT`: what a command line that reproduces a run names.
    public let reference: String?

    /// Resolves `argument` as diffusers does: a path that exists is a folder (so `./org/name` is
    /// always local); otherwise a name shaped like `org/name[@revision]` is a hub name, looked up
    /// in the cache (`HF_HUB_CACHE`, …) and, unless `HF_HUB_OFFLINE` is set, downloaded into it
    /// (``Hub/locate(_:settings:progress:)``); anything else is a folder that does not exist.
    public static func resolve(_ argument: String, environment: [String: String],
                               progress: (@Sendable (HubProgress) -> Void)? = nil) throws -> ModelSource {
        let local = URL(fileURLWithPath: argument)
        var exists: ObjCBool = false
        if argument.isEmpty || FileManager.default.fileExists(atPath: argument, isDirectory: &exists) || !HubName.looksLikeHubName(argument) {
            return ModelSource(folder: local, name: local.lastPathComponent, reference: nil)
        }
        let name = try HubName(parsing: argument)
        let settings = try HubSettings(environment: environment)
        let snapshot = try Hub.locate(name, settings: settings, progress: progress)
        return ModelSource(folder: snapshot, name: name.repo, reference: name.repo + "@" + snapshot.lastPathComponent)
    }
}

extension ModelStore {
    /// Loads the model `--model argument` names (``ModelSource/resolve(_:environment:progress:)``),
    /// its convolutions under `policy`.
    public static func load(model argument: String, environment: [String: String],
                            progress: (@Sendable (HubProgress) -> Void)? = nil, policy: ConvPolicy = ConvPolicy()) throws -> LoadedModel {
        let source = try ModelSource.resolve(argument, environment: environment, progress: progress)
        var model = try load(source.folder, name: source.name, policy: policy)
        model.reference = source.reference
        return model
    }
}
