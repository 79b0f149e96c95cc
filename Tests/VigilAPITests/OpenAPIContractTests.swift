import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilHTTP
import VigilObservability
import VigilStore
import VigilTestSupport
@testable import VigilAPI

/// The API contract (issue 24): the routes `APIRoutes.register` serves and the paths of
/// `/openapi.json` are the same set, both ways; the document is OpenAPI 3.1 JSON with the
/// vocabularies of VigilCore's enums; and a literal path is never read as a parameter.
/// `@unchecked Sendable`: each test gets its own instance and uses it from one task.
@Suite(.timeLimit(.minutes(1))) final class OpenAPIContractTests: @unchecked Sendable {
    let backend: EmbeddedBackend
    let api: APIRoutes

    init() throws {
        let database = try Database(path: (TemporaryDirectory.make("vigil-contract") as NSString).appendingPathComponent("vigil.sqlite"), readers: 1)
        let metrics = Metrics(), logger = Logger(label: "test", enabled: false)
        backend = try EmbeddedBackend(database: database, masterKey: RoutingFixture.masterKey, metrics: metrics, logger: logger)
        try backend.router.start()  // its wake-up source must be running before it is released
        let shared = backend.shared
        let replays = ReplayRunner(
            log: backend.log, queue: backend.deliveries, subscribers: shared.subscribers, store: shared.replays, ratePerSecond: 1000,
            metrics: metrics, logger: logger, onQueued: {})
        api = APIRoutes(
            backend: backend, workers: PokeCounter(), replays: replays,
            settings: APIRoutes.Settings(
                rateLimitPerSecond: 100, rateLimitBurst: 100, allowPrivateWebhooks: false, metricsToken: nil, ackLinkKey: Array(repeating: 1, count: 32),
                publicURL: { "https://vigil.example.org" }),
            metrics: metrics, logger: logger, isStopping: { false })
    }

    deinit {
        backend.router.stop()
        backend.shutdown()
    }

    /// `METHOD path` of every route registered.
    func served(servingAPI: Bool) -> Set<String> {
        var router = HTTPRouter()
        api.register(on: &router, servingAPI: servingAPI)
        let routes = router.registered.map { "\($0.method) \($0.pattern)" }
        #expect(Set(routes).count == routes.count, "a route is registered twice: \(routes.sorted())")
        return Set(routes)
    }

    /// The document `GET /openapi.json` answers, fetched through the router.
    func document() throws -> [String: Any] {
        var router = HTTPRouter()
        api.register(on: &router, servingAPI: true)
        let request = HTTPRequest(method: "GET", target: "/openapi.json")
        #expect(api.authenticator.admission(request) == nil, "the contract needs no token")
        let answer = Mutex<HTTPResponse?>(nil)
        router.handler(request, HTTPResponder(capture: { response in answer.withLock { $0 = response } }))
        let response = try #require(answer.withLock { $0 })
        #expect(response.status == 200 && response.headers["content-type"] == "application/json")
        return try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }

    @Test func everyRouteIsDescribedAndEveryDescriptionIsARoute() throws {
        let paths = try #require(try document()["paths"] as? [String: [String: Any]])
        let described = Set(paths.flatMap { path, operations in operations.keys.map { "\($0.uppercased()) \(path)" } })
        let routes = served(servingAPI: true)
        #expect(routes.subtracting(described).isEmpty, "routes the contract does not describe: \(routes.subtracting(described).sorted())")
        #expect(described.subtracting(routes).isEmpty, "described operations no route serves: \(described.subtracting(routes).sorted())")
        #expect(routes.count == 30, "29 API routes and /openapi.json")
        #expect(Set(APIRoutes.operations(servingAPI: false).map { "\($0.method) \($0.path)" }) == served(servingAPI: false))
        let ids = APIRoutes.operations(servingAPI: true).map(\.id)
        #expect(Set(ids).count == ids.count, "operation ids are unique")
        #expect(!routes.contains { $0.contains("/console") }, "the console is not part of the contract")
    }

    @Test func theDocumentIsOpenAPI31WithTheServersURLAndTheCoreVocabularies() throws {
        let document = try document()
        #expect(document["openapi"] as? String == "3.1.0")
        #expect((document["servers"] as? [[String: String]])?.first?["url"] == "https://vigil.example.org")
        let components = try #require(document["components"] as? [String: Any])
        let schemas = try #require(components["schemas"] as? [String: [String: Any]])
        let submission = try #require(schemas["AlertSubmission"]?["properties"] as? [String: [String: Any]])
        #expect(submission["severity"]?["enum"] as? [String] == Severity.allCases.map(\.rawValue))
        #expect((submission["country"]?["enum"] as? [String])?.count == CountryCode.all.count)
        #expect((submission["summary"]?["maxLength"] as? Int) == AlertSubmission.Limits.summary)
        let schemes = try #require(components["securitySchemes"] as? [String: [String: String]])
        #expect(schemes["bearer"]?["scheme"] == "bearer")
        // Each operation names the scope its handler asks the authenticator for.
        let paths = try #require(document["paths"] as? [String: [String: [String: Any]]])
        let file = try #require(paths["/v1/alerts"]?["post"])
        #expect(file["security"] as? [[String: [String]]] == [["bearer": ["alerts:write"]]])
        #expect((paths["/healthz"]?["get"]?["security"] as? [Any])?.isEmpty == true)
        let responses = try #require(file["responses"] as? [String: Any])
        #expect(Set(responses.keys).isSuperset(of: ["202", "400", "401", "403", "409", "413", "415", "422", "429", "503"]))
        #expect((document["info"] as? [String: String])?["description"]?.contains("/console") == true)
    }

    /// Each operation's documented scope is the one its handler asks the authenticator for:
    /// a token with every other scope gets `403`, a token with only that one does not.
    @Test func eachOperationNeedsExactlyTheScopeItDocuments() throws {
        var router = HTTPRouter()
        api.register(on: &router, servingAPI: true)
        let handler = router.handler
        var secrets: [Scope: (without: String, only: String)] = [:]
        for scope in Scope.allCases {
            let without = "without-\(scope.rawValue)-0123456789", only = "only-\(scope.rawValue)-0123456789"
            _ = try backend.shared.tokens.register(secret: without, organisation: "ops", scopes: Set(Scope.allCases).subtracting([scope]), clearance: .confidential)
            _ = try backend.shared.tokens.register(secret: only, organisation: "ops", scopes: [scope], clearance: .confidential)
            secrets[scope] = (without, only)
        }
        func status(_ operation: APIOperation, _ secret: String) -> Int {
            let path = operation.path.split(separator: "/").map { $0.hasPrefix("{") ? "x" : String($0) }.joined(separator: "/")
            var headers = HTTPHeaders()
            headers.set("authorization", "Bearer \(secret)")
            var request = HTTPRequest(method: operation.method, target: "/" + path, headers: headers)
            request.remoteAddress = "192.0.2.24"
            if let refused = api.authenticator.admission(request) { return refused.status }
            let answer = Mutex<HTTPResponse?>(nil)
            handler(request, HTTPResponder(capture: { response in answer.withLock { $0 = response } }))
            let deadline = Date().addingTimeInterval(5)
            while answer.withLock({ $0 }) == nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            return answer.withLock { $0 }?.status ?? 0
        }
        var checked = 0
        for operation in APIRoutes.operations(servingAPI: true) {
            guard case .token(let scope) = operation.access, let pair = secrets[scope] else { continue }
            #expect(status(operation, pair.without) == 403, "\(operation.method) \(operation.path) answers a token without \(scope.rawValue)")
            let allowed = status(operation, pair.only)
            #expect(allowed != 403 && allowed != 401 && allowed != 0, "\(operation.method) \(operation.path) refuses a token with only \(scope.rawValue): \(allowed)")
            checked += 1
        }
        #expect(checked == 22, "every operation behind a bearer token")
    }

    @Test func aLiteralPathIsNotReadAsAParameter() throws {
        var router = HTTPRouter()
        let hits = Mutex<[String]>([])
        router.add("GET", "/v1/things/{id}") { request, responder in
            hits.withLock { $0.append("id=\(request.pathParameters["id"] ?? "")") }
            responder.send(HTTPResponse(status: 200))
        }
        router.add("POST", "/v1/things/batch") { _, responder in
            hits.withLock { $0.append("batch") }
            responder.send(HTTPResponse(status: 202))
        }
        func send(_ method: String, _ target: String) -> HTTPResponse {
            let answer = Mutex<HTTPResponse?>(nil)
            router.handler(HTTPRequest(method: method, target: target), HTTPResponder(capture: { response in answer.withLock { $0 = response } }))
            return answer.withLock { $0 } ?? HTTPResponse(status: 0)
        }
        #expect(send("POST", "/v1/things/batch").status == 202)
        #expect(send("GET", "/v1/things/01ARZ3NDEKTSV4RRFFQ69G5FAV").status == 200)
        let refused = send("GET", "/v1/things/batch")
        #expect(refused.status == 405 && refused.headers["allow"] == "POST", "\(refused.headers["allow"] ?? "no Allow")")
        #expect(hits.withLock { $0 } == ["batch", "id=01ARZ3NDEKTSV4RRFFQ69G5FAV"])
    }
}
