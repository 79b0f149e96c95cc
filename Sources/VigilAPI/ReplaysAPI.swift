import Foundation
import VigilCore
import VigilCrypto
import VigilHTTP
import VigilStore

/// `POST /v1/replays` and `GET /v1/replays/{id}` (scope `replay`): resend alerts from the
/// log, or with `"dry_run": true` list what would be sent.
struct ReplaysAPI: Sendable {
    let runner: ReplayRunner
    let store: ReplayStore
    let authenticator: Authenticator
    let audit: AuditTrail

    /// The replay path this API shares with the console.
    var launcher: ReplayLauncher { ReplayLauncher(runner: runner, store: store, audit: audit) }

    func register(on router: inout HTTPRouter) {
        router.add("POST", "/v1/replays") { request, responder in start(request, responder) }
        router.add("GET", "/v1/replays/{id}") { request, responder in show(request, responder) }
    }

    private struct PlannedDelivery: Encodable {
        let delivery_id: String
        let alert_id: String
        let alert_offset: Int64
        let subscriber_id: String
        let channel_id: String
        let channel_type: String
    }

    private struct DryRun: Encodable {
        let dry_run = true
        let scanned: Int
        let alerts: Int
        let deliveries: Int
        let listed: [PlannedDelivery]
        let truncated: Bool
    }

    private func start(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let token = authenticator.require(.replay, request, responder) else { return }
        switch launcher.submit(request.body, by: token) {
        case .success(.planned(let plan)):
            let listed = plan.deliveries.map {
                PlannedDelivery(
                    delivery_id: DeliveryID.make(alertID: $0.alertID, subscriberID: $0.subscriberID, channelID: $0.channelID),
                    alert_id: $0.alertID, alert_offset: $0.alertOffset, subscriber_id: $0.subscriberID, channel_id: $0.channelID,
                    channel_type: $0.channelType.rawValue)
            }
            responder.send(APIResponse.json(200, DryRun(
                scanned: plan.scanned, alerts: plan.alerts, deliveries: plan.deliveryCount, listed: listed,
                truncated: plan.deliveryCount > listed.count)))
        case .success(.started(let progress)):
            var headers = HTTPHeaders()
            headers.set("location", "/v1/replays/\(progress.id)")
            responder.send(APIResponse.json(202, progress, headers: headers))
        case .failure(let error):
            responder.send(error.response)
        }
    }

    private func show(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard authenticator.require(.replay, request, responder) != nil else { return }
        switch launcher.progress(id: request.pathParameters["id"] ?? "") {
        case .success(let progress): responder.send(APIResponse.json(200, progress))
        case .failure(let error): responder.send(error.response)
        }
    }
}
