import VigilCore
import VigilDelivery
import VigilHTTP
import VigilObservability
import VigilStore

/// The HTTP API of DESIGN §10 over a backend: every route, and the authenticator that admits
/// requests on their head. The service builds one and registers it on its router; tests and
/// benchmarks can drive the same routes in-process through `HTTPRouter.handler`.
public struct APIRoutes: Sendable {
    /// What the API takes from the configuration.
    public struct Settings: Sendable {
        /// Requests per second each token may make, and the burst above it.
        public var rateLimitPerSecond: Double
        public var rateLimitBurst: Double
        /// Failed authentications a client address may make a minute before it gets `429`.
        public var authFailureLimit: Int
        /// Whether webhook URLs may point at private addresses (development only).
        public var allowPrivateWebhooks: Bool
        /// The token `/metrics` asks for, if any.
        public var metricsToken: String?
        /// The key acknowledgement links are signed with (`masterKey.derivedKey("vigil/ack-links")`).
        public var ackLinkKey: [UInt8]
        /// The service's `public_url` as it stands: the base of the console pages CAP documents link to.
        public var publicURL: @Sendable () -> String

        /// The settings, as the configuration gives them.
        public init(
            rateLimitPerSecond: Double, rateLimitBurst: Double, allowPrivateWebhooks: Bool, metricsToken: String?, ackLinkKey: [UInt8],
            publicURL: @escaping @Sendable () -> String = { "http://vigil.invalid" }, authFailureLimit: Int = Authenticator.failureLimit
        ) {
            self.authFailureLimit = authFailureLimit
            self.rateLimitPerSecond = rateLimitPerSecond
            self.rateLimitBurst = rateLimitBurst
            self.allowPrivateWebhooks = allowPrivateWebhooks
            self.metricsToken = metricsToken
            self.ackLinkKey = ackLinkKey
            self.publicURL = publicURL
        }
    }

    /// Checks bearer tokens, scopes and rate limits; its `admission` runs on each request's head.
    public let authenticator: Authenticator
    /// The filing path, shared with the console.
    public let filing: AlertFiling
    /// The acknowledgement path, shared with the console.
    public let acknowledger: Acknowledger
    private let backend: any VigilBackend
    private let workers: any DeliveryWorkers
    private let replays: ReplayRunner
    private let settings: Settings
    private let metrics: Metrics
    private let logger: Logger
    private let isStopping: @Sendable () -> Bool

    /// The API over `backend`; `workers` are poked when a dead letter is sent again.
    public init(
        backend: any VigilBackend, workers: any DeliveryWorkers, replays: ReplayRunner, settings: Settings, metrics: Metrics, logger: Logger,
        isStopping: @escaping @Sendable () -> Bool
    ) {
        self.backend = backend
        self.workers = workers
        self.replays = replays
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        self.isStopping = isStopping
        authenticator = Authenticator(
            tokens: backend.shared.tokens, limiter: RateLimiter(rate: settings.rateLimitPerSecond, burst: settings.rateLimitBurst),
            failureLimit: settings.authFailureLimit)
        let shared = backend.shared
        filing = AlertFiling(intake: backend.intake, audit: shared.audit, metrics: metrics, logger: logger)
        acknowledger = Acknowledger(
            log: backend.log, ledger: shared.acknowledgements, subscribers: shared.subscribers, deliveries: backend.deliveries, workers: workers,
            audit: shared.audit, metrics: metrics, logger: logger)
    }

    /// The contract of every route `register` adds: the whole API's when `servingAPI`,
    /// otherwise the health, readiness and metrics routes'.
    public static func operations(servingAPI: Bool) -> [APIOperation] {
        guard servingAPI else { return HealthAPI.operations }
        return AlertsAPI.operations + DeliveriesAPI.operations + SubscribersAPI.operations + ErasuresAPI.operations + AuditAPI.operations
            + AcksAPI.operations + AckLinkAPI.operations + CasesAPI.operations + ReplaysAPI.operations + FeedsAPI.operations
            + ContractAPI.operations + HealthAPI.operations
    }

    /// Adds the routes to `router`: the whole API when `servingAPI`, otherwise only the
    /// health, readiness and metrics routes (a process that only routes or sends).
    public func register(on router: inout HTTPRouter, servingAPI: Bool) {
        let shared = backend.shared
        if servingAPI {
            AlertsAPI(
                log: backend.log, deliveries: backend.deliveries, authenticator: authenticator, audit: shared.audit, filing: filing,
                metrics: metrics, logger: logger, publicURL: settings.publicURL
            ).register(on: &router)
            DeliveriesAPI(queue: backend.deliveries, authenticator: authenticator, workers: workers, audit: shared.audit, logger: logger)
                .register(on: &router)
            SubscribersAPI(
                registry: shared.subscribers, feedTokens: shared.feedTokens, authenticator: authenticator, audit: shared.audit,
                policy: AddressPolicy(allowPrivate: settings.allowPrivateWebhooks), logger: logger
            ).register(on: &router)
            ErasuresAPI(log: backend.log, authenticator: authenticator, audit: shared.audit, logger: logger).register(on: &router)
            AuditAPI(trail: shared.audit, authenticator: authenticator).register(on: &router)
            AcksAPI(
                log: backend.log, acknowledger: acknowledger, subscribers: shared.subscribers, deliveries: backend.deliveries,
                authenticator: authenticator, audit: shared.audit
            ).register(on: &router)
            AckLinkAPI(
                log: backend.log, acknowledger: acknowledger, subscribers: shared.subscribers, authenticator: authenticator, key: settings.ackLinkKey
            ).register(on: &router)
            CasesAPI(
                log: backend.log, deliveries: backend.deliveries, ledger: shared.acknowledgements, subscribers: shared.subscribers,
                authenticator: authenticator, audit: shared.audit
            ).register(on: &router)
            ReplaysAPI(runner: replays, store: shared.replays, authenticator: authenticator, audit: shared.audit).register(on: &router)
            FeedsAPI(
                log: backend.log, deliveries: backend.deliveries, subscribers: shared.subscribers, feedTokens: shared.feedTokens,
                authenticator: authenticator, audit: shared.audit, publicURL: settings.publicURL, logger: logger
            ).register(on: &router)
            ContractAPI(operations: Self.operations(servingAPI: true), publicURL: settings.publicURL).register(on: &router)
        }
        HealthAPI(log: backend.log, metrics: metrics, metricsToken: settings.metricsToken, isStopping: isStopping).register(on: &router)
    }
}
