import VigilCore

/// Whether a delivery is still wanted when it comes due (issue 19, design decision 1).
/// Follow-ups are scheduled when an alert is routed; what happened since — an
/// acknowledgement, a closing update, a `cancel`, a moved hearing — is read here, by the
/// worker, just before sending. The answer is a short reason to cancel (ids and words only,
/// never personal data), or `nil` to send.
enum StillWanted {
    /// The reason to cancel `delivery` of `stored` (the alert as the log holds it), or `nil`.
    ///
    /// - Parameters:
    ///   - caseAlerts: the routing views of the alerts of `stored`'s case received since it
    ///     (`caseAlerts(of:in:)` reads them), itself included.
    ///   - ledger: the acknowledgements; `nil` when none are known.
    ///   - directory: where the current escalation policies are read.
    static func cancellation(
        of delivery: DeliveryRecord, _ stored: StoredAlert, caseAlerts: [StoredAlert], ledger: (any AcknowledgementLedger)?,
        directory: any SubscriberDirectory
    ) throws -> String? {
        let later = caseAlerts.filter { isLater($0, than: stored) }
        let cancelled = later.contains { $0.alert.kind == .cancel }
        let closed = cancelled || later.contains { $0.alert.caseStatus?.isClosing == true }
        guard let followUp = delivery.followUp else {
            // A replay is asked for by an operator, history included; the cancel is replayed with it.
            return cancelled && delivery.replayID == nil ? "the case was cancelled after this alert" : nil
        }
        switch followUp {
        case .escalation(let from), .escalated(let from):
            if try acknowledged(stored.alert.id, by: from, ledger: ledger, directory: directory) { return "the alert was acknowledged" }
            if closed { return "the case was closed" }
        case .reminder:
            if try acknowledged(stored.alert.id, by: delivery.subscriberID, ledger: ledger, directory: directory) { return "the alert was acknowledged" }
            if closed { return "the case was closed" }
        case .caseReminder(let eventAt):
            if closed { return "the case was closed" }
            let latest = caseAlerts.filter { $0.alert.nextEvent != nil }.max { isLater($1, than: $0) }?.alert.nextEvent
            if let latest, latest.at != eventAt { return "the case's next event moved" }
        case .gathered:
            // Sent on its own only when its digest missed it: as the alert itself would be.
            if cancelled { return "the case was cancelled after this alert" }
        case .acknowledged, .digest:
            break
        }
        return nil
    }

    /// Whether `subscriberID` or any subscriber its current escalation policy names
    /// acknowledged the alert `alertID`.
    static func acknowledged(
        _ alertID: String, by subscriberID: String, ledger: (any AcknowledgementLedger)?, directory: any SubscriberDirectory
    ) throws -> Bool {
        guard let ledger else { return false }
        var who: Set<String> = [subscriberID]
        if let policy = try directory.subscriber(id: subscriberID)?.escalation { who.formUnion(policy.to) }
        return try ledger.isAcknowledged(alertID, byAnyOf: who)
    }

    /// Whether `other` was filed after `alert`. Reception time, not the offset, orders them:
    /// on Kafka offsets sort partition by partition, and an update filed under another
    /// country (a defender relocated) lands in another partition. Within one millisecond
    /// the log's order decides.
    static func isLater(_ other: StoredAlert, than alert: StoredAlert) -> Bool {
        other.alert.receivedAt != alert.alert.receivedAt ? other.alert.receivedAt > alert.alert.receivedAt : other.offset > alert.offset
    }

    /// How many views one read of the case asks for; a longer case is read in pages.
    static let page = 500

    /// The routing views of the alerts of `stored`'s case received since it (itself
    /// included), in log order.
    static func caseAlerts(of stored: StoredAlert, in log: any AlertLog) throws -> [StoredAlert] {
        var views: [StoredAlert] = []
        var from: LogOffset = 0
        while true {
            let batch = try log.routingViews(
                matching: AlertQuery(fromOffset: from, since: stored.alert.receivedAt, caseID: stored.alert.caseID, limit: page))
            views += batch
            guard batch.count == page, let last = batch.last?.offset, last >= from else { return views }
            from = last + 1
        }
    }
}
