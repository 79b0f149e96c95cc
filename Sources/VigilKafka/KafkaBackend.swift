import Foundation
import Synchronization
import VigilCore
import VigilObservability
import VigilStore

/// The scale-out backend (DESIGN §2): the alert log on `vigil.alerts`, deliveries on their
/// topics, routers in the consumer group `vigil-router`, and subscribers, tokens, audit and
/// replays, acknowledgements and feed tokens in compacted topics that every process reads into its local tables (caches; the
/// topics are the truth). One `KafkaConnection` per process carries all of it.
public final class KafkaBackend: VigilBackend, Sendable {
    public let log: any AlertLog
    public let intake: AlertIntake
    public let deliveries: any DeliveryQueue
    public let router: any AlertRouting
    public let shared: SharedState
    private let connection: KafkaConnection
    private let kafkaLog: KafkaAlertLog
    private let queue: KafkaDeliveryQueue
    private let replica: KafkaStateReplica
    private let database: Database
    /// Pokes the workers as this process reads new alerts (see `startWorking`).
    private let appendsForWorkers = Mutex<AppendObservation?>(nil)

    /// The backend on the cluster at `bootstrapServers`, with its caches in `database`;
    /// returns once the shared state has been read to its end. `processID` names this
    /// process's replays (it alone resumes them); Kafka writes not acknowledged within
    /// `timeout` seconds fail; case reminders come `eventReminderSeconds` before a case's
    /// next event.
    public init(
        bootstrapServers: String, timeout: Double, security: KafkaSecurity = .plaintext, database: Database, masterKey: MasterKey, processID: String,
        metrics: Metrics, logger: Logger, eventReminderSeconds: Int64 = BatchRouting.defaultEventReminderSeconds
    ) throws {
        self.database = database
        let connection = try KafkaConnection(
            bootstrapServers: bootstrapServers, signer: KafkaRecordSigner(masterKey: masterKey), writeTimeout: timeout, security: security,
            logger: logger.labelled("kafka"))
        self.connection = connection
        do {
            kafkaLog = try KafkaAlertLog(
                connection: connection, cipher: masterKey.identityCipher, macKey: masterKey.derivedKey("vigil/kafka-records"))
            log = kafkaLog
            intake = AlertIntake(log: kafkaLog, masterKey: masterKey, metrics: metrics)
            let feed = { (topic: String) in KafkaReplicationFeed(connection: connection, topic: topic, timeout: timeout) }
            // Accounts are shared through `vigil.accounts`; sessions stay in this process's cache file.
            let accounts = AccountStore(
                database: database, seal: SecretSeal(masterKey: masterKey, purpose: SecretSeal.totpSecrets), feed: feed(KafkaStateReplica.accountsTopic))
            shared = SharedState(
                tokens: TokenStore(database: database, feed: feed(KafkaStateReplica.tokensTopic)),
                subscribers: SubscriberRegistry(database: database, seal: SecretSeal(masterKey: masterKey), feed: feed(KafkaStateReplica.subscribersTopic)),
                audit: AuditTrail(database: database, feed: feed(KafkaStateReplica.auditTopic)),
                replays: ReplayStore(database: database, feed: feed(KafkaStateReplica.replaysTopic), owner: processID),
                acknowledgements: AcknowledgementStore(database: database, log: kafkaLog, feed: feed(KafkaStateReplica.acksTopic)),
                accounts: accounts, sessions: SessionStore(database: database, accounts: accounts),
                feedTokens: FeedTokenStore(database: database, feed: feed(KafkaStateReplica.feedsTopic)))
            replica = try KafkaStateReplica(
                connection: connection, subscribers: shared.subscribers, tokens: shared.tokens, audit: shared.audit, replays: shared.replays,
                acknowledgements: shared.acknowledgements, accounts: shared.accounts, feedTokens: shared.feedTokens, logger: logger.labelled("replica"))
            queue = try KafkaDeliveryQueue(connection: connection)
        } catch {
            connection.shutdown()
            throw error
        }
        deliveries = queue
        router = KafkaAlertRouter(
            connection: connection, log: kafkaLog, recorder: queue, subscribers: shared.subscribers, intake: intake, metrics: metrics,
            logger: logger.labelled("router"), eventReminderSeconds: eventReminderSeconds)
    }

    public func attach(_ workers: any DeliveryWorkers) {
        router.onRouted { _ in workers.poke() }
    }

    public func startWorking(_ workers: any DeliveryWorkers, logger: Logger) throws {
        let log = kafkaLog
        try queue.startWorking(isReadable: { log.contains($0) }, onAvailable: { workers.poke() })
        // A delivery can arrive before its alert: it waits in memory until this process
        // has read the alert, so look again as the log grows, not only when work arrives.
        let observation = log.observeAppends { _ in workers.poke() }
        appendsForWorkers.withLock { $0 = observation }
    }

