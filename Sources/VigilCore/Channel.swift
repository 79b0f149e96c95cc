/// How a subscriber is reached: a webhook endpoint or an email address.
public struct Channel: Sendable, Equatable, Codable, Hashable {
    /// The two ways out.
    public enum Kind: String, Vocabulary {
        case webhook, email
    }

    /// Server-assigned, stable across edits of the subscriber.
    public var id: String
    /// Webhook or email.
    public var type: Kind
    /// The endpoint, for a webhook.
    public var url: String?
    /// The mailbox, for email.
    public var address: String?

    /// A channel; `url` for webhooks, `address` for email.
    public init(id: String, type: Kind, url: String? = nil, address: String? = nil) {
        self.id = id
        self.type = type
        self.url = url
        self.address = address
    }

    /// The URL or address, for listings.
    public var target: String { url ?? address ?? "" }
}
