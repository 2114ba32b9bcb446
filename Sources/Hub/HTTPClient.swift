import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One HTTP exchange at a time over Foundation's `URLSession` (libcurl on Linux, hence https), used
/// synchronously: the command waits for the model anyway. Redirects are never followed here: the
/// caller sees each 3xx and decides where to go next and which headers go there (the hub's token
/// never leaves the hub's host).
struct HTTPClient: Sendable {
    /// A response's status and headers (names lowercased).
    struct Response: Sendable {
        let status: Int
        let headers: [String: String]
        /// The header `name` (any case).
        func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    /// Seconds without a byte before a request gives up.
    var idleTimeout: TimeInterval = 30

    /// A HEAD request.
    func head(_ url: URL, headers: [String: String]) throws(HubError) -> Response {
        try send("HEAD", url, headers: headers, body: nil)
    }

    /// A GET request whose body goes, as it comes, to `body` (called on another thread, in order);
    /// `accept` is asked first, with the status and headers, whether the body is wanted at all.
    /// When `body` throws, the transfer stops and the error is thrown here.
    func get(_ url: URL, headers: [String: String], accept: @escaping @Sendable (Response) -> Bool,
             body: @escaping @Sendable (Data) throws -> Void) throws -> Response {
        try send("GET", url, headers: headers, body: BodySink(accept: accept, write: body))
    }

    struct BodySink: Sendable {
        let accept: @Sendable (Response) -> Bool
        let write: @Sendable (Data) throws -> Void
    }

    private func send(_ method: String, _ url: URL, headers: [String: String], body: BodySink?) throws(HubError) -> Response {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalAndRemoteCacheData, timeoutInterval: idleTimeout)
        request.httpMethod = method
        request.httpShouldHandleCookies = false
        // the real size of the file, never a compressed body
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = idleTimeout
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        let exchange = Exchange(body: body)
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: configuration, delegate: exchange, delegateQueue: queue)
        let task = session.dataTask(with: request)
        task.resume()
        exchange.done.wait()
        session.finishTasksAndInvalidate()
        let shown = HTTPClient.display(url)
        if let failure = exchange.bodyError {
            if let hubError = failure as? HubError { throw hubError }
            throw HubError("\(shown): \(failure)")
        }
        if let response = exchange.response {
            // a body that was refused (a cancelled task) still has its status and headers
            if exchange.transportError == nil || exchange.cancelledByUs { return response }
        }
        throw HubError("\(shown): \(HTTPClient.reason(exchange.transportError))")
    }

    /// The URL as shown in an error: without a query (a CDN's signed URL is long and secret-ish).
    static func display(_ url: URL) -> String {
        guard var parts = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return url.absoluteString }
        if parts.query != nil { parts.query = nil; return (parts.string ?? url.absoluteString) + "?…" }
        return url.absoluteString
    }

    /// The cause of a transport failure in words.
    static func reason(_ error: (any Error)?) -> String {
        guard let error else { return "no response" }
        guard let url = error as? URLError else { return "\(error)" }
        switch url.code {
        case .cannotConnectToHost: return "could not connect (connection refused)"
        case .cannotFindHost, .dnsLookupFailed: return "no such host"
        case .timedOut: return "timed out (no data for a while)"
        case .networkConnectionLost: return "the connection broke off"
        case .notConnectedToInternet: return "no network"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
             .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot:
            return "the TLS connection failed (\(url.code.rawValue))"
        case .badServerResponse: return "the server's answer was not HTTP"
        case .unsupportedURL: return "the URL is not supported"
        default: return "network error \(url.code.rawValue)"
        }
    }
}

/// The delegate of one request: collects the response, streams the body, never follows a redirect.
private final class Exchange: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let body: HTTPClient.BodySink?
    let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var _response: HTTPClient.Response?
    private var _transportError: (any Error)?
    private var _bodyError: (any Error)?
    private var _cancelledByUs = false

    init(body: HTTPClient.BodySink?) { self.body = body }

    var response: HTTPClient.Response? { lock.withLock { _response } }
    var transportError: (any Error)? { lock.withLock { _transportError } }
    var bodyError: (any Error)? { lock.withLock { _bodyError } }
    var cancelledByUs: Bool { lock.withLock { _cancelledByUs } }

    private static func convert(_ response: URLResponse?) -> HTTPClient.Response? {
        guard let http = response as? HTTPURLResponse else { return nil }
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            if let key = key as? String, let value = value as? String { headers[key.lowercased()] = value }
        }
        return HTTPClient.Response(status: http.statusCode, headers: headers)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        let converted = Exchange.convert(response)
        lock.withLock { _response = converted }
        if let body, let converted, !body.accept(converted) {
            lock.withLock { _cancelledByUs = true }
            completionHandler(.cancel)
            return
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let body, bodyError == nil else { return }
        do { try body.write(data) } catch {
            lock.withLock { _bodyError = error; _cancelledByUs = true }
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        lock.withLock {
            if _response == nil { _response = Exchange.convert(task.response) }
            _transportError = error
        }
        done.signal()
    }
}
