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
    /// Console accounts and invitations (issue 20), shared like the tokens.
    public let accounts: AccountStore
    /// Console sessions: local to the process even on Kafka (see `SessionStore`).
    public let sessions: SessionStore
    /// Subscribers' secret feed tokens (issue 21), shared like the bearer tokens.
    public let feedTokens: FeedTokenStore

    /// The stores.
    public init(
        tokens: TokenStore, subscribers: SubscriberRegistry, audit: AuditTrail, replays: ReplayStore, acknowledgements: AcknowledgementStore,
        accounts: AccountStore, sessions: SessionStore, feedTokens: FeedTokenStore
    ) {
        self.tokens = tokens
        self.subscribers = subscribers
        self.audit = audit
        self.replays = replays
        self.acknowledgements = acknowledgements
        self.accounts = accounts
        self.sessions = sessions
        self.feedTokens = feedTokens
    }
}
