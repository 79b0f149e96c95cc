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
        router.add("GET", "/v1/cases/{case_id}") { request, responder in read(request, responder) }
    }

    /// A row of the board, before the visibility rule.
    struct Row {
        let subscriberID: String
        var organisation: String
        var kind: SubscriberKind?
        var delivered = false
        var ack: Acknowledgement?
        var ackClearance: Confidentiality = .public
    }

    func read(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let token = authenticator.require(.alertsRead, request, responder) else { return }
        let caseID = request.pathParameters["case_id"] ?? ""
        do {
            let alerts = try log.alerts(matching: AlertQuery(caseID: caseID, limit: Self.maxAlerts))
            guard let first = alerts.first else { return responder.send(APIError.notFound("no case with id '\(caseID)'").response) }
            audit.recordReads(alerts, by: token)
            let redacted = alerts.map { $0.alert.redacted(for: token.clearance) }
            let rows = try board(of: alerts)
            let filer = first.alert.source.organisation
            let seesAll = token.isOperator || token.organisation == filer
            let readerIsRecipient = rows.values.contains { $0.organisation == token.organisation }
            var visibility: [String: AckVisibility] = [:]
            for id in rows.keys { visibility[id] = try subscribers.subscriber(id: id)?.ackVisibility ?? .filer }
            let visible = rows.values.filter { row in
                seesAll || row.organisation == token.organisation || (readerIsRecipient && visibility[row.subscriberID] == .recipients)
            }.sorted { $0.subscriberID < $1.subscriberID }

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

    /// Every subscriber that received the case: a first sending not skipped, or an escalation
    /// that reached it. A subscriber's latest acknowledgement of any of the case's alerts is its action.
    func board(of alerts: [StoredAlert]) throws -> [String: Row] {
        var rows: [String: Row] = [:]
        for stored in alerts {
            for delivery in try deliveries.deliveries(ofAlert: stored.alert.id) {
                let received: Bool
                switch delivery.followUp {
                case nil: received = delivery.state != .skipped && delivery.state != .cancelled
                case .escalation?: received = delivery.state == .delivered
                default: received = false
                }
                guard received else { continue }
                var row = rows[delivery.subscriberID] ?? Row(subscriberID: delivery.subscriberID, organisation: "")
                if delivery.state == .delivered { row.delivered = true }
                rows[delivery.subscriberID] = row
            }
            for ack in try ledger.acknowledgements(ofAlert: stored.alert.id) {
                guard var row = rows[ack.subscriberID] else { continue }
                if row.ack.map({ $0.at <= ack.at }) ?? true {
                    row.ack = ack
                    row.ackClearance = stored.alert.confidentiality
                }
                rows[ack.subscriberID] = row
            }
        }
        for (id, row) in rows {
            var filled = row
            if let ack = row.ack {
                filled.organisation = ack.organisation
                filled.kind = ack.kind
            }
            if let subscriber = try subscribers.subscriber(id: id) {
                filled.organisation = subscriber.organisation
                filled.kind = subscriber.kind
            }
            rows[id] = filled
        }
        return rows
    }
}
