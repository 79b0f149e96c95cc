/// Routes requests by method and path pattern (`/v1/alerts/{id}`) to handlers; answers
/// `404` for an unknown path and `405` with `Allow` for a known path and wrong method.
public struct HTTPRouter: Sendable {
    private struct Route: Sendable {
        let method: String
        let pattern: String
        let segments: [Substring]
        let handler: HTTPHandler
        let inline: Bool
    }

    private var routes: [Route] = []
    private var fallbacks: [(prefix: String, handler: HTTPHandler)] = []

    /// An empty router.
    public init() {}

    /// Adds a route; `{name}` segments match one path segment and fill `pathParameters`.
    ///
    /// A route's handler runs on the server's blocking pool, where it may wait for a commit.
    /// One marked `inline` runs on the connection's own queue instead, without the hop: only
    /// for handlers that never wait for a commit, a broker or a peer (they answer from a
    /// completion, as `POST /v1/alerts` answers from the append's), and at most read the
    /// store, which is bounded.
    public mutating func add(_ method: String, _ pattern: String, inline: Bool = false, _ handler: @escaping HTTPHandler) {
        routes.append(Route(method: method, pattern: pattern, segments: pattern.split(separator: "/"), handler: handler, inline: inline))
    }

    /// Answers a request under `prefix` that no route matches with `handler` instead of the
    /// JSON `404` (the console's own not-found page, with its headers and frame).
    public mutating func fallback(under prefix: String, _ handler: @escaping HTTPHandler) {
        fallbacks.append((prefix, handler))
    }

    /// Every route added, as its method and path pattern, in the order added (so a contract
    /// test can compare the routes served with the routes described).
    public var registered: [(method: String, pattern: String)] { routes.map { ($0.method, $0.pattern) } }

    /// Whether `request` goes to an `inline` route, for `HTTPServer`'s `runsInline`.
    public var runsInline: @Sendable (HTTPRequest) -> Bool {
        let routes = self.routes.filter(\.inline)
        let all = self.routes
        return { request in
            guard !routes.isEmpty else { return false }
            let segments = request.path.split(separator: "/")
            // Most requests match no inline route: only those that do pay for the full look-up.
            guard routes.contains(where: { $0.method == request.method && HTTPRouter.match($0.segments, segments) != nil }) else { return false }
            return HTTPRouter.candidates(all, segments).contains { $0.route.inline && $0.route.method == request.method }
        }
    }

    /// The router as a handler for `HTTPServer`.
    public var handler: HTTPHandler {
        let routes = self.routes, fallbacks = self.fallbacks
        return { request, responder in
            let segments = request.path.split(separator: "/")
            var allowed: [String] = []
            for (route, parameters) in HTTPRouter.candidates(routes, segments) {
                if route.method == request.method || (route.method == "GET" && request.method == "HEAD") {
                    var routed = request
                    routed.pathParameters = parameters
                    route.handler(routed, responder)
                    return
                }
                allowed.append(route.method)
            }
            if allowed.isEmpty, let fallback = fallbacks.first(where: { request.path.hasPrefix($0.prefix) }) {
                fallback.handler(request, responder)
            } else if allowed.isEmpty {
                responder.send(HTTPResponse(status: 404, contentType: "application/json", text: "{\"error\":\"not_found\",\"message\":\"no such resource\"}"))
            } else {
                responder.send(HTTPResponse(
                    status: 405, contentType: "application/json",
                    text: "{\"error\":\"method_not_allowed\",\"message\":\"use \(allowed.joined(separator: " or "))\"}",
                    headers: ["allow": allowed.joined(separator: ", ")]))
            }
        }
    }

    /// The routes whose pattern matches `path`, keeping only the most specific: those with the
    /// fewest `{name}` segments (OpenAPI's rule, so `/v1/alerts/batch` is never read as the
    /// alert `batch`, and its `405` names only the methods of the literal path).
    private static func candidates(_ routes: [Route], _ path: [Substring]) -> [(route: Route, parameters: [String: String])] {
        var found: [(route: Route, parameters: [String: String])] = []
        for route in routes {
            if let parameters = match(route.segments, path) { found.append((route, parameters)) }
        }
        guard let fewest = found.map(\.parameters.count).min() else { return [] }
        return found.filter { $0.parameters.count == fewest }
    }

    private static func match(_ pattern: [Substring], _ path: [Substring]) -> [String: String]? {
        guard pattern.count == path.count else { return nil }
        var parameters: [String: String] = [:]
        for (p, s) in zip(pattern, path) {
            if p.hasPrefix("{") && p.hasSuffix("}") {
                guard let decoded = HTTPRequest.percentDecode(String(s)) else { return nil }
                parameters[String(p.dropFirst().dropLast())] = decoded
            } else if p != s {
                return nil
            }
        }
        return parameters
    }
}
