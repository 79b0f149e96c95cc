import Dispatch
import Foundation
import Synchronization
import VigilConcurrency
import VigilCore
import VigilDelivery
import VigilHTTP
import VigilAPI
import VigilConsole
import VigilKafka
import VigilObservability
import VigilStore
#if canImport(Glibc)
import Glibc
#endif

/// Why a service could not start.
public enum ServiceError: Error, Sendable, CustomStringConvertible {
    /// The data directory cannot be created or written.
    case dataDirectory(String, String)
    /// The store failed to open.
    case store(String)
    /// The configured backend is not available in this build.
    case backendUnavailable(String)
    /// The master key is missing, malformed or not the one the store was sealed with.
    case masterKey(String)

    public var description: String {
        switch self {
        case .dataDirectory(let path, let why): "data_dir \(path) cannot be used: \(why)"
        case .store(let why): "the embedded store cannot be opened: \(why)"
        case .backendUnavailable(let why): why
        case .masterKey(let why): why
        }
    }
}

/// A running Vigil assembled from a configuration: the backend it chose, the workers, the
/// replays, the HTTP API, metrics and a graceful stop (DESIGN §4, `VigilServer`).
public final class VigilService: Sendable {
    /// The settings it runs with.
    public let configuration: VigilConfiguration
    /// The log, the deliveries, the router and the shared state, embedded or on Kafka.
    public let backend: any VigilBackend
    /// The delivery workers.
    public let workers: DeliveryWorkerPool
    /// Replays and their progress.
    public let replays: ReplayRunner
    /// The metrics registry behind `/metrics`.
    public let metrics = Metrics()
    /// The one bounded pool where blocking work runs: HTTP handlers that wait for a commit,
    /// the workers' claims and SMTP sends (DESIGN §4). Started by `start`, shut down by `stop`.
    private let blocking: BlockingPool
    private let logger: Logger
    private let state = Mutex(State())
    /// The key acknowledgement links are signed with, derived from the master key.
    let ackLinkKey: [UInt8]
    /// The console's key: its CSRF tokens and TOTP enrolments are bound to it.
    let consoleKey: [UInt8]
    /// The base of acknowledgement links, settled on the bound port when `public_url` is unset.
    let publicURL: PublicURL

    /// What `start` leaves for `stop`.
    private struct State {
        var server: HTTPServer?
        var stopping = false
    }

    /// The alert log.
    public var log: any AlertLog { backend.log }
    /// Subscribers and their webhook secrets.
    public var subscribers: SubscriberRegistry { backend.shared.subscribers }
    /// Deliveries, as the router records them.
    public var deliveries: any DeliveryQueue { backend.deliveries }

    /// Opens the store in `configuration.dataDir` and registers the bootstrap token, logging
    /// JSON lines on standard error; `logging: false` silences them (benchmarks).
    public convenience init(configuration: VigilConfiguration, logging: Bool = true) throws {
        try self.init(configuration: configuration, logger: Logger(label: "service", enabled: logging))
    }

