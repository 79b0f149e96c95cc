/// Why a subscriber gets an alert.
public enum RoutingReason: String, Sendable, Codable, Equatable {
    /// One of its subscriptions matches.
    case matched
    /// It received an earlier alert of the same case (updates and cancels follow the case).
    case followsCase = "follows_case"
    /// A replay addressed to it.
    case replay
    /// An escalation, a reminder or a report of an alert it was routed with (see `FollowUp`).
    case followUp = "follow_up"
    /// It would have received the alert, but the filer's handling instructions exclude it
    /// (or its kind): recorded as `skipped`, never sent, never replayed.
    case excludedByFiler = "excluded_by_filer"
    /// The digest of a window (see `FollowUp.digest`).
    case digest
}

/// One delivery the router decided on: an alert to one channel of one subscriber.
public struct RoutedDelivery: Sendable, Equatable {
    /// The alert.
    public let alertID: String
    /// Its log offset.
    public let alertOffset: LogOffset
    /// Who receives it.
    public let subscriberID: String
    /// Through which channel.
    public let channelID: String
    /// Webhook or email.
    public let channelType: Channel.Kind
    /// The subscriber's clearance when routed, for the record; redaction uses the clearance
    /// at send time.
    public let clearance: Confidentiality
    /// The alert's severity, so the workers can send critical alerts first.
    public let severity: Severity
    /// Why.
    public let reason: RoutingReason
    /// `skipped` for `test` alerts and for subscribers the filer excluded (recorded, never
    /// sent); otherwise `pending`.
    public let initialState: DeliveryState
    /// For an escalation, a reminder or a report: what it is; `nil` for the alert's first sending.
    public let followUp: FollowUp?
    /// When a follow-up becomes due; `nil` for at once.
    public let dueAt: Timestamp?

    /// A delivery of `alertID` to `subscriberID` through `channelID`, as the router makes it.
    public init(
        alertID: String, alertOffset: LogOffset, subscriberID: String, channelID: String, channelType: Channel.Kind, clearance: Confidentiality,
        severity: Severity, reason: RoutingReason, initialState: DeliveryState, followUp: FollowUp? = nil, dueAt: Timestamp? = nil
    ) {
        self.alertID = alertID
        self.alertOffset = alertOffset
        self.subscriberID = subscriberID
        self.channelID = channelID
        self.channelType = channelType
        self.clearance = clearance
        self.severity = severity
        self.reason = reason
        self.initialState = initialState
        self.followUp = followUp
        self.dueAt = dueAt
    }
}

/// Where a delivery is in its life.
public enum DeliveryState: String, Vocabulary {
    /// Waiting for a worker.
    case pending
    /// A worker is sending it under a lease.
    case inFlight = "in_flight"
    /// The receiver took it.
    case delivered
    /// The last attempt failed; another is scheduled.
    case failed
    /// Retries ran out or the failure was permanent; kept with its last error.
    case dead
    /// Never sent, by design (a `test` alert, a subscriber the filer excluded).
    case skipped
    /// Not sent because it was no longer wanted when it came due: an escalation or reminder
    /// of an alert acknowledged or a case closed meanwhile, or an alert its case's `cancel`
    /// withdrew before it was sent.
    case cancelled
}

/// The pure routing function of DESIGN §6: an alert and the subscriptions in, deliveries out.
public enum Router {
    /// One delivery per (subscriber, channel) for every subscriber that matches `alert` now,
    /// plus — for updates and cancels — every subscriber in `caseRecipients` (those who
    /// received an earlier alert of the case at once), even if their subscriptions changed since.
    ///
    /// An alert a subscriber's subscriptions gather into a digest (`Subscriber.digest(for:)`)
    /// is recorded as gathered into the window open at `now` (the routing time; `nil` for
    /// the alert's reception), with that window's digest, due when it closes. An update or
    /// cancel of a case the subscriber received at once goes at once.
    public static func route(
        _ stored: StoredAlert, index: SubscriptionIndex, caseRecipients: Set<String> = [], now: Timestamp? = nil
    ) -> [RoutedDelivery] {
        let state: DeliveryState = stored.alert.status == .test ? .skipped : .pending
        return recipients(of: stored.alert, index: index, caseRecipients: caseRecipients).flatMap { subscriber, reason in
            if stored.alert.handling?.excludes(subscriber) == true {
                return deliveries(of: stored, to: subscriber, channels: subscriber.channels, reason: .excludedByFiler, state: .skipped)
            }
            if state == .pending, reason == .matched, let digest = subscriber.digest(for: stored.alert),
                stored.alert.kind == .alert || !caseRecipients.contains(subscriber.id)
            {
                let window = digest.window(containing: max(now ?? stored.alert.receivedAt, stored.alert.receivedAt))
                return gathered(stored, to: subscriber, into: window)
            }
            return deliveries(of: stored, to: subscriber, channels: subscriber.channels, reason: reason, state: state)
        }
    }

    /// For each channel of `subscriber`: `stored` gathered into `window`, and the window's
    /// digest (recorded once, whichever alert names it first).
    static func gathered(_ stored: StoredAlert, to subscriber: Subscriber, into window: DigestWindow) -> [RoutedDelivery] {
        subscriber.channels.flatMap { channel in
            [
                RoutedDelivery(
                    alertID: stored.alert.id, alertOffset: stored.offset, subscriberID: subscriber.id, channelID: channel.id, channelType: channel.type,
                    clearance: subscriber.clearance, severity: stored.alert.severity, reason: .matched, initialState: .pending,
                    followUp: .gathered(window: window.start),
                    dueAt: window.end.adding(milliseconds: DigestSchedule.settlingMilliseconds + DigestSchedule.fallbackMilliseconds)),
                RoutedDelivery(
                    alertID: stored.alert.id, alertOffset: stored.offset, subscriberID: subscriber.id, channelID: channel.id, channelType: channel.type,
                    clearance: subscriber.clearance, severity: stored.alert.severity, reason: .digest, initialState: .pending,
                    followUp: .digest(window), dueAt: window.end.adding(milliseconds: DigestSchedule.settlingMilliseconds)),
            ]
        }
    }

    /// Who `alert` goes to and why: the subscribers matching it now, then for updates and
    /// cancels the earlier recipients of the case that do not match any more.
    static func recipients(of alert: Alert, index: SubscriptionIndex, caseRecipients: Set<String>) -> [(Subscriber, RoutingReason)] {
        var chosen: [(Subscriber, RoutingReason)] = index.matches(alert).map { ($0, .matched) }
        if alert.kind != .alert {
            let matched = Set(chosen.map(\.0.id))
            for id in caseRecipients.sorted() where !matched.contains(id) {
                if let subscriber = index.subscriber(id: id) { chosen.append((subscriber, .followsCase)) }
            }
        }
        return chosen
    }

    static func deliveries(
        of stored: StoredAlert, to subscriber: Subscriber, channels: [Channel], reason: RoutingReason, state: DeliveryState
    ) -> [RoutedDelivery] {
        channels.map { channel in
            RoutedDelivery(
                alertID: stored.alert.id, alertOffset: stored.offset, subscriberID: subscriber.id, channelID: channel.id,
                channelType: channel.type, clearance: subscriber.clearance, severity: stored.alert.severity, reason: reason,
                initialState: state)
        }
    }
}
