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
        router.add(Self.startOperation) { request, responder in start(request, responder) }
        router.add(Self.showOperation) { request, responder in show(request, responder) }
    }

    /// The contract of each route `register` adds.
    static var operations: [APIOperation] { [startOperation, showOperation] }

    static let startOperation = APIOperation(
        "POST", "/v1/replays", id: "startReplay", tag: "replays",
        summary: "Resend alerts from the log to today's matching subscribers, or list what would be sent (dry_run)", access: .token(.replay),
        body: [.json(.object(
            [
                "from_offset": .integer(minimum: 1, maximum: 8_999_999_999_999_999), "to_offset": .integer(minimum: 1, maximum: 8_999_999_999_999_999),
                "since": APIComponents.time, "until": APIComponents.time,
                "alert_ids": .array(APIComponents.ulid, maxItems: 10_000), "case_id": .string(),
                "countries": .array(APIComponents.country, maxItems: 249), "severities": .array(.words(Severity.self), maxItems: 8),
                "threats": .array(.words(Threat.self), maxItems: 32), "subscriber_id": .string(),
                "channel_id": .string("needs subscriber_id"), "dry_run": .boolean(),
            ], closed: true, "name at least one selector; from_offset 1 selects the whole log"))],
        responses: [
            .json(200, "the dry run: what would be sent", .object(
                [
                    "dry_run": OpenAPISchema.boolean(), "scanned": .integer(minimum: 0), "alerts": .integer(minimum: 0),
                    "deliveries": .integer(minimum: 0), "truncated": .boolean(),
                    "listed": .array(.object(
                        [
                            "delivery_id": .string(), "alert_id": .string(), "alert_offset": .integer(minimum: 1), "subscriber_id": .string(),
                            "channel_id": .string(), "channel_type": .words(Channel.Kind.self),
                        ], required: ["alert_id", "alert_offset", "channel_id", "channel_type", "delivery_id", "subscriber_id"])),
                ], required: ["alerts", "deliveries", "dry_run", "listed", "scanned", "truncated"])),
            .json(202, "started", .ref("ReplayProgress"), headers: ["location": APIOperation.Header("the replay's URL", required: true)]),
            .validation("the replay is invalid or selects nothing"),
        ])

    static let showOperation = APIOperation(
        "GET", "/v1/replays/{id}", id: "readReplay", tag: "replays", summary: "Where a replay stands", access: .token(.replay),
        parameters: [.path("id", "the replay's id")],
        responses: [.json(200, "the replay", .ref("ReplayProgress")), .error(404, "no such replay")])

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
