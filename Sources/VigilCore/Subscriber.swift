/// A desk, delegation, embassy or NGO that receives alerts (DESIGN §6, §10).
public struct Subscriber: Sendable, Equatable, Codable {
    /// Server-assigned id (`sub_…`).
    public var id: String
    /// A name people recognise, for example "FPS Foreign Affairs — Belarus desk".
    public var name: String
    /// What kind of body it is.
    public var kind: SubscriberKind
    /// The organisation it belongs to.
    public var organisation: String
    /// Who to tell about problems with its endpoints (an email address).
    public var contact: String
    /// The highest confidentiality whose identities it may see.
    public var clearance: Confidentiality
    /// The language of its emails (`en`, `fr`, `nl`, …).
    public var language: String
    /// Where alerts go.
    public var channels: [Channel]
    /// What it follows.
    public var subscriptions: [Subscription]
    /// What happens when it does not acknowledge an alert in time, if anything.
    public var escalation: EscalationPolicy?
    /// Whether it is told of what happens to its organisation's alerts (acknowledged,
    /// escalated): the filing organisation's report channel.
    public var reports: Bool
    /// Who sees its acknowledgements on a case's board besides the filer and operators.
    public var ackVisibility: AckVisibility

    private enum CodingKeys: String, CodingKey {
        case id, name, kind, organisation, contact, clearance, language, channels, subscriptions, escalation, reports, ackVisibility
    }

    /// A subscriber.
    public init(
        id: String, name: String, kind: SubscriberKind, organisation: String, contact: String,
        clearance: Confidentiality, language: String, channels: [Channel], subscriptions: [Subscription],
        escalation: EscalationPolicy? = nil, reports: Bool = false, ackVisibility: AckVisibility = .filer
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.organisation = organisation
        self.contact = contact
        self.clearance = clearance
        self.language = language
        self.channels = channels
        self.subscriptions = subscriptions
        self.escalation = escalation
        self.reports = reports
        self.ackVisibility = ackVisibility
    }

    /// Decodes a stored subscriber; those stored before issue 19 have no escalation, do not
    /// report and show their acknowledgements to the filer only.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        name = try c.decode(String.self, forKey: .name)
        kind = try c.decode(SubscriberKind.self, forKey: .kind)
        organisation = try c.decode(String.self, forKey: .organisation)
        contact = try c.decode(String.self, forKey: .contact)
        clearance = try c.decode(Confidentiality.self, forKey: .clearance)
        language = try c.decode(String.self, forKey: .language)
        channels = try c.decode([Channel].self, forKey: .channels)
        subscriptions = try c.decode([Subscription].self, forKey: .subscriptions)
        escalation = try c.decodeIfPresent(EscalationPolicy.self, forKey: .escalation)
        reports = try c.decodeIfPresent(Bool.self, forKey: .reports) ?? false
        ackVisibility = try c.decodeIfPresent(AckVisibility.self, forKey: .ackVisibility) ?? .filer
    }

    /// Whether any of its subscriptions matches `alert`.
    public func follows(_ alert: Alert) -> Bool { subscriptions.contains { $0.matches(alert) } }

    /// The digest `alert` is gathered into, or `nil` when it goes at once: it is gathered
    /// only when every subscription matching it gathers its severity (a subscription without
    /// a digest, or one whose digest takes only lower severities, sends it at once), into the
    /// digest of the first of them.
    public func digest(for alert: Alert) -> DigestSchedule? {
        var chosen: DigestSchedule?
        for subscription in subscriptions where subscription.matches(alert) {
            guard let digest = subscription.digest, digest.gathers(alert.severity) else { return nil }
            if chosen == nil { chosen = digest }
        }
        return chosen
    }
}
