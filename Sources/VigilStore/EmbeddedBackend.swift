import VigilCore
import VigilObservability

/// The default backend: everything in one SQLite file (DESIGN §2). Its router records
/// each batch's deliveries with its position in one transaction, and claims fresh ones for
/// the workers in that same write.
public final class EmbeddedBackend: VigilBackend, Sendable {
    public let log: any AlertLog
    public let intake: AlertIntake
    public let deliveries: any DeliveryQueue
    public let router: any AlertRouting
    public let shared: SharedState
    private let database: Database
    private let queue: EmbeddedDeliveryQueue
    private let embeddedRouter: AlertRouter

    /// The backend on `database`, whose identities and secrets `masterKey` seals; case
    /// reminders come `eventReminderSeconds` before a case's next event.
    public init(
        database: Database, masterKey: MasterKey, metrics: Metrics, logger: Logger,
        eventReminderSeconds: Int64 = BatchRouting.defaultEventReminderSeconds
    ) throws {
        self.database = database
        let log = try EmbeddedAlertLog(database: database, masterKey: masterKey)
        self.log = log
        intake = AlertIntake(log: log, masterKey: masterKey, metrics: metrics)
        queue = EmbeddedDeliveryQueue(database: database)
        deliveries = queue
        let accounts = AccountStore(database: database, seal: SecretSeal(masterKey: masterKey, purpose: SecretSeal.totpSecrets))
        shared = SharedState(
            tokens: TokenStore(database: database), subscribers: SubscriberRegistry(database: database, seal: SecretSeal(masterKey: masterKey)),
            audit: AuditTrail(database: database), replays: ReplayStore(database: database),
            acknowledgements: AcknowledgementStore(database: database, log: log), accounts: accounts,
            sessions: SessionStore(database: database, accounts: accounts), feedTokens: FeedTokenStore(database: database))
        embeddedRouter = AlertRouter(
            log: log, ledger: queue, subscribers: shared.subscribers, metrics: metrics, logger: logger.labelled("router"),
            eventReminderSeconds: eventReminderSeconds)
        router = embeddedRouter
    }

    public func attach(_ workers: any DeliveryWorkers) {
        router.onRouted { _ in workers.poke() }
        // The router claims fresh deliveries for the workers in its own transaction, so a
        // send starts before that commit's fsync.
        embeddedRouter.handOff(to: workers)
    }

    public func startWorking(_ workers: any DeliveryWorkers, logger: Logger) throws {
        let released = try queue.releaseAbandonedClaims(at: .now())
        if released > 0 { logger.info("deliveries left in flight by the last run are due again", ["count": String(released)]) }
    }

    public func shutdown() {
        shared.audit.waitForPublished()
        database.close()
    }
}
