import VigilCore
import VigilObservability

/// The routing step both backends' routers share: a batch of alerts read from the log
/// becomes its deliveries, through today's subscriptions and each case's earlier
/// recipients, and is counted once recorded. Each router records the deliveries its own
/// way (the embedded one with its position, the Kafka one before its group commit).
public struct BatchRouting: Sendable {
    private let log: any AlertLog
    private let recipients: any DeliveryRecipients
    private let subscribers: SubscriberRegistry
    private let metrics: Metrics

    /// Routing of alerts from `log`, with case recipients from `recipients` and subscriptions from `subscribers`.
    public init(log: any AlertLog, recipients: any DeliveryRecipients, subscribers: SubscriberRegistry, metrics: Metrics) {
        self.log = log
        self.recipients = recipients
        self.subscribers = subscribers
        self.metrics = metrics
    }

    /// The deliveries of `batch`, in its order.
    public func deliveries(for batch: [StoredAlert]) throws -> [RoutedDelivery] {
        let index = try subscribers.index()
        var deliveries: [RoutedDelivery] = []
        // Recipients within this batch count too: an update routed with its first alert
        // must reach whoever that alert reached, before either is recorded.
        var batchRecipients: [String: Set<String>] = [:]
        for stored in batch {
            var caseRecipients = try recipients.caseRecipients(of: stored.alert, in: log)
            if stored.alert.kind != .alert { caseRecipients.formUnion(batchRecipients[stored.alert.caseID] ?? []) }
            let routed = Router.route(stored, index: index, caseRecipients: caseRecipients)
            batchRecipients[stored.alert.caseID, default: []].formUnion(routed.filter { $0.initialState != .skipped }.map(\.subscriberID))
            deliveries += routed
        }
        return deliveries
    }

    /// Counts `batch`, whose `deliveries` are now recorded: routing time per alert, alerts and deliveries.
    public func counted(_ batch: [StoredAlert], deliveries: Int) {
        let now = Timestamp.now().milliseconds
        for stored in batch {
            metrics.observe("vigil_routing_seconds", Double(max(0, now - stored.alert.receivedAt.milliseconds)) / 1000)
        }
        metrics.increment("vigil_alerts_routed_total", by: Double(batch.count))
        metrics.increment("vigil_deliveries_created_total", by: Double(deliveries))
    }
}
