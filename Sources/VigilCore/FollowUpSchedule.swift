/// The follow-ups an alert's routing schedules (issue 19), decided when the alert is routed
/// so that each is a durable delivery of its own, due later: escalations to the backups of a
/// subscriber that does not acknowledge in time, reminders to that subscriber, the filing
/// organisation's `alert.escalated` reports, and reminders of a case's next event. Whether a
/// follow-up is still wanted (acknowledged meanwhile? the case closed?) is decided when it
/// comes due, by the workers.
public enum FollowUpSchedule {
    /// The follow-ups of `stored`, whose first sendings the router decided are `routed`, with
    /// today's subscribers in `index`. `eventReminderSeconds` is how long before a case's
    /// next event its desks are reminded; `now` is the routing time.
    public static func followUps(
        of stored: StoredAlert, routed: [RoutedDelivery], index: SubscriptionIndex, eventReminderSeconds: Int64, now: Timestamp
    ) -> [RoutedDelivery] {
        let alert = stored.alert
        guard alert.status != .test else { return [] }
        var recipients: [String] = []
        for delivery in routed where delivery.initialState == .pending && delivery.followUp == nil && !recipients.contains(delivery.subscriberID) {
            recipients.append(delivery.subscriberID)
        }
        var followUps: [RoutedDelivery] = []
        func schedule(_ followUp: FollowUp, to subscriber: Subscriber, at due: Timestamp) {
            guard alert.handling?.excludes(subscriber) != true else { return }
            followUps += subscriber.channels.map { channel in
                RoutedDelivery(
                    alertID: alert.id, alertOffset: stored.offset, subscriberID: subscriber.id, channelID: channel.id, channelType: channel.type,
                    clearance: subscriber.clearance, severity: alert.severity, reason: .followUp, initialState: .pending, followUp: followUp,
                    dueAt: due)
            }
        }
        let reporters = index.subscribers.filter { $0.reports && $0.organisation == alert.source.organisation }
        let closing = alert.kind == .cancel || alert.caseStatus?.isClosing == true
        for id in recipients where !closing {
            guard let subscriber = index.subscriber(id: id), let policy = subscriber.escalation, policy.covers(alert.severity) else { continue }
            let due = DeliveryArithmetic.time(alert.receivedAt, plus: DeliveryArithmetic.milliseconds(fromSeconds: Double(policy.afterSeconds)))
            let targets = policy.to.filter { $0 != id }.compactMap { index.subscriber(id: $0) }
            for target in targets { schedule(.escalation(from: id), to: target, at: due) }
            if !targets.isEmpty {
                for reporter in reporters { schedule(.escalated(from: id), to: reporter, at: due) }
            }
            if let every = policy.remindEverySeconds, policy.maxReminders > 0 {
                for n in 1...policy.maxReminders {
                    let later = DeliveryArithmetic.milliseconds(fromSeconds: Double(every) * Double(n - 1))
                    schedule(.reminder(n), to: subscriber, at: DeliveryArithmetic.time(due, plus: later))
                }
            }
        }
        if let event = alert.nextEvent, event.at > now, !closing {
            let lead = DeliveryArithmetic.milliseconds(fromSeconds: Double(eventReminderSeconds))
            let due = max(now, DeliveryArithmetic.time(event.at, plus: -lead))
            for id in recipients {
                if let subscriber = index.subscriber(id: id) { schedule(.caseReminder(eventAt: event.at), to: subscriber, at: due) }
            }
        }
        return followUps
    }
}