    /// Opens the store in `configuration.dataDir` and registers the bootstrap token; every
    /// part logs through `logger`, relabelled (`api`, `router`, `workers`, `kafka`, …).
    public init(configuration: VigilConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        blocking = BlockingPool(
            threadCount: HTTPServerConfiguration.defaultHandlerThreads + configuration.workerConfiguration.maxConcurrent + 2, label: "vigil.blocking")
        do {
            // Only Vigil reads the store: a directory it creates is closed to other users (`vigil check` insists).
            try FileManager.default.createDirectory(atPath: configuration.dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ServiceError.dataDirectory(configuration.dataDir, error.localizedDescription)
        }
        let database: Database
        var linkKey: [UInt8] = [], consoleKey: [UInt8] = []
        do {
            database = try Database(path: configuration.storePath, cacheKiB: Int(configuration.storeCacheMiB * 1024))
        } catch {
            throw ServiceError.store(String(describing: error))
        }
        do {
            let masterKey = try VigilService.masterKey(configuration, logger: logger)
            linkKey = masterKey.derivedKey("vigil/ack-links")
            consoleKey = masterKey.derivedKey("vigil/console")
            backend = try BackendAssembly.backend(configuration, database: database, masterKey: masterKey, metrics: metrics, logger: logger)
        } catch let error as MasterKeyError {
            database.close()
            throw ServiceError.masterKey(error.description)
        } catch {
            database.close()
            throw error
        }
        ackLinkKey = linkKey
        self.consoleKey = consoleKey
        publicURL = PublicURL(configuration)
        let shared = backend.shared
        if let secret = configuration.bootstrapToken {
            switch try shared.tokens.registerBootstrap(
                secret: secret, organisation: configuration.bootstrapOrganisation, scopes: Set(Scope.allCases),
                clearance: .confidential)
            {
            case .created(let record):
                shared.audit.record([AuditEntry(
                    tokenID: "bootstrap", organisation: configuration.bootstrapOrganisation, action: .tokenCreated, target: record.id,
                    detail: "bootstrap token from bootstrap_token, scopes \(Scope.allCases.map(\.rawValue).sorted().joined(separator: ",")), clearance confidential")])
            case .refreshed: break
            case .revoked(let id):
                logger.warning("bootstrap_token names a revoked token; it stays revoked", [
                    "token": id, "advice": "remove bootstrap_token (VIGIL_BOOTSTRAP_TOKEN) or set a new secret; a revoked token is never revived",
                ])
            }
        }
        var workerConfiguration = configuration.workerConfiguration
        workerConfiguration.ackURL = { [publicURL, linkKey] alertID, subscriberID in
            publicURL.value + "/ack/" + AckLink(alertID: alertID, subscriberID: subscriberID, now: .now()).token(key: linkKey)
        }
        workers = DeliveryWorkerPool(
            queue: backend.deliveries, log: backend.log, directory: shared.subscribers, acknowledgements: shared.acknowledgements,
            configuration: workerConfiguration,
            transport: CurlTransport.shared,
            breaker: CircuitBreaker(
                threshold: Int(configuration.breakerThreshold), cooldown: configuration.breakerCooldownSeconds,
                trialWindow: configuration.webhookTimeoutSeconds + 1),
            events: VigilService.deliveryEvents(metrics: metrics, audit: shared.audit), logger: logger.labelled("workers"), blocking: blocking)
        backend.attach(workers)
        replays = ReplayRunner(
            log: backend.log, queue: backend.deliveries, subscribers: shared.subscribers, store: shared.replays,
            ratePerSecond: configuration.replayRatePerSecond, metrics: metrics, logger: logger.labelled("replays"),
            onQueued: { [workers] in workers.poke() })
        if let file = configuration.subscribersFile { try seedSubscribers(from: file) }
        describeMetrics()
    }

    /// The master key from `master_key`, or from the key file (made on first start, with a
    /// warning that it must be kept apart from backups of the data).
    static func masterKey(_ configuration: VigilConfiguration, logger: Logger) throws -> MasterKey {
        if let text = configuration.masterKey { return try MasterKey(text: text) }
        let file = configuration.effectiveMasterKeyFile
        let (key, created) = try MasterKey.loadOrCreate(file: file)
        if created {
            logger.warning(
                "created a new master key", [
                    "file": file,
                    "advice": "keep a copy apart from backups of the data directory; without it every identity reads as erased",
                ])
        }
        return key
    }

    /// Stores the subscribers in `file` (a JSON array of subscribers as the API takes them)
    /// when the registry is empty, so a first run has its desks without API calls.
    private func seedSubscribers(from file: String) throws {
        guard try backend.shared.subscribers.isEmpty() else { return }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigurationError.invalid(key: "subscribers_file", message: "cannot read \(file)")
        }
        guard case .array(let items) = try JSONParser.parse(Array(data)) else {
            throw ConfigurationError.invalid(key: "subscribers_file", message: "\(file) must hold a JSON array of subscribers")
        }
        for (index, item) in items.enumerated() {
            do {
                _ = try SubscribersAPI.store(
                    item, replacing: nil, in: backend.shared.subscribers, policy: AddressPolicy(allowPrivate: configuration.allowPrivateWebhooks))
            } catch let failure as ValidationFailure {
                throw ConfigurationError.invalid(key: "subscribers_file", message: "entry \(index) of \(file): \(failure.description)")
            }
        }
        logger.info("seeded subscribers", ["count": String(items.count), "file": file])
    }

