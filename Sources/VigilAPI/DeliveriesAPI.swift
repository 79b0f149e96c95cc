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
        router.add(Self.listOperation) { request, responder in list(request, responder) }
        router.add(Self.retryOperation) { request, responder in retry(request, responder) }
    }

    /// The contract of each route `register` adds.
    static var operations: [APIOperation] { [listOperation, retryOperation] }

    static let listOperation = APIOperation(
        "GET", "/v1/deliveries", id: "listDeadLetters", tag: "deliveries", summary: "The newest dead letters, newest first",
        access: .token(.replay),
        parameters: [
            .query("state", "only dead is listed here", .words([DeliveryState.dead.rawValue]), required: true),
            .query("limit", "at most this many (default 100)", .integer(minimum: 1, maximum: 1000)),
        ],
        responses: [.json(200, "the dead letters", .ref("Deliveries")), .error(400, "state is not dead, or limit is out of bounds")])

    static let retryOperation = APIOperation(
        "POST", "/v1/deliveries/{id}/retry", id: "retryDeadLetter", tag: "deliveries",
        summary: "Queue a dead delivery again with a fresh retry budget", access: .token(.replay),
        parameters: [.path("id", "the delivery's id")],
        responses: [
            .json(202, "queued again", .object(["id": .string(), "state": .constant(DeliveryState.pending.rawValue)], required: ["id", "state"])),
            .error(404, "no dead delivery with this id"),
        ])

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
