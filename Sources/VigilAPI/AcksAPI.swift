import VigilCore
import VigilHTTP
import VigilStore

/// `POST /v1/alerts/{id}/acks` and `GET /v1/alerts/{id}/acks` (issue 19): a desk's token
/// acknowledges an alert for one of its organisation's subscribers; any reader of the alert
/// sees who acknowledged it, the notes only at the alert's clearance.
public struct AcksAPI: Sendable {
    let log: any AlertLog
    let acknowledger: Acknowledger
    let subscribers: SubscriberRegistry
    let deliveries: any DeliveryLedger
    let authenticator: Authenticator
    let audit: AuditTrail

    /// Adds the routes to `router`.
    public func register(on router: inout HTTPRouter) {
        router.add(Self.acknowledgeOperation) { request, responder in acknowledge(request, responder) }
        router.add(Self.listOperation) { request, responder in list(request, responder) }
    }

    /// The contract of each route `register` adds.
    static var operations: [APIOperation] { [acknowledgeOperation, listOperation] }

    static let acknowledgeOperation = APIOperation(
        "POST", "/v1/alerts/{id}/acks", id: "acknowledgeAlert", tag: "acknowledgements",
        summary: "Acknowledge an alert for one of the token's organisation's subscribers", access: .token(.alertsRead),
        parameters: [.path("id", "the alert's id")],
        body: [.json(.object(
            [
                "subscriber_id": .string("a subscriber of the token's organisation that received the alert"),
                "action": .words(AckAction.self).orNull, "note": APIComponents.note.orNull,
            ], required: ["subscriber_id"], closed: true))],
        responses: [
            .json(200, "acknowledged again (action or note changed)", .ref("Acknowledgement")),
            .json(201, "the subscriber's first acknowledgement", .ref("Acknowledgement")),
            .error(403, "the subscriber belongs to another organisation"),
            .error(404, "no such alert"),
            .error(409, "the action contradicts the filer's handling instruction (`instruction` names it)"),
            .error(415, "the body is not application/json"),
            .validation("the body is invalid, or the subscriber is unknown or did not receive the alert"),
        ])

    static let listOperation = APIOperation(
        "GET", "/v1/alerts/{id}/acks", id: "listAcknowledgements", tag: "acknowledgements",
        summary: "Who acknowledged an alert; notes only at the alert's clearance", access: .token(.alertsRead),
        parameters: [.path("id", "the alert's id")],
        responses: [
            .json(200, "the acknowledgements", .object(
                [
                    "alert_id": .string(),
                    "acks": .array(.object(
                        [
                            "subscriber_id": .string(), "organisation": .string(), "kind": .words(SubscriberKind.self),
                            "action": .words(AckAction.self), "at": APIComponents.time, "via": .words(Acknowledgement.Via.self),
                            "note": .string().orNull,
                        ], required: ["action", "at", "kind", "note", "organisation", "subscriber_id", "via"])),
                ], required: ["acks", "alert_id"])),
            .error(404, "no such alert"),
        ])

    func acknowledge(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let token = authenticator.require(.alertsRead, request, responder) else { return }
        if let type = request.headers["content-type"], !type.lowercased().hasPrefix("application/json") {
            return responder.send(APIError.unsupportedMediaType("send the acknowledgement as application/json").response)
        }
        let id = request.pathParameters["id"] ?? ""
        guard case .object(let fields)? = try? JSONParser.parse(request.body) else {
            return responder.send(APIError.validation(ValidationFailure([
                FieldError("body", "must be a JSON object such as {\"subscriber_id\": \"sub_…\", \"action\": \"acting\"}")
            ])).response)
        }
        var problems: [FieldError] = []
        for key in fields.keys.sorted() where !["subscriber_id", "action", "note"].contains(key) {
            problems.append(FieldError(key, "is not a field of an acknowledgement (subscriber_id, action, note)"))
        }
        func text(_ name: String) -> String? {
            switch fields[name] {
            case nil, .null?: return nil
            case .string(let value)?: return value
            default:
                problems.append(FieldError(name, "must be a string"))
                return nil
            }
        }
        let subscriberID = text("subscriber_id"), action = text("action"), note = text("note")
        // `null` reads as absent, as everywhere in a body: the field is still required.
        if subscriberID == nil && (fields["subscriber_id"] == nil || fields["subscriber_id"] == .null) {
            problems.append(FieldError("subscriber_id", "is required"))
        }
        if case .failure(let failure) = Acknowledger.request(action: action, note: note) { problems += failure.fields }
        guard problems.isEmpty, let subscriberID else { return responder.send(APIError.validation(ValidationFailure(problems)).response) }
        switch acknowledger.acknowledge(alertID: id, subscriberID: subscriberID, action: action, note: note, by: token, via: .api) {
        case .failure(let error): responder.send(error.response)
        case .success(let (ack, first)):
            var w = JSONWriter(capacity: 256)
            w.beginObject()
            w.field("alert_id", ack.alertID)
            w.field("subscriber_id", ack.subscriberID)
            w.field("action", ack.action.rawValue)
            w.field("at", ack.at.description)
            w.field("via", ack.via.rawValue)
            w.key("first")
            w.bool(first)
            w.endObject()
            responder.send(APIResponse.json(first ? 201 : 200, bytes: w.bytes))
        }
    }

    func list(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let token = authenticator.require(.alertsRead, request, responder) else { return }
        let id = request.pathParameters["id"] ?? ""
        do {
            guard let stored = try log.alert(id: id) else { return responder.send(APIError.notFound("no alert with id '\(id)'").response) }
            let acks = try acknowledger.ledger.acknowledgements(ofAlert: id)
            let showNotes = token.clearance >= stored.alert.confidentiality
            if showNotes && acks.contains(where: { $0.note != nil }) { audit.recordReads([stored], by: token) }
            var w = JSONWriter(capacity: 128 + acks.count * 256)
            w.beginObject()
            w.field("alert_id", id)
            w.key("acks")
            w.beginArray()
            for ack in acks.sorted(by: { ($0.at, $0.subscriberID) < ($1.at, $1.subscriberID) }) {
                AcksAPI.write(ack, showNote: showNotes, to: &w)
            }
            w.endArray()
            w.endObject()
            responder.send(APIResponse.json(200, bytes: w.bytes))
        } catch {
            responder.send(APIError.unavailable("the acknowledgements cannot be read right now").response)
        }
    }

    /// One acknowledgement as the API shows it; its note only when `showNote` (else `[redacted]`
    /// when there is one, `null` when there is none).
    static func write(_ ack: Acknowledgement, showNote: Bool, to w: inout JSONWriter) {
        w.beginObject()
        w.field("subscriber_id", ack.subscriberID)
        w.field("organisation", ack.organisation)
        w.field("kind", ack.kind.rawValue)
        w.field("action", ack.action.rawValue)
        w.field("at", ack.at.description)
        w.field("via", ack.via.rawValue)
        w.key("note")
        if let note = ack.note { w.string(showNote ? note : RedactionMark.redacted) } else { w.null() }
        w.endObject()
    }
}