    /// Starts the HTTP API; returns the bound port.
    @discardableResult
    public func start() throws -> Int {
        guard let address = configuration.listenAddress else { throw ConfigurationError.invalid(key: "listen", message: "is malformed") }
        let role = configuration.role
        var router = HTTPRouter()
        let api = APIRoutes(
            backend: backend, workers: workers, replays: replays,
            settings: APIRoutes.Settings(
                rateLimitPerSecond: configuration.rateLimitPerSecond, rateLimitBurst: configuration.rateLimitBurst,
                allowPrivateWebhooks: configuration.allowPrivateWebhooks, metricsToken: configuration.metricsToken,
                ackLinkKey: ackLinkKey, publicURL: { [publicURL = self.publicURL] in publicURL.value },
                authFailureLimit: Int(min(configuration.authFailureLimit.rounded(.up), 1_000_000_000))),
            metrics: metrics, logger: logger.labelled("api"), isStopping: { [weak self] in self?.isStopping ?? true })
        api.register(on: &router, servingAPI: role.servesAPI)
        if role.servesAPI {
            let publicURL = self.publicURL
            ConsoleRoutes(
                backend: backend, api: api, replays: replays, workers: workers,
                settings: ConsoleRoutes.Settings(
                    secureCookies: configuration.consoleSecureCookies || (configuration.publicURL?.lowercased().hasPrefix("https://") ?? false),
                    key: consoleKey, publicURL: { publicURL.value }),
                addressPolicy: AddressPolicy(allowPrivate: configuration.allowPrivateWebhooks), metrics: metrics, logger: logger.labelled("console")
            ).register(on: &router)
        }
        let authenticator = api.authenticator
        var http = HTTPServerConfiguration(host: address.host, port: address.port)
        http.maxBodyBytes = configuration.maxBodyBytes
        http.maxConnections = configuration.maxConnections
        http.requestTimeout = configuration.requestTimeoutSeconds
        http.idleTimeout = configuration.idleTimeoutSeconds
        blocking.start()
        if role.routes { try backend.router.start() }
        if role.sends {
            try backend.startWorking(workers, logger: logger)
            workers.start()
        }
        if role.servesAPI { try replays.resume() }
        // Authenticate on the head, before a body is read or `100 Continue` is sent.
        let server = try HTTPServer(
            configuration: http, admission: { authenticator.admission($0) }, handlers: blocking, runsInline: router.runsInline, handler: router.handler)
        server.start()
        publicURL.bound(host: address.host, port: server.port)
        state.withLock { $0.server = server }
        let offset = (try? log.lastOffset()) ?? 0
        logger.info("listening", [
            "address": address.host, "port": String(server.port), "log": configuration.log.description, "role": role.rawValue,
            "data_dir": configuration.dataDir, "last_offset": String(offset),
        ])
        return server.port
    }

    /// Whether a stop has begun.
    public var isStopping: Bool { state.withLock { $0.stopping } }

    /// Stops accepting requests, finishes those in flight, and closes the store.
    public func stop() {
        let server: HTTPServer? = state.withLock { state in
            guard !state.stopping else { return nil }
            state.stopping = true
            return state.server
        }
        logger.info("stopping: finishing in-flight requests")
        server?.stop(timeout: 10)
        let role = configuration.role
        if role.routes { backend.router.stop() }
        if role.sends { workers.stop() }
        backend.shutdown()
        blocking.shutdown()
        logger.info("stopped")
    }

    /// Starts, then blocks until SIGTERM or SIGINT, then stops gracefully.
    public func runUntilSignalled() throws {
        try start()
        waitForTerminationSignal()
        stop()
    }

