import VigilCore
import VigilObservability

/// The routing step both backends' routers share: a batch of alerts read from the log
/// becomes its deliveries, through today's subscriptions and each case's earlier
/// recipients, with the follow-ups each alert's routing schedules (`FollowUpSchedule`), and
/// is counted once recorded. Each router records the deliveries its own
/// way (the embedded one with its position, the Kafka one before its group commit).
public struct BatchRouting: Sendable {
    private let log: any AlertLog
    private let recipients: any DeliveryRecipients
    private let subscribers: SubscriberRegistry
    private let metrics: Metrics
    private let eventReminderSeconds: Int64

    /// How long before a case's next event its desks are reminded, unless configured: 24 hours.
    public static let defaultEventReminderSeconds: Int64 = 24 * 3600

    /// Routing of alerts from `log`, with case recipients from `recipients` and subscriptions
    /// from `subscribers`; case reminders come `eventReminderSeconds` before the next event.
    public init(
        log: any AlertLog, recipients: any DeliveryRecipients, subscribers: SubscriberRegistry, metrics: Metrics,
        eventReminderSeconds: Int64 = BatchRouting.defaultEventReminderSeconds
    ) {
        self.log = log
        self.recipients = recipients
        self.subscribers = subscribers
        self.metrics = metrics
        self.eventReminderSeconds = eventReminderSeconds
    }

    /// The deliveries of `batch`, in its order, each alert's first sendings followed by its
    /// follow-ups (due later).
    public func deliveries(for batch: [StoredAlert]) throws -> [RoutedDelivery] {
        let index = try subscribers.index()
        var deliveries: [RoutedDelivery] = []
        // Recipients within this batch count too: an update routed with its first alert
        // must reach whoever that alert reached, before either is recorded.
        var batchRecipients: [String: Set<String>] = [:]
        let now = Timestamp.now()
        for stored in batch {
            var caseRecipients = try recipients.caseRecipients(of: stored.alert, in: log)
            if stored.alert.kind != .alert { caseRecipients.formUnion(batchRecipients[stored.alert.caseID] ?? []) }
            let routed = Router.route(stored, index: index, caseRecipients: caseRecipients, now: now)
            batchRecipients[stored.alert.caseID, default: []].formUnion(
                routed.filter { $0.initialState != .skipped && $0.followUp?.isDigest != true }.map(\.subscriberID))
            deliveries += routed
            deliveries += FollowUpSchedule.followUps(
                of: stored, routed: routed, index: index, eventReminderSeconds: eventReminderSeconds, now: now)
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
