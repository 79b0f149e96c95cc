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

    /// A subscriber.
    public init(
        id: String, name: String, kind: SubscriberKind, organisation: String, contact: String,
        clearance: Confidentiality, language: String, channels: [Channel], subscriptions: [Subscription]
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
    }

    /// Whether any of its subscriptions matches `alert`.
    public func follows(_ alert: Alert) -> Bool { subscriptions.contains { $0.matches(alert) } }
}