    /// Turns the workers' events into metrics (the workers write their own log lines).
    static func deliveryEvents(metrics: Metrics, audit: AuditTrail) -> DeliveryEvents {
        var events = DeliveryEvents()
        events.attempted = { delivery, outcome, seconds in
            metrics.increment("vigil_deliveries_total", labels: "channel=\"\(delivery.channelType.rawValue)\",outcome=\"\(outcome)\"")
            if outcome == "delivered" { metrics.observe("vigil_delivery_seconds", seconds) }
        }
        events.breakerOpened = { _, _ in metrics.increment("vigil_breaker_openings_total") }
        events.escalated = { delivery, from in
            metrics.increment("vigil_escalations_total", labels: "severity=\"\(delivery.severity.rawValue)\"")
            audit.record([AuditEntry(
                tokenID: "workers", organisation: "vigil", action: .alertEscalated, target: delivery.alertID,
                detail: "not acknowledged in time by \(from); sent to \(delivery.subscriberID) (\(delivery.channelType.rawValue) \(delivery.channelID))")])
        }
        return events
    }

    /// Oldest, in seconds, a reading of `vigil_unacknowledged_alerts` may be (it reads a day of the log).
    static let unacknowledgedMaxAgeSeconds = 15.0

    /// `vigil_unacknowledged_alerts` by `severity="…"` label: alerts received in the last 24
    /// hours, neither tests nor cancels, that no subscriber has acknowledged (the routing views
    /// are read, not the sealed identities). Empty when the log or the ledger cannot be read.
    static func unacknowledgedAlerts(backend: any VigilBackend, now: Timestamp = .now()) -> [String: Double] {
        do {
            let everyone = Set(try backend.shared.subscribers.list().map(\.id))
            var query = AlertQuery(limit: 100_000)
            query.since = now.adding(milliseconds: -86_400_000)
            var counts = Dictionary(uniqueKeysWithValues: Severity.allCases.map { ("severity=\"\($0.rawValue)\"", 0.0) })
            for stored in try backend.log.routingViews(matching: query) where stored.alert.status != .test && stored.alert.kind != .cancel {
                if try !backend.shared.acknowledgements.isAcknowledged(stored.alert.id, byAnyOf: everyone) {
                    counts["severity=\"\(stored.alert.severity.rawValue)\"", default: 0] += 1
                }
            }
            return counts
        } catch {
            return [:]
        }
    }

