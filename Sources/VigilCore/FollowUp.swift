/// What a delivery is when it is not an alert's first sending (issue 19): a copy sent later,
/// and only if the alert is still unanswered or its case still open when it comes due.
/// Each is its own delivery with its own stable id, scheduled when the alert is routed, so
/// it is as durable as any delivery on either backend: a restart neither loses nor doubles it.
public enum FollowUp: Sendable, Hashable {
    /// The alert, to a backup subscriber, because `from` did not acknowledge it in time.
    case escalation(from: String)
    /// The `n`th reminder (from 1) to a subscriber that has not acknowledged.
    case reminder(Int)
    /// A reminder of the case's next event, due at `eventAt` less the reminder lead.
    case caseReminder(eventAt: Timestamp)
    /// To the filing organisation's reports subscriber: `subscriber` acknowledged the alert.
    case acknowledged(by: String)
    /// To the filing organisation's reports subscriber: the alert escalated from `from`.
    case escalated(from: String)

    /// The stored form: `escalation:<id>`, `reminder:<n>`, `case_reminder:<ms>`,
    /// `acknowledged:<id>`, `escalated:<id>`.
    public var rawValue: String {
        switch self {
        case .escalation(let from): "escalation:\(from)"
        case .reminder(let n): "reminder:\(n)"
        case .caseReminder(let at): "case_reminder:\(at.milliseconds)"
        case .acknowledged(let by): "acknowledged:\(by)"
        case .escalated(let from): "escalated:\(from)"
        }
    }

    /// Reads the stored form; `nil` for anything else (a record from elsewhere is never
    /// trusted for arithmetic: the numbers are parsed, bounded, never trapped on).
    public init?(rawValue: String) {
        guard let colon = rawValue.firstIndex(of: ":") else { return nil }
        let name = rawValue[..<colon], value = String(rawValue[rawValue.index(after: colon)...])
        guard !value.isEmpty, value.count <= 64 else { return nil }
        switch name {
        case "escalation": self = .escalation(from: value)
        case "reminder":
            guard let n = Int(value), n >= 1, n <= 1000 else { return nil }
            self = .reminder(n)
        case "case_reminder":
            guard let ms = Int64(value) else { return nil }
            self = .caseReminder(eventAt: Timestamp(milliseconds: ms))
        case "acknowledged": self = .acknowledged(by: value)
        case "escalated": self = .escalated(from: value)
        default: return nil
        }
    }

    /// The webhook event type a delivery of this kind is sent as.
    public var eventType: String {
        switch self {
        case .escalation: "alert.escalated"
        case .reminder: "alert.reminder"
        case .caseReminder: "case.reminder"
        case .acknowledged: "alert.acknowledged"
        case .escalated: "alert.escalated"
        }
    }
}
