import VigilCore

/// What the `alerts.routing` column holds (issue 19): the parts of an alert beyond the
/// indexed columns that routing and the workers' follow-up checks read from routing views —
/// the filing organisation, the case status, the next event's type and time, and the
/// handling instructions without their note — as compact JSON, so a routing view is made
/// without decoding the body. No free text: the note and the event's place stay sealed.
enum RoutingColumn {
    /// The column's value for `alert`.
    static func encode(_ alert: Alert) -> String {
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        w.field("organisation", alert.source.organisation)
        w.field("case_status", alert.caseStatus?.rawValue)
        if let event = alert.nextEvent {
            w.key("next_event")
            w.beginObject()
            w.field("type", event.type.rawValue)
            w.key("at")
            w.integer(event.at.milliseconds)
            w.endObject()
        }
        if let handling = alert.handling {
            w.key("handling")
            handling.withoutNote.write(to: &w)
        }
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }

    /// Puts what `text` (a value `encode` wrote) holds into `alert`; throws
    /// `StoreError.corrupt` when it does not read.
    static func apply(_ text: String, to alert: inout Alert) throws {
        guard case .object(let f) = try JSONParser.parse(Array(text.utf8)) else { throw StoreError.corrupt("an alert's routing column is not an object") }
        func string(_ value: JSONValue?) -> String? { if case .string(let s)? = value { s } else { nil } }
        func strings(_ value: JSONValue?) -> [String] {
            guard case .array(let items)? = value else { return [] }
            return items.compactMap { if case .string(let s) = $0 { s } else { nil } }
        }
        func bool(_ value: JSONValue?) -> Bool { if case .bool(true)? = value { true } else { false } }
        if let organisation = string(f["organisation"]) { alert.source.organisation = organisation }
        if let raw = string(f["case_status"]) {
            guard let status = CaseStatus(rawValue: raw) else { throw StoreError.corrupt("an alert's routing column has case status '\(raw)'") }
            alert.caseStatus = status
        }
        if case .object(let event)? = f["next_event"] {
            guard let type = string(event["type"]).flatMap(CaseEvent.Kind.init(rawValue:)), let at = event["at"]?.exactInt64 else {
                throw StoreError.corrupt("an alert's routing column has a next event without a known type or a whole-number time")
            }
            alert.nextEvent = CaseEvent(type: type, at: Timestamp(milliseconds: at))
        }
        if case .object(let h)? = f["handling"] {
            alert.handling = HandlingInstructions(
                noPublicStatement: bool(h["no_public_statement"]), noContactWithAuthorities: bool(h["no_contact_with_authorities"]),
                noContactWithDefender: bool(h["no_contact_with_defender"]),
                excludeKinds: strings(h["exclude_kinds"]).compactMap(SubscriberKind.init(rawValue:)), excludeSubscribers: strings(h["exclude_subscribers"]))
        }
    }
}