    private func describeMetrics() {
        metrics.describe("vigil_alerts_received_total", type: "counter", help: "Alerts appended durably, by severity.")
        metrics.describe("vigil_alerts_rejected_total", type: "counter", help: "Alerts refused, by reason.")
        metrics.describe("vigil_ingest_seconds", type: "histogram", help: "Time from request to durable append.")
        metrics.describe("vigil_log_last_offset", type: "gauge", help: "Offset of the newest alert in the log.")
        metrics.describe("vigil_console_sign_ins_total", type: "counter", help: "Console sign-ins, by outcome (signed_in, refused).")
        metrics.describe("vigil_alerts_routed_total", type: "counter", help: "Alerts the router has turned into deliveries.")
        metrics.describe("vigil_deliveries_created_total", type: "counter", help: "Deliveries the router has recorded.")
        metrics.describe("vigil_routing_seconds", type: "histogram", help: "Time from an alert's reception to its deliveries being recorded.")
        metrics.describe("vigil_router_lag", type: "gauge", help: "Alerts appended but not yet routed.")
        metrics.describe("vigil_deliveries_total", type: "counter", help: "Delivery attempts by channel and outcome (delivered, retry, dead).")
        metrics.describe("vigil_delivery_seconds", type: "histogram", help: "Time from an alert's reception to a delivery's success.")
        metrics.describe("vigil_delivery_queue_depth", type: "gauge", help: "Deliveries pending, failed-awaiting-retry or in flight.")
        metrics.describe("vigil_dead_letters", type: "gauge", help: "Deliveries in the dead letters.")
        metrics.describe("vigil_breakers_open", type: "gauge", help: "Endpoints whose circuit breaker is open or half-open.")
        metrics.describe("vigil_replays_running", type: "gauge", help: "Replays still re-routing alerts.")
        metrics.describe("vigil_replay_alerts_total", type: "counter", help: "Alerts looked at by replays.")
        metrics.describe("vigil_replay_deliveries_total", type: "counter", help: "Deliveries queued again by replays.")
        let deliveries = backend.deliveries, workers = self.workers
        // Counting deliveries by state scans the table (or the topics): a scrape reads the
        // counts made at most a few seconds ago, refreshed off the scraping thread.
        let counts = CachedReading<[DeliveryState: Int]?>(initial: nil, maxAge: Metrics.countsMaxAgeSeconds) { try? deliveries.countsByState() }
        metrics.gauge("vigil_delivery_queue_depth") {
            guard let counts = counts.value else { return .nan }
            return Double((counts[.pending] ?? 0) + (counts[.failed] ?? 0) + (counts[.inFlight] ?? 0))
        }
        metrics.gauge("vigil_dead_letters") { counts.value.map { Double($0[.dead] ?? 0) } ?? .nan }
        metrics.describe("process_resident_memory_bytes", type: "gauge", help: "Resident memory of the vigil process.")
        metrics.gauge("process_resident_memory_bytes") { ProcessMemory.residentBytes() }
        metrics.describe("process_cpu_seconds_total", type: "counter", help: "User and system CPU time of the vigil process, in seconds.")
        metrics.gauge("process_cpu_seconds_total") { ProcessCPU.seconds() }
        metrics.gauge("vigil_breakers_open") { Double(workers.breaker.openCount) }
        metrics.describe("vigil_api_long_polls_waiting", type: "gauge", help: "GET /v1/alerts requests waiting for a new alert.")
        metrics.adjust("vigil_api_long_polls_waiting", by: 0)
        metrics.describe("vigil_api_long_polls_refused_total", type: "counter", help: "Long polls refused because the token already held as many as it may.")
        metrics.describe(
            "vigil_time_to_ack_seconds", type: "histogram",
            help: "Time from an alert's reception to a subscriber's first acknowledgement, by subscriber kind and severity.")
        metrics.describe(
            "vigil_unacknowledged_alerts", type: "gauge",
            help: "Alerts received in the last 24 hours (not tests, not cancels) that no subscriber has acknowledged, by severity.")
        metrics.describe("vigil_escalations_total", type: "counter", help: "Escalations sent to a subscriber's backups, by severity.")
        let unacknowledged = CachedReading<[String: Double]>(initial: [:], maxAge: VigilService.unacknowledgedMaxAgeSeconds) { [backend] in
            VigilService.unacknowledgedAlerts(backend: backend)
        }
        metrics.labelledGauge("vigil_unacknowledged_alerts") { unacknowledged.value }
        let log = backend.log
        metrics.gauge("vigil_log_last_offset") { Double((try? log.lastOffset()) ?? 0) }
        let router = backend.router
        metrics.gauge("vigil_router_lag") { router.lag.map(Double.init) ?? .nan }
        metrics.describe(
            "vigil_kafka_records_refused_total", type: "counter",
            help: "Records read from Vigil's topics and refused as unsigned, forged, unreadable or out of range, by topic (each also logged).")
        metrics.labelledGauge("vigil_kafka_records_refused_total") {
            Dictionary(uniqueKeysWithValues: KafkaRecordRejections.byTopic.map { ("topic=\"\($0.key)\"", Double($0.value)) })
        }
    }
}

/// Blocks until the process receives SIGTERM or SIGINT (delivered through dispatch signal
/// sources, so the handlers run no code in signal context).
public func waitForTerminationSignal() {
    var sources: [DispatchSourceSignal] = []
    BlockingPool.wait { (stop: @escaping @Sendable () -> Void) in
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: stop)
            source.resume()
            sources.append(source)
        }
    }
    sources.forEach { $0.cancel() }
}
