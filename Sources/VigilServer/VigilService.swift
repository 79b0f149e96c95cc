import Dispatch
import Foundation
import Synchronization
import VigilCore
import VigilDelivery
import VigilHTTP
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

/// A running Vigil assembled from a configuration: the store, the alert log, the HTTP API,
/// metrics and a graceful stop (DESIGN §4, `VigilServer`).
public final class VigilService: Sendable {
    /// The settings it runs with.
    public let configuration: VigilConfiguration
    /// The embedded store.
    public let database: Database
    /// The alert log.
    public let log: any AlertLog
    /// Bearer tokens.
    public let tokens: TokenStore
    /// Who did what: filings, sensitive reads, erasures, replays, admin changes.
    public let audit: AuditTrail
    /// Subscribers and their webhook secrets.
    public let subscribers: SubscriberRegistry
    /// Deliveries, as the router records them: the `deliveries` table, or Kafka's delivery topics.
    public let deliveries: any DeliveryWorkQueue
    /// The router following the log.
    public let router: any AlertRouting
    /// The delivery workers.
    public let workers: DeliveryWorkerPool
    /// Replays and their progress.
    public let replays: ReplayRunner
    private let replayStore: ReplayStore
    /// On Kafka, the follower of the shared subscribers and tokens.
    private let replica: KafkaStateReplica?
    /// On Kafka, this process's clients of the cluster: one producer, every reader.
    private let kafka: KafkaConnection?
    /// Keys the idempotency fingerprints, so a stored fingerprint cannot confirm a guessed body.
    private let idempotencyKey: [UInt8]
    /// The metrics registry behind `/metrics`.
    public let metrics = Metrics()
    private let logger: Logger
    private let state = Mutex(State())

    /// What `start` leaves for `stop`.
    private struct State {
        var server: HTTPServer?
        var stopping = false
        /// On Kafka, pokes the workers as this process reads new alerts (see `start`).
        var appendsForWorkers: AppendObservation?
    }

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
        do {
            try FileManager.default.createDirectory(atPath: configuration.dataDir, withIntermediateDirectories: true)
        } catch {
            throw ServiceError.dataDirectory(configuration.dataDir, error.localizedDescription)
        }
        let path = configuration.storePath
        do {
            database = try Database(path: path, cacheKiB: Int(configuration.storeCacheMiB * 1024))
        } catch {
            throw ServiceError.store(String(describing: error))
        }
        let masterKey: MasterKey
        do {
            masterKey = try VigilService.masterKey(configuration, logger: logger)
            if let servers = configuration.log.kafkaBootstrapServers {
                let connection = try KafkaConnection(
                    bootstrapServers: servers, writeTimeout: configuration.kafkaTimeoutSeconds, logger: logger.labelled("kafka"))
                kafka = connection
                log = try KafkaAlertLog(connection: connection, cipher: masterKey.identityCipher, macKey: masterKey.derivedKey("vigil/kafka-records"))
            } else {
                kafka = nil
                log = try EmbeddedAlertLog(database: database, masterKey: masterKey)
            }
        } catch let error as MasterKeyError {
            throw ServiceError.masterKey(error.description)
        } catch let error as KafkaError {
            throw ServiceError.backendUnavailable("log: \(error.description)")
        }
        idempotencyKey = masterKey.derivedKey("vigil/idempotency-fingerprints")
        let seal = SecretSeal(masterKey: masterKey)
        let routerLogger = logger.labelled("router")
        if let kafka, let kafkaLog = log as? KafkaAlertLog {
            // Kafka: subscribers and tokens are shared through compacted topics, deliveries
            // travel on topics; the local tables are caches filled from the cluster.
            do {
                tokens = TokenStore(
                    database: database, feed: KafkaReplicationFeed(connection: kafka, topic: KafkaStateReplica.tokensTopic, timeout: configuration.kafkaTimeoutSeconds))
                subscribers = SubscriberRegistry(
                    database: database, seal: seal,
                    feed: KafkaReplicationFeed(connection: kafka, topic: KafkaStateReplica.subscribersTopic, timeout: configuration.kafkaTimeoutSeconds))
                audit = AuditTrail(
                    database: database,
                    feed: KafkaReplicationFeed(connection: kafka, topic: KafkaStateReplica.auditTopic, timeout: configuration.kafkaTimeoutSeconds))
                replayStore = ReplayStore(
                    database: database,
                    feed: KafkaReplicationFeed(connection: kafka, topic: KafkaStateReplica.replaysTopic, timeout: configuration.kafkaTimeoutSeconds),
                    owner: try VigilService.processID(dataDir: configuration.dataDir))
                replica = try KafkaStateReplica(
                    connection: kafka, subscribers: subscribers, tokens: tokens, audit: audit, replays: replayStore,
                    logger: logger.labelled("replica"))
                deliveries = try KafkaDeliveryQueue(connection: kafka)
            } catch let error as KafkaError {
                throw ServiceError.backendUnavailable("log: \(error.description)")
            }
            router = KafkaAlertRouter(
                connection: kafka, log: kafkaLog, queue: deliveries, subscribers: subscribers, fingerprintKey: idempotencyKey,
                metrics: metrics, logger: routerLogger)
        } else {
            tokens = TokenStore(database: database)
            subscribers = SubscriberRegistry(database: database, seal: seal)
            audit = AuditTrail(database: database)
            replayStore = ReplayStore(database: database)
            replica = nil
            deliveries = EmbeddedDeliveryQueue(database: database)
            router = AlertRouter(log: log, queue: deliveries, subscribers: subscribers, metrics: metrics, logger: routerLogger)
        }
        if let secret = configuration.bootstrapToken {
            switch try tokens.registerBootstrap(
                secret: secret, organisation: configuration.bootstrapOrganisation, scopes: Set(Scope.allCases),
                clearance: .confidential)
            {
            case .created(let record):
                audit.record([AuditEntry(
                    tokenID: "bootstrap", organisation: configuration.bootstrapOrganisation, action: .tokenCreated, target: record.id,
                    detail: "bootstrap token from bootstrap_token, scopes \(Scope.allCases.map(\.rawValue).sorted().joined(separator: ",")), clearance confidential")])
            case .refreshed: break
            case .revoked(let id):
                logger.warning("bootstrap_token names a revoked token; it stays revoked", [
                    "token": id, "advice": "remove bootstrap_token (VIGIL_BOOTSTRAP_TOKEN) or set a new secret; a revoked token is never revived",
                ])
            }
        }
        workers = DeliveryWorkerPool(
            queue: deliveries, log: log, directory: subscribers, configuration: configuration.workerConfiguration,
            transport: CurlTransport.shared,
            breaker: CircuitBreaker(
                threshold: Int(configuration.breakerThreshold), cooldown: configuration.breakerCooldownSeconds,
                trialWindow: configuration.webhookTimeoutSeconds + 1),
            events: VigilService.deliveryEvents(metrics: metrics), logger: logger.labelled("workers"))
        router.onRouted { [workers] _ in workers.poke() }
        // On the embedded log the router claims fresh deliveries for the workers in its own
        // transaction, so a send starts before that commit's fsync.
        (router as? AlertRouter)?.handOff(to: workers)
        replays = ReplayRunner(
            log: log, queue: deliveries, subscribers: subscribers, store: replayStore, ratePerSecond: configuration.replayRatePerSecond,
            metrics: metrics, logger: logger.labelled("replays"), onQueued: { [workers] in workers.poke() })
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

