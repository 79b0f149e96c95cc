import VigilCore
import VigilHTTP
import VigilObservability
import VigilStore

/// `GET /v1/deliveries?state=dead` and `POST /v1/deliveries/{id}/retry` (scope `replay`):
/// the dead letters, and a way to send one again with a fresh retry budget.
struct DeliveriesAPI: Sendable {
    let queue: any DeliveryLedger
    let authenticator: Authenticator
    let workers: any DeliveryWorkers
    let audit: AuditTrail
    let logger: Logger

    /// The retry path this API shares with the console.
    var deadLetters: DeadLetters { DeadLetters(queue: queue, workers: workers, audit: audit, logger: logger) }

    func register(on router: inout HTTPRouter) {
        router.add("GET", "/v1/deliveries") { request, responder in list(request, responder) }
        router.add("POST", "/v1/deliveries/{id}/retry") { request, responder in retry(request, responder) }
    }

    private func list(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard authenticator.require(.replay, request, responder) != nil else { return }
        guard request.query["state"] == "dead" else {
            return responder.send(APIError.badRequest("state: only state=dead is listed here; an alert's deliveries are at /v1/alerts/{id}/deliveries").response)
        }
        var limit = 100
        if let text = request.query["limit"] {
            guard let value = Int(text) else { return responder.send(APIError.badRequest("limit: must be between 1 and 1000").response) }
            limit = value
        }
        guard (1...1000).contains(limit) else { return responder.send(APIError.badRequest("limit: must be between 1 and 1000").response) }
        switch deadLetters.newest(limit: limit) {
        case .success(let records): responder.send(APIResponse.deliveries(records))
        case .failure(let error): responder.send(error.response)
        }
    }

    private func retry(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let token = authenticator.require(.replay, request, responder) else { return }
        let id = request.pathParameters["id"] ?? ""
        switch deadLetters.retry(id, by: token) {
        case .success:
            responder.send(HTTPResponse(status: 202, contentType: "application/json", text: "{\"id\":\"\(id)\",\"state\":\"pending\"}"))
        case .failure(let error):
            responder.send(error.response)
        }
    }
}
