/// What every process of a deployment shares: on the embedded backend the tables of its one
/// file; on Kafka the same tables as caches of compacted topics, written through to them.
public struct SharedState: Sendable {
    /// Bearer tokens.
    public let tokens: TokenStore
    /// Subscribers and their webhook secrets.
    public let subscribers: SubscriberRegistry
    /// Who did what: filings, sensitive reads, erasures, replays, admin changes.
    public let audit: AuditTrail
    /// Replays and their progress.
    public let replays: ReplayStore
    /// Subscribers' acknowledgements of alerts (issue 19).
    public let acknowledgements: AcknowledgementStore

    /// The five stores.
    public init(
        tokens: TokenStore, subscribers: SubscriberRegistry, audit: AuditTrail, replays: ReplayStore, acknowledgements: AcknowledgementStore
    ) {
        self.tokens = tokens
        self.subscribers = subscribers
        self.audit = audit
        self.replays = replays
        self.acknowledgements = acknowledgements
    }
}
