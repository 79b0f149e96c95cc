import VigilCore
import VigilHTTP
import VigilStore

/// `GET /v1/cases/{case_id}` (issue 19): a case's latest status and next event, its alerts in
/// order redacted to the reader, and the who-is-acting board: for each subscriber that received
/// the case, whether a sending reached it and whether and how it acknowledged.
///
/// The visibility rule: the filing organisation and operators see every row; another
/// organisation that received the case sees its own rows and those of subscribers whose
/// `ack_visibility` is `recipients`; anyone else sees none. Notes show only at the clearance
/// of the alert they were written on.
public struct CasesAPI: Sendable {
    /// Most alerts of one case read for an answer.
    static let maxAlerts = 10_000

    let log: any AlertLog
    let deliveries: any DeliveryLedger
    let ledger: any AcknowledgementLedger
    let subscribers: SubscriberRegistry
    let authenticator: Authenticator
    let audit: AuditTrail

    /// Adds the route to `router`.
    public func register(on router: inout HTTPRouter) {
        router.add(Self.readOperation) { request, responder in read(request, responder) }
    }

    /// The contract of each route `register` adds.
    static var operations: [APIOperation] { [readOperation] }

    static let readOperation = APIOperation(
        "GET", "/v1/cases/{case_id}", id: "readCase", tag: "cases",
        summary: "A case: its status, next event, alerts redacted to the reader, and the who-is-acting board", access: .token(.alertsRead),
        parameters: [.path("case_id", "the id of the case's first alert")],
        responses: [
            .json(200, "the case", .object(
                [
                    "case_id": .string(), "status": .words(CaseStatus.self).orNull,
                    "next_event": OpenAPISchema.object(
                        ["type": .words(CaseEvent.Kind.self), "at": APIComponents.time, "place": .string().orNull],
                        required: ["at", "place", "type"]).orNull,
                    "alerts": .array(.ref("Alert"), minItems: 1),
                    "board": .array(.object(
                        [
                            "subscriber_id": .string(), "organisation": .string(), "kind": .words(SubscriberKind.self).orNull,
                            "delivered": .boolean(), "acknowledged": .boolean(), "action": .words(AckAction.self).orNull,
                            "at": APIComponents.time.orNull, "note": .string().orNull,
                        ], required: ["acknowledged", "action", "at", "delivered", "kind", "note", "organisation", "subscriber_id"])),
                ], required: ["alerts", "board", "case_id", "next_event", "status"])),
            .error(404, "no such case"),
        ])

    func read(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let token = authenticator.require(.alertsRead, request, responder) else { return }
        let caseID = request.pathParameters["case_id"] ?? ""
        do {
            let alerts = try log.alerts(matching: AlertQuery(caseID: caseID, limit: Self.maxAlerts))
            guard !alerts.isEmpty else { return responder.send(APIError.notFound("no case with id '\(caseID)'").response) }
            audit.recordReads(alerts, by: token)
            let redacted = alerts.map { $0.alert.redacted(for: token.clearance) }
            let visible = try CaseBoard(deliveries: deliveries, ledger: ledger, subscribers: subscribers).visibleRows(of: alerts, to: token)
            var w = JSONWriter(capacity: 512 + alerts.count * 900 + visible.count * 200)
            w.beginObject()
            w.field("case_id", caseID)
            w.key("status")
            if let status = redacted.last(where: { $0.caseStatus != nil })?.caseStatus { w.string(status.rawValue) } else { w.null() }
            w.key("next_event")
            if let event = redacted.last(where: { $0.nextEvent != nil })?.nextEvent {
                w.beginObject()
                w.field("type", event.type.rawValue)
                w.field("at", event.at.description)
                w.key("place")
                if let place = event.place { w.string(place) } else { w.null() }
                w.endObject()
            } else {
                w.null()
            }
            w.key("alerts")
            w.beginArray()
            for (alert, stored) in zip(redacted, alerts) { alert.write(to: &w, offset: stored.offset) }
            w.endArray()
            w.key("board")
            w.beginArray()
            for row in visible {
                w.beginObject()
                w.field("subscriber_id", row.subscriberID)
                w.field("organisation", row.organisation)
                w.key("kind")
                if let kind = row.kind { w.string(kind.rawValue) } else { w.null() }
                w.key("delivered")
                w.bool(row.delivered)
                w.key("acknowledged")
                w.bool(row.ack != nil)
                w.key("action")
                if let action = row.ack?.action { w.string(action.rawValue) } else { w.null() }
                w.key("at")
                if let at = row.ack?.at { w.string(at.description) } else { w.null() }
                w.key("note")
                if let note = row.ack?.note { w.string(token.clearance >= row.ackClearance ? note : RedactionMark.redacted) } else { w.null() }
                w.endObject()
            }
            w.endArray()
            w.endObject()
            responder.send(APIResponse.json(200, bytes: w.bytes))
        } catch {
            responder.send(APIError.unavailable("the case cannot be read right now").response)
        }
    }
}
