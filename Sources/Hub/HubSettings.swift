import Foundation

/// Where the cache is, which hub to ask and how, read from the environment as huggingface_hub
/// reads it:
/// - cache: `HF_HUB_CACHE`, else `HUGGINGFACE_HUB_CACHE` (its older name), else `HF_HOME/hub`,
///   else `XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub` (`~` expanded; an
///   empty variable counts as unset);
/// - hub: `HF_ENDPOINT` (default `https://huggingface.co`, a trailing `/` dropped);
/// - token: `HF_TOKEN` (else `HUGGING_FACE_HUB_TOKEN`), sent as `Authorization: Bearer` to the
///   hub's own scheme, host and port only, never to a host it redirects to;
/// - offline: `HF_HUB_OFFLINE` (else `TRANSFORMERS_OFFLINE`) 1, ON, YES or TRUE (any case): no
///   request at all, the cache alone.
public struct HubSettings: Sendable {
    /// The hub cache's root folder (it holds `models--org--name/`).
    public var cache: String
    /// The hub, `scheme://host[:port][/path]`, without a trailing slash.
    public var endpoint: URL
    /// The access token, when one is set.
    public var token: String?
    /// Whether the network is off limits.
    public var offline: Bool

    /// Explicit settings (tests, or a caller with its own).
    public init(cache: String, endpoint: URL, token: String? = nil, offline: Bool = false) {
        self.cache = cache
        self.endpoint = endpoint
        self.token = token
        self.offline = offline
    }

    /// The settings the environment gives; a bad `HF_ENDPOINT` or `HF_TOKEN` is one line.
    public init(environment: [String: String]) throws(HubError) {
        func value(_ name: String) -> String? {
            guard let v = environment[name], !v.isEmpty else { return nil }
            return v
        }
        let home = value("HOME") ?? NSHomeDirectory()
        func expand(_ path: String) -> String {
            if path == "~" { return home }
            if path.hasPrefix("~/") { return home + path.dropFirst(1) }
            return path
        }
        if let hub = value("HF_HUB_CACHE") ?? value("HUGGINGFACE_HUB_CACHE") {
            cache = expand(hub)
        } else if let hfHome = value("HF_HOME") {
            cache = expand(hfHome) + "/hub"
        } else if let xdg = value("XDG_CACHE_HOME") {
            cache = expand(xdg) + "/huggingface/hub"
        } else {
            cache = home + "/.cache/huggingface/hub"
        }
        var endpointText = value("HF_ENDPOINT") ?? "https://huggingface.co"
        while endpointText.hasSuffix("/") { endpointText.removeLast() }
        guard let url = URL(string: endpointText), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil, url.user == nil
        else {
            throw HubError("HF_ENDPOINT \(HubName.quoted(endpointText)) is not an http(s) URL like https://huggingface.co")
        }
        endpoint = url
        token = value("HF_TOKEN") ?? value("HUGGING_FACE_HUB_TOKEN")
        if let token, token.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value > 0x7e }) {
            throw HubError("HF_TOKEN holds a space, a control or a non-ASCII character; it is not a token")
        }
        let flag = (value("HF_HUB_OFFLINE") ?? value("TRANSFORMERS_OFFLINE"))?.uppercased()
        offline = ["1", "ON", "YES", "TRUE"].contains(flag ?? "")
    }
}