    /// This process's id on a Kafka deployment, kept in `process.id` in its data directory so it
    /// survives restarts: the replays it runs are recorded as its own, and it alone resumes them.
    static func processID(dataDir: String) throws -> String {
        let file = (dataDir as NSString).appendingPathComponent("process.id")
        if let text = try? String(contentsOfFile: file, encoding: .utf8), !text.isEmpty { return text.trimmingCharacters(in: .whitespacesAndNewlines) }
        let id = "proc_" + ULID().description.lowercased()
        try Data((id + "\n").utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
        return id
    }

    /// Stores the subscribers in `file` (a JSON array of subscribers as the API takes them)
    /// when the registry is empty, so a first run has its desks without API calls.
    private func seedSubscribers(from file: String) throws {
        guard try subscribers.isEmpty() else { return }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigurationError.invalid(key: "subscribers_file", message: "cannot read \(file)")
        }
        guard case .array(let items) = try JSONParser.parse(Array(data)) else {
            throw ConfigurationError.invalid(key: "subscribers_file", message: "\(file) must hold a JSON array of subscribers")
        }
        for (index, item) in items.enumerated() {
            do {
                _ = try SubscribersAPI.store(
                    item, replacing: nil, in: subscribers, policy: AddressPolicy(allowPrivate: configuration.allowPrivateWebhooks))
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
        var router = HTTPRouter()
        let authenticator = Authenticator(
            tokens: tokens, limiter: RateLimiter(rate: configuration.rateLimitPerSecond, burst: configuration.rateLimitBurst))
        let apiLogger = logger.labelled("api")
        let role = configuration.role
        if role.servesAPI {
            AlertsAPI(
                log: log, deliveries: deliveries, authenticator: authenticator, audit: audit,
                intake: AlertIntake(log: log, fingerprintKey: idempotencyKey, metrics: metrics), metrics: metrics, logger: apiLogger).register(on: &router)
            DeliveriesAPI(queue: deliveries, authenticator: authenticator, workers: workers, audit: audit, logger: apiLogger).register(on: &router)
            SubscribersAPI(
                registry: subscribers, authenticator: authenticator, audit: audit,
                policy: AddressPolicy(allowPrivate: configuration.allowPrivateWebhooks), logger: apiLogger).register(on: &router)
            ErasuresAPI(log: log, authenticator: authenticator, audit: audit, logger: apiLogger).register(on: &router)
            AuditAPI(trail: audit, authenticator: authenticator).register(on: &router)
            ReplaysAPI(runner: replays, store: replayStore, authenticator: authenticator, audit: audit).register(on: &router)
        }
        HealthAPI(log: log, metrics: metrics, metricsToken: configuration.metricsToken, isStopping: { [weak self] in self?.isStopping ?? true })
            .register(on: &router)
        var http = HTTPServerConfiguration(host: address.host, port: address.port)
        http.maxBodyBytes = configuration.maxBodyBytes
        http.maxConnections = configuration.maxConnections
        http.requestTimeout = configuration.requestTimeoutSeconds
        http.idleTimeout = configuration.idleTimeoutSeconds
        if role.routes { try self.router.start() }
        if role.sends {
            if let kafka = deliveries as? KafkaDeliveryQueue, let log = log as? KafkaAlertLog {
                let workers = self.workers
                try kafka.startWorking(isReadable: { log.contains($0) }, onAvailable: { workers.poke() })
                // A delivery can arrive before its alert: it waits in memory until this process
                // has read the alert, so look again as the log grows, not only when work arrives.
                let observation = log.observeAppends { _ in workers.poke() }
                state.withLock { $0.appendsForWorkers = observation }
            }
            if let embedded = deliveries as? EmbeddedDeliveryQueue {
                let released = try embedded.releaseAbandonedClaims(at: .now())
                if released > 0 { logger.info("deliveries left in flight by the last run are due again", ["count": String(released)]) }
            }
            workers.start()
        }
        if role.servesAPI { try replays.resume() }
        // Authenticate on the head, before a body is read or `100 Continue` is sent.
        let server = try HTTPServer(configuration: http, admission: { authenticator.admission($0) }, handler: router.handler)
        server.start()
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
        if role.routes { router.stop() }
        state.withLock { $0.appendsForWorkers }?.cancel()
        if role.sends { workers.stop() }
        (deliveries as? KafkaDeliveryQueue)?.close()
        audit.waitForPublished()
        replica?.stop()
        (log as? KafkaAlertLog)?.close()
        kafka?.shutdown()
        database.close()
        logger.info("stopped")
    }

    /// Starts, then blocks until SIGTERM or SIGINT, then stops gracefully.
    public func runUntilSignalled() throws {
        try start()
        waitForTerminationSignal()
        stop()
    }

    /// Turns the workers' events into metrics (the workers write their own log lines).
    static func deliveryEvents(metrics: Metrics) -> DeliveryEvents {
        var events = DeliveryEvents()
        events.attempted = { delivery, outcome, seconds in
            metrics.increment("vigil_deliveries_total", labels: "channel=\"\(delivery.channelType.rawValue)\",outcome=\"\(outcome)\"")
            if outcome == "delivered" { metrics.observe("vigil_delivery_seconds", seconds) }
        }
        events.breakerOpened = { _, _ in metrics.increment("vigil_breaker_openings_total") }
        return events
    }

    private func describeMetrics() {
        metrics.describe("vigil_alerts_received_total", type: "counter", help: "Alerts appended durably, by severity.")
        metrics.describe("vigil_alerts_rejected_total", type: "counter", help: "Alerts refused, by reason.")
        metrics.describe("vigil_ingest_seconds", type: "histogram", help: "Time from request to durable append.")
        metrics.describe("vigil_log_last_offset", type: "gauge", help: "Offset of the newest alert in the log.")
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
        let deliveries = self.deliveries, workers = self.workers
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
        let log = self.log
        metrics.gauge("vigil_log_last_offset") { Double((try? log.lastOffset()) ?? 0) }
        let router = self.router
        metrics.gauge("vigil_router_lag") { router.lag.map(Double.init) ?? .nan }
        metrics.describe(
            "vigil_kafka_records_refused_total", type: "counter",
            help: "Records read from Vigil's topics and refused as unreadable, forged or out of range (each also logged).")
        metrics.gauge("vigil_kafka_records_refused_total") { Double(KafkaRecordRejections.total) }
    }
}

/// Blocks until the process receives SIGTERM or SIGINT (delivered through dispatch signal
/// sources, so the handlers run no code in signal context).
public func waitForTerminationSignal() {
    let stop = DispatchSemaphore(value: 0)
    var sources: [DispatchSourceSignal] = []
    for number in [SIGTERM, SIGINT] {
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler { stop.signal() }
        source.resume()
        sources.append(source)
    }
    stop.wait()
    sources.forEach { $0.cancel() }
}
