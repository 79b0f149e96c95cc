/// An urgent report about a threatened human rights defender, as it is kept in the log and
/// sent to subscribers (DESIGN §5).
///
/// Instances are made by `AlertSubmission.validate`, which stamps the server-assigned
/// fields, or decoded from the log.
public struct Alert: Sendable, Equatable, Codable {
    /// Server-assigned ULID; sorts by reception time.
    public var id: String
    /// Links updates and cancels to the first alert of a case; the alert's own id by default.
    public var caseID: String
    /// Whether this opens a case, updates it or cancels it.
    public var kind: AlertKind
    /// Whether this is real, a drill or a technical test.
    public var status: AlertStatus
    /// When the server accepted the alert.
    public var receivedAt: Timestamp
    /// When the event happened, if the filer knows.
    public var occurredAt: Timestamp?
    /// Where it happened; routing is keyed on it.
    public var country: CountryCode
    /// A region or city within the country.
    public var region: String?
    /// What is happening to the defender.
    public var threat: Threat
    /// How grave it is.
    public var severity: Severity
    /// CAP urgency.
    public var urgency: Urgency
    /// CAP certainty.
    public var certainty: Certainty
    /// Who may see the defender's identity.
    public var confidentiality: Confidentiality
    /// The person at risk.
    public var defender: Defender
    /// One paragraph, in `language`. Sealed with the identity: only readers cleared for
    /// the alert's confidentiality ever read it (see `redacted(for:language:)`).
    public var summary: String
    /// What the filer wrote for readers below the alert's confidentiality, in `language`;
    /// without it such readers get a fixed "withheld" text, never the summary. Sealed with
    /// the identity too, so an erasure removes it; readers below clearance get it scrubbed
    /// of the defender's name, organisation and role as a second line of defence.
    public var summaryPublic: String?
    /// BCP 47 language tag of `summary`.
    public var language: String
    /// The filing organisation.
    public var source: AlertSource
    /// Free labels such as `trade-union`.
    public var tags: [String]
    /// Supporting links.
    public var links: [String]
    /// Where the case stands, on an `update` that says so.
    public var caseStatus: CaseStatus?
    /// The case's next dated step, on an `update` that gives one.
    public var nextEvent: CaseEvent?
    /// What the filer asks of the recipients; routing obeys its exclusions.
    public var handling: HandlingInstructions?

    enum CodingKeys: String, CodingKey {
        case id
        case caseID = "case_id"
        case kind, status
        case receivedAt = "received_at"
        case occurredAt = "occurred_at"
        case country, region, threat, severity, urgency, certainty, confidentiality, defender, summary
        case summaryPublic = "summary_public"
        case language, source, tags, links
        case caseStatus = "case_status"
        case nextEvent = "next_event"
        case handling
    }

    /// A fully specified alert; validation is `AlertSubmission`'s job.
    public init(
        id: String, caseID: String? = nil, kind: AlertKind = .alert, status: AlertStatus = .actual,
        receivedAt: Timestamp, occurredAt: Timestamp? = nil, country: CountryCode, region: String? = nil,
        threat: Threat, severity: Severity, urgency: Urgency = .unknown, certainty: Certainty,
        confidentiality: Confidentiality = .restricted, defender: Defender, summary: String, summaryPublic: String? = nil,
        language: String = "en", source: AlertSource, tags: [String] = [], links: [String] = [], caseStatus: CaseStatus? = nil,
        nextEvent: CaseEvent? = nil, handling: HandlingInstructions? = nil
    ) {
        self.id = id
        self.caseID = caseID ?? id
        self.kind = kind
        self.status = status
        self.receivedAt = receivedAt
        self.occurredAt = occurredAt
        self.country = country
        self.region = region
        self.threat = threat
        self.severity = severity
        self.urgency = urgency
        self.certainty = certainty
        self.confidentiality = confidentiality
        self.defender = defender
        self.summary = summary
        self.summaryPublic = summaryPublic
        self.language = language
        self.source = source
        self.tags = tags
        self.links = links
        self.caseStatus = caseStatus
        self.nextEvent = nextEvent
        self.handling = handling
    }
}
