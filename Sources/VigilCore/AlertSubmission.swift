import Foundation

/// An alert as a partner sends it, before the server has checked it and stamped its id,
/// reception time and source.
///
/// `validate` looks at every field and returns either an `Alert` or a `ValidationFailure`
/// naming every problem at once, so a filer fixes their alert in one round trip.
public struct AlertSubmission: Sendable {
    /// The decoded JSON body.
    public let body: JSONValue

    /// Fields the server assigns; a body may not set them.
    static let serverFields: Set<String> = ["id", "received_at"]
    /// Every field a body may carry.
    static let knownFields: Set<String> = [
        "id", "case_id", "kind", "status", "received_at", "occurred_at", "country", "region", "threat", "severity",
        "urgency", "certainty", "confidentiality", "defender", "summary", "summary_public", "language", "source", "tags", "links",
        "case_status", "next_event", "handling",
    ]
    static let defenderFields: Set<String> = ["name", "organisation", "role", "group"]
    static let nextEventFields: Set<String> = ["type", "at", "place"]
    static let handlingFields: Set<String> = [
        "no_public_statement", "no_contact_with_authorities", "no_contact_with_defender", "exclude_kinds", "exclude_subscribers", "note",
    ]

    /// Limits on free text, so one alert cannot bloat every copy of the log.
    public enum Limits {
        public static let name = 200
        public static let region = 200
        public static let summary = 4000
        public static let tags = 20
        public static let tag = 64
        public static let links = 20
        public static let link = 2000
        /// Subscribers one alert may exclude by id.
        public static let excludedSubscribers = 100
        /// The handling note.
        public static let handlingNote = 1000
        /// How far in the future `occurred_at` may lie, for clock skew.
        public static let futureSkewMilliseconds: Int64 = 5 * 60 * 1000
    }

    /// A submission of an already-decoded JSON body.
    public init(body: JSONValue) { self.body = body }

    /// Parses `bytes` as JSON; a body that is not JSON is one field error at `$`.
    public init(json bytes: [UInt8]) throws(ValidationFailure) {
        body = try ValidationFailure.parseBody(bytes)
    }

