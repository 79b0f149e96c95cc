import VigilCore
import VigilCrypto
import VigilHTTP
import VigilObservability

/// `GET /healthz` (the process answers), `GET /readyz` (it can read its log and is not
/// stopping) and `GET /metrics` (Prometheus text). Only `/metrics` can need a token: the
/// `metrics_token` setting, when set, as `Authorization: Bearer <metrics_token>`.
struct HealthAPI: Sendable {
    let log: any AlertLog
    let metrics: Metrics
    /// The bearer secret `/metrics` asks for, or `nil` when it is open.
    let metricsToken: String?
    let isStopping: @Sendable () -> Bool

    /// The contract of each route `register` adds.
    static var operations: [APIOperation] { [healthOperation, readyOperation, metricsOperation] }

    static let healthOperation = APIOperation(
        "GET", "/healthz", id: "health", tag: "operations", summary: "Whether the process answers", access: .open,
        responses: [.json(200, "it answers", .object(["status": .constant("ok")], required: ["status"]))])

    static let readyOperation = APIOperation(
        "GET", "/readyz", id: "ready", tag: "operations", summary: "Whether it can read its log and is not stopping", access: .open,
        responses: [
            .json(200, "ready", .object(["status": .constant("ready")], required: ["status"])),
            .error(503, "stopping, or the log cannot be read", headers: ["retry-after": APIOperation.Header("seconds to wait")]),
        ])

    static let metricsOperation = APIOperation(
        "GET", "/metrics", id: "metrics", tag: "operations", summary: "Prometheus metrics (text exposition format 0.0.4)",
        access: .metricsToken,
        responses: [APIOperation.Response(200, "the metrics", [APIOperation.Content(mediaType: "text/plain", schema: .string())])])

    func register(on router: inout HTTPRouter) {
        router.add(Self.healthOperation, inline: true) { _, responder in
            responder.send(HTTPResponse(status: 200, contentType: "application/json", text: "{\"status\":\"ok\"}"))
        }
        let log = self.log, metrics = self.metrics, isStopping = self.isStopping
        router.add(Self.readyOperation) { _, responder in
            if isStopping() {
                return responder.send(APIError.unavailable("the service is stopping").response)
            }
            guard (try? log.lastOffset()) != nil else {
                return responder.send(APIError.unavailable("the alert log cannot be read").response)
            }
            responder.send(HTTPResponse(status: 200, contentType: "application/json", text: "{\"status\":\"ready\"}"))
        }
        let metricsToken = self.metricsToken
        router.add(Self.metricsOperation) { request, responder in
            if let metricsToken, !HealthAPI.presents(metricsToken, request.headers["authorization"]) {
                return responder.send(APIError.unauthorized("/metrics needs Authorization: Bearer <metrics_token>").response)
            }
            responder.send(HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4", text: metrics.render()))
        }
    }
}

extension HealthAPI {
    /// Whether `header` is `Bearer <secret>`, compared in constant time (over the SHA-256 of
    /// each side, so neither the length nor a common prefix shows in the timing).
    static func presents(_ secret: String, _ header: String?) -> Bool {
        guard let header, header.utf8.count > 7, header.prefix(7).lowercased() == "bearer " else { return false }
        let given = SHA256.digest(Array(header.utf8.dropFirst(7))), wanted = SHA256.digest(Array(secret.utf8))
        var difference: UInt8 = 0
        for (a, b) in zip(given, wanted) { difference |= a ^ b }
        return difference == 0
    }
}
