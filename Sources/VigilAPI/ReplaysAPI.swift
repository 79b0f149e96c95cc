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
        let replay: ReplayRequest
        do {
            replay = try ReplayRequest(json: request.body)
        } catch {
            return responder.send(APIError.validation(error).response)
        }
        let described = String(decoding: (try? VigilJSON.encode(replay.selection)) ?? Data(), as: UTF8.self)
        let targetText = replay.target.subscriberID.map { "to \($0)" + (replay.target.channelID.map { "/\($0)" } ?? "") } ?? "to every matching subscriber"
        do {
            if replay.dryRun {
                let plan = try runner.plan(replay)
                audit.record([AuditEntry(token, .replayStarted, target: "dry-run", detail: "dry run \(targetText): \(described)")])
                let listed = plan.deliveries.map {
                    PlannedDelivery(
                        delivery_id: DeliveryID.make(alertID: $0.alertID, subscriberID: $0.subscriberID, channelID: $0.channelID),
                        alert_id: $0.alertID, alert_offset: $0.alertOffset, subscriber_id: $0.subscriberID, channel_id: $0.channelID,
                        channel_type: $0.channelType.rawValue)
                }
                return responder.send(APIResponse.json(200, DryRun(
                    scanned: plan.scanned, alerts: plan.alerts, deliveries: plan.deliveryCount, listed: listed,
                    truncated: plan.deliveryCount > listed.count)))
            }
            let id = "rpl_" + ULID().description.lowercased()
            let progress = try runner.start(replay, id: id)
            audit.record([AuditEntry(token, .replayStarted, target: id, detail: "\(targetText): \(described)")])
            var headers = HTTPHeaders()
            headers.set("location", "/v1/replays/\(id)")
            responder.send(APIResponse.json(202, progress, headers: headers))
        } catch {
            responder.send(APIError.unavailable("the replay could not be started: \(error)").response)
        }
    }

    private func show(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard authenticator.require(.replay, request, responder) != nil else { return }
        let id = request.pathParameters["id"] ?? ""
        do {
            guard let progress = try store.replay(id: id) else { return responder.send(APIError.notFound("no replay with id '\(id)'").response) }
            responder.send(APIResponse.json(200, progress))
        } catch {
            responder.send(APIError.unavailable("the replay cannot be read right now").response)
        }
    }
}