    /// Checks every field and returns the alert the server will append.
    ///
    /// - Parameters:
    ///   - id: the server-assigned ULID.
    ///   - receivedAt: the server's reception time.
    ///   - organisation: the filer's organisation, taken from its token.
    public func validate(id: ULID, receivedAt: Timestamp, organisation: String) throws(ValidationFailure) -> Alert {
        guard case .object(let fields) = body else {
            throw ValidationFailure([FieldError("$", "expected a JSON object, got \(body.typeName)")])
        }
        var r = FieldReader(fields)
        r.refuseUnknown(Self.knownFields, of: "an alert")
        for key in Self.serverFields.sorted() where fields[key] != nil {
            r.fail(key, "is assigned by the server; leave it out")
        }

        let kind = r.word("kind", default: AlertKind.alert)
        let status = r.word("status", default: AlertStatus.actual)
        let threat: Threat? = r.word("threat")
        let severity: Severity? = r.word("severity")
        let urgency = r.word("urgency", default: Urgency.unknown)
        let certainty: Certainty? = r.word("certainty")
        let confidentiality = r.word("confidentiality", default: Confidentiality.restricted)

        var country: CountryCode?
        if let text = r.string("country", required: true) {
            country = CountryCode(text)
            if country == nil { r.fail("country", "'\(text)' is not an ISO 3166-1 alpha-2 country code, such as BY or CO") }
        }

        var caseID: String?
        if let text = r.string("case_id", required: false) {
            if let ulid = ULID(text) {
                caseID = ulid.description
            } else {
                r.fail("case_id", "must be the id of the case's first alert (a 26-character ULID)")
            }
        }
        if let kind, kind != .alert, fields["case_id"] == nil {
            r.fail("case_id", "is required for an \(kind.rawValue): the id of the case's first alert")
        }

        var occurredAt: Timestamp?
        if let text = r.string("occurred_at", required: false) {
            if let time = Timestamp(rfc3339: text) {
                if time.milliseconds > receivedAt.milliseconds + Limits.futureSkewMilliseconds {
                    r.fail("occurred_at", "lies in the future; give the time the event happened")
                }
                occurredAt = time
            } else {
                r.fail("occurred_at", "must be an RFC 3339 time such as 2026-11-21T22:00:00Z")
            }
        }

        let region = r.text("region", max: Limits.region, required: false)
        let summary = r.text("summary", max: Limits.summary, required: true)
        let summaryPublic = r.text("summary_public", max: Limits.summary, required: false)
        let language = r.language("language", default: "en")

        var defender: Defender?
        if let object = r.object("defender", required: true) {
            let before = r.errors.count
            let read = r.nested(object, path: "defender") { d -> (String?, String?, String?, DefenderGroup?) in
                d.refuseUnknown(Self.defenderFields, of: "defender")
                return (d.text("name", max: Limits.name, required: true), d.text("organisation", max: Limits.name, required: false),
                        d.text("role", max: Limits.name, required: false), d.optionalWord("group"))
            }
            if r.errors.count == before, let name = read.0 {
                defender = Defender(name: name, organisation: read.1, role: read.2, group: read.3)
            }
        }

        if let source = r.object("source", required: false) {
            for key in source.keys.sorted() where key != "organisation" { r.fail("source.\(key)", "is not a field of source") }
            if let claimed = source["organisation"], claimed != .string(organisation) {
                r.fail("source.organisation", "is taken from your token ('\(organisation)'); a body cannot file for another organisation")
            }
        }

        let tags = r.strings("tags", maxCount: Limits.tags) { tag in
            guard !tag.isEmpty, FieldReader.fits(tag, max: Limits.tag),
                tag.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" })
            else { return "must be 1 to \(Limits.tag) lower-case letters, digits, '-' or '_'" }
            return nil
        }
        let links = r.strings("links", maxCount: Limits.links) { link in
            Self.isWebURL(link, maxLength: Limits.link) ? nil : "must be an http or https URL of at most \(Limits.link) characters"
        }
        var caseStatus: CaseStatus?
        var nextEvent: CaseEvent?
        if !r.isAbsent("case_status") || !r.isAbsent("next_event"), let kind, kind != .update {
            for key in ["case_status", "next_event"] where !r.isAbsent(key) {
                r.fail(key, "is carried by update alerts only; file an update of the case to change its status or next event")
            }
        } else {
            caseStatus = r.optionalWord("case_status")
            if let object = r.object("next_event", required: false) {
                nextEvent = r.nested(object, path: "next_event") { e -> CaseEvent? in
                    e.refuseUnknown(Self.nextEventFields, of: "next_event")
                    let type: CaseEvent.Kind? = e.word("type")
                    var at: Timestamp?
                    if let text = e.string("at", required: true) {
                        at = Timestamp(rfc3339: text)
                        if at == nil { e.fail("at", "must be an RFC 3339 time such as 2026-12-14T09:00:00Z") }
                    }
                    let place = e.text("place", max: Limits.region, required: false)
                    guard let type, let at else { return nil }
                    return CaseEvent(type: type, at: at, place: place)
                }
            }
        }

        var handling: HandlingInstructions?
        if let object = r.object("handling", required: false) {
            handling = r.nested(object, path: "handling") { h -> HandlingInstructions in
                h.refuseUnknown(Self.handlingFields, of: "handling")
                let kinds = h.strings("exclude_kinds", maxCount: SubscriberKind.allCases.count) {
                    SubscriberKind(rawValue: $0) == nil ? "'\($0)' is not one of: \(SubscriberKind.allowedWords)" : nil
                }
                let subscribers = h.strings("exclude_subscribers", maxCount: Limits.excludedSubscribers) {
                    !$0.isEmpty && FieldReader.fits($0, max: 64) ? nil : "must be a subscriber id"
                }
                return HandlingInstructions(
                    noPublicStatement: h.bool("no_public_statement", default: false),
                    noContactWithAuthorities: h.bool("no_contact_with_authorities", default: false),
                    noContactWithDefender: h.bool("no_contact_with_defender", default: false),
                    excludeKinds: kinds.compactMap(SubscriberKind.init(rawValue:)), excludeSubscribers: subscribers,
                    note: h.text("note", max: Limits.handlingNote, required: false))
            }
            if handling?.isEmpty == true { handling = nil }
        }
        let errors = r.errors

        guard errors.isEmpty, let kind, let status, let country, let threat, let severity, let urgency, let certainty,
            let confidentiality, let defender, let summary
        else { throw ValidationFailure(errors) }

        return Alert(
            id: id.description, caseID: caseID, kind: kind, status: status, receivedAt: receivedAt,
            occurredAt: occurredAt, country: country, region: region, threat: threat, severity: severity,
            urgency: urgency, certainty: certainty, confidentiality: confidentiality, defender: defender,
            summary: summary, summaryPublic: summaryPublic, language: language, source: AlertSource(organisation: organisation), tags: tags,
            links: links, caseStatus: caseStatus, nextEvent: nextEvent, handling: handling)
    }

    /// Whether `text` is an absolute http(s) URL with a host, of at most `maxLength`
    /// characters (Unicode scalars; see `FieldReader.lengthProblem`).
    static func isWebURL(_ text: String, maxLength: Int) -> Bool {
        guard FieldReader.fits(text, max: maxLength), let url = URL(string: text), let scheme = url.scheme?.lowercased(),
            scheme == "https" || scheme == "http", url.host?.isEmpty == false
        else { return false }
        return true
    }
}
