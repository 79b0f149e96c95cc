import VigilCore
import VigilHTTP

/// `GET /healthz` (the process answers), `GET /readyz` (it can read its log and is not
/// stopping) and `GET /metrics` (Prometheus text); none needs a token.
struct HealthAPI: Sendable {
    let log: any AlertLog
    let metrics: Metrics
    let isStopping: @Sendable () -> Bool

    func register(on router: inout HTTPRouter) {
        router.add("GET", "/healthz") { _, responder in
            responder.send(HTTPResponse(status: 200, contentType: "application/json", text: "{\"status\":\"ok\"}"))
        }
        let log = self.log, metrics = self.metrics, isStopping = self.isStopping
        router.add("GET", "/readyz") { _, responder in
            if isStopping() {
                return responder.send(APIError.unavailable("the service is stopping").response)
            }
            guard (try? log.lastOffset()) != nil else {
                return responder.send(APIError.unavailable("the alert log cannot be read").response)
            }
            responder.send(HTTPResponse(status: 200, contentType: "application/json", text: "{\"status\":\"ready\"}"))
        }
        router.add("GET", "/metrics") { _, responder in
            responder.send(HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4", text: metrics.render()))
        }
    }
}
