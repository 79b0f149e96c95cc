import Foundation
import VigilCore
import VigilObservability
import VigilStore

/// What the router and replay tests share: the in-memory log and queue of
/// `VigilTestSupport`, a subscriber registry on a scratch database, quiet logs and metrics.
public struct RoutingFixture {
    public static let masterKey = try! MasterKey(text: String(repeating: "ef", count: 32))

    public let log: InMemoryAlertLog
    public let queue: InMemoryDeliveryQueue
    public let database: Database
    public let subscribers: SubscriberRegistry
    public let metrics = Metrics()
    public let logger = Logger(label: "test", enabled: false)

    public init(log: InMemoryAlertLog = InMemoryAlertLog(), queue: InMemoryDeliveryQueue = InMemoryDeliveryQueue()) throws {
        self.log = log
        self.queue = queue
        database = try Database(path: (TemporaryDirectory.make("vigil-routing") as NSString).appendingPathComponent("vigil.sqlite"), readers: 1)
        subscribers = SubscriberRegistry(database: database, seal: SecretSeal(masterKey: Self.masterKey))
    }

    public func router(batchSize: Int = 256) -> AlertRouter {
        AlertRouter(log: log, ledger: queue, subscribers: subscribers, metrics: metrics, logger: logger, batchSize: batchSize)
    }

    /// Saves a desk with one webhook channel (`<id>-hook`) following `countries` at `minSeverity` and above.
    @discardableResult
    public func desk(_ id: String, follows countries: [String], minSeverity: Severity = .low, channels: Int = 1) throws -> Subscriber {
        let subscriber = Subscriber(
            id: id, name: id, kind: .diplomaticDesk, organisation: "org", contact: "desk@example.org", clearance: .restricted, language: "en",
            channels: (0..<channels).map { Channel(id: $0 == 0 ? "\(id)-hook" : "\(id)-hook\($0)", type: .webhook, url: "https://desk.example/\(id)") },
            subscriptions: [Subscription(countries: Set(countries.map { CountryCode($0)! }), minSeverity: minSeverity)])
        try subscribers.saveAll([subscriber])
        return subscriber
    }

    /// Appends an alert (durable at once in the in-memory log).
    @discardableResult
    public func file(
        _ country: String = "BY", severity: Severity = .critical, caseID: String? = nil, kind: AlertKind = .alert, status: AlertStatus = .actual,
        at time: Timestamp = .now()
    ) throws -> StoredAlert {
        let alert = Alert(
            id: ULID(time: time).description, caseID: caseID, kind: kind, status: status, receivedAt: time, country: CountryCode(country)!,
            threat: .arrest, severity: severity, certainty: .observed, defender: Defender(name: "Routed Defender"), summary: "arrested",
            source: AlertSource(organisation: "partner"))
        let receipt = try log.appendNow(alert)
        return StoredAlert(offset: receipt.offset, alert: alert)
    }

    /// `(subscriber, reason, state)` of every delivery of `alert`, by subscriber.
    public func routes(of alert: StoredAlert) throws -> [String] {
        try queue.deliveries(ofAlert: alert.alert.id).map { "\($0.subscriberID):\($0.reason.rawValue):\($0.state.rawValue)" }
    }
}
