/// A delivery as the queue keeps it: what, to whom, and where it is in its life.
public struct DeliveryRecord: Sendable, Equatable {
    /// Stable across retries and replays: a digest of alert, subscriber and channel.
    public let id: String
    public let alertID: String
    public let alertOffset: LogOffset
    public let subscriberID: String
    public let channelID: String
    public let channelType: Channel.Kind
    public let reason: RoutingReason
    /// The subscriber's clearance when routed.
    public let clearance: Confidentiality
    public let severity: Severity
    public var state: DeliveryState
    public var attempts: Int
    public var nextAttemptAt: Timestamp?
    public var lastError: String?
    public let createdAt: Timestamp
    public var updatedAt: Timestamp
    /// The replay that last queued this delivery again, if any; its sends say they are replays.
    public var replayID: String?
    /// For an escalation, a reminder or a report: what it is (see `FollowUp`).
    public var followUp: FollowUp?

    /// A record as read from the queue.
    public init(
        id: String, alertID: String, alertOffset: LogOffset, subscriberID: String, channelID: String, channelType: Channel.Kind,
        reason: RoutingReason, clearance: Confidentiality, severity: Severity, state: DeliveryState, attempts: Int,
        nextAttemptAt: Timestamp?, lastError: String?, createdAt: Timestamp, updatedAt: Timestamp, replayID: String? = nil,
        followUp: FollowUp? = nil
    ) {
        self.id = id
        self.alertID = alertID
        self.alertOffset = alertOffset
        self.subscriberID = subscriberID
        self.channelID = channelID
        self.channelType = channelType
        self.reason = reason
        self.clearance = clearance
        self.severity = severity
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.replayID = replayID
        self.followUp = followUp
    }

    /// `lastError` without what a receiver wrote. Errors recorded before issue 17 ended
    /// with up to 200 characters of the receiver's reply after the status
    /// (`the receiver answered 500: <body>`, `the receiver refused with 400: <body>`); a desk
    /// echoing the payload put a defender's name there. They are shown up to the status.
    /// Errors recorded since never carry a receiver's text.
    public static func withoutReceiverText(_ lastError: String) -> String {
        for marker in ["the receiver answered ", "the receiver refused with "] {
            guard let start = lastError.range(of: marker) else { continue }
            let status = lastError[start.upperBound...].prefix { $0.isASCII && $0.isNumber }
            guard status.count == 3, lastError[status.endIndex...].hasPrefix(": ") else { continue }
            return String(lastError[..<status.endIndex])
        }
        return lastError
    }

    /// The JSON the API shows for this delivery.
    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.field("alert_id", alertID)
        w.key("attempts")
        w.integer(Int64(attempts))
        w.field("channel_id", channelID)
        w.field("channel_type", channelType.rawValue)
        w.field("created_at", createdAt.description)
        w.field("follow_up", followUp?.rawValue)
        w.field("id", id)
        w.field("last_error", lastError.map(Self.withoutReceiverText))
        w.field("next_attempt_at", nextAttemptAt?.description)
        w.field("reason", reason.rawValue)
        w.field("replay_id", replayID)
        w.field("state", state.rawValue)
        w.field("subscriber_id", subscriberID)
        w.field("updated_at", updatedAt.description)
        w.endObject()
    }
}