    public func shutdown() {
        appendsForWorkers.withLock { $0 }?.cancel()
        queue.close()
        shared.audit.waitForPublished()
        replica.stop()
        kafkaLog.close()
        connection.shutdown()
        database.close()
    }

    /// What `vigil tokens` needs on a Kafka deployment: the tokens, read from `vigil.tokens`
    /// into a private cache at `cachePath` and written through to the topic, and the audit
    /// trail (in `local`, published to `vigil.audit`). `close` flushes the audit and stops.
    public static func tokenAdministration(
        bootstrapServers: String, timeout: Double, security: KafkaSecurity = .plaintext, local: Database, cache: Database, masterKey: MasterKey
    ) throws -> (tokens: TokenStore, audit: AuditTrail, close: @Sendable () -> Void) {
        try requireDeploymentKey(masterKey, bootstrapServers: bootstrapServers, security: security, timeout: timeout)
        let connection = try KafkaConnection(
            bootstrapServers: bootstrapServers, signer: KafkaRecordSigner(masterKey: masterKey), writeTimeout: timeout, security: security)
        let audit = AuditTrail(database: local, feed: KafkaReplicationFeed(connection: connection, topic: KafkaStateReplica.auditTopic, timeout: timeout))
        let tokens = TokenStore(database: cache, feed: KafkaReplicationFeed(connection: connection, topic: KafkaStateReplica.tokensTopic, timeout: timeout))
        let replica: KafkaStateReplica
        do {
            replica = try KafkaStateReplica(connection: connection, subscribers: nil, tokens: tokens, logger: Logger(label: "tokens", enabled: false))
        } catch {
            connection.shutdown()
            throw error
        }
        return (tokens, audit, {
            audit.waitForPublished()
            replica.stop()
            connection.shutdown()
        })
    }

    /// What `vigil users` needs on a Kafka deployment: the accounts, read from `vigil.accounts`
    /// into a private cache at `cache` and written through to the topic, the subscribers (read
    /// only, to check a desk's), and the audit trail (in `local`, published to `vigil.audit`).
    /// `close` flushes the audit and stops.
    public static func userAdministration(
        bootstrapServers: String, timeout: Double, security: KafkaSecurity = .plaintext, local: Database, cache: Database, masterKey: MasterKey
    ) throws -> (accounts: AccountStore, subscribers: SubscriberRegistry, audit: AuditTrail, close: @Sendable () -> Void) {
        try requireDeploymentKey(masterKey, bootstrapServers: bootstrapServers, security: security, timeout: timeout)
        let connection = try KafkaConnection(
            bootstrapServers: bootstrapServers, signer: KafkaRecordSigner(masterKey: masterKey), writeTimeout: timeout, security: security)
        let audit = AuditTrail(database: local, feed: KafkaReplicationFeed(connection: connection, topic: KafkaStateReplica.auditTopic, timeout: timeout))
        let accounts = AccountStore(
            database: cache, seal: SecretSeal(masterKey: masterKey, purpose: SecretSeal.totpSecrets),
            feed: KafkaReplicationFeed(connection: connection, topic: KafkaStateReplica.accountsTopic, timeout: timeout))
        // Read only here: without a feed nothing this command does can change a subscriber or token.
        let subscribers = SubscriberRegistry(database: cache, seal: SecretSeal(masterKey: masterKey))
        let replica: KafkaStateReplica
        do {
            replica = try KafkaStateReplica(
                connection: connection, subscribers: subscribers, tokens: TokenStore(database: cache), accounts: accounts,
                logger: Logger(label: "users", enabled: false))
        } catch {
            connection.shutdown()
            throw error
        }
        return (accounts, subscribers, audit, {
            audit.waitForPublished()
            replica.stop()
            connection.shutdown()
        })
    }

    /// Refuses an administration command whose master key is not the deployment's: every record
    /// it wrote would be refused by the running processes, and it could read none of theirs.
    private static func requireDeploymentKey(_ masterKey: MasterKey, bootstrapServers: String, security: KafkaSecurity, timeout: Double) throws {
        let matches = try KafkaAlertLog.masterKeyMatches(
            masterKey.identityCipher, signer: KafkaRecordSigner(masterKey: masterKey), bootstrapServers: bootstrapServers, security: security,
            timeout: max(timeout, 10), logger: Logger(label: "kafka", enabled: false))
        if matches == false {
            throw KafkaError(
                "master key: this command's master key is not the one \(KafkaAlertLog.keysTopic) was started with; give it the deployment's VIGIL_MASTER_KEY (or master_key_file)")
        }
    }
}
