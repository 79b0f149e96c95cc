/// What happens when a subscriber does not acknowledge an alert in time (issue 19): after
/// `afterSeconds` from its delivery, alerts at `minSeverity` or above go to each subscriber
/// in `to`, and the subscriber is reminded every `remindEverySeconds`, at most
/// `maxReminders` times. Any acknowledgement (by it, or by one it escalated to) stops what is
/// still pending.
public struct EscalationPolicy: Sendable, Equatable, Codable {
    /// The lowest severity it applies to.
    public var minSeverity: Severity
    /// How long the subscriber has to acknowledge, in seconds (at least 1).
    public var afterSeconds: Int64
    /// The subscribers (ids) an unacknowledged alert escalates to.
    public var to: [String]
    /// Seconds between reminders to the subscriber itself; `nil` for none.
    public var remindEverySeconds: Int64?
    /// The most reminders it gets.
    public var maxReminders: Int

    /// Limits that keep a policy from flooding anyone.
    public enum Limits {
        /// Longest window, 30 days.
        public static let maxSeconds: Int64 = 30 * 24 * 3600
        /// Most escalation targets.
        public static let maxTargets = 10
        /// Most reminders.
        public static let maxReminders = 24
    }

    enum CodingKeys: String, CodingKey {
        case minSeverity = "min_severity"
        case afterSeconds = "after_seconds"
        case to
        case remindEverySeconds = "remind_every_seconds"
        case maxReminders = "max_reminders"
    }

    /// A policy.
    public init(minSeverity: Severity, afterSeconds: Int64, to: [String], remindEverySeconds: Int64? = nil, maxReminders: Int = 0) {
        self.minSeverity = minSeverity
        self.afterSeconds = afterSeconds
        self.to = to
        self.remindEverySeconds = remindEverySeconds
        self.maxReminders = maxReminders
    }

    /// Whether an alert of `severity` is covered.
    public func covers(_ severity: Severity) -> Bool { severity >= minSeverity }
}
