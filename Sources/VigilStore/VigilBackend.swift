import VigilCore
import VigilObservability

/// What Vigil runs on, chosen once at assembly (DESIGN §2): the alert log, the delivery
/// queue, the router that joins them, and the state every process shares. The embedded
/// backend keeps all of it in one SQLite file; the Kafka backend keeps the log and the
/// deliveries on topics and the shared state in compacted topics read into local tables.
/// The service, the API and the workers see only this protocol and never ask which
/// backend they have.
public protocol VigilBackend: AnyObject, Sendable {
    /// The alert log.
    var log: any AlertLog { get }
    /// The ingest path of every way in (the API, and on Kafka the outside producers).
    var intake: AlertIntake { get }
    /// The deliveries: recorded by the router, worked by the workers, shown by the API.
    var deliveries: any DeliveryQueue { get }
    /// The router following the log.
    var router: any AlertRouting { get }
    /// Subscribers, tokens, the audit trail and replays.
    var shared: SharedState { get }
    /// Connects `workers` to the router: they hear of every routing, and a router that can
    /// claims fresh deliveries for them in its own write. Call once, before `start`.
    func attach(_ workers: any DeliveryWorkers)
    /// Makes this process's share of the deliveries workable before its workers start: work
    /// left in flight by the last run is released, or this process joins the workers' group.
    func startWorking(_ workers: any DeliveryWorkers, logger: Logger) throws
    /// Stops what the backend started for the workers, publishes what is pending, and
    /// closes its clients and files. The router and workers are stopped first.
    func shutdown()
}
