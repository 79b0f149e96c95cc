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
    /// The alert, gathered into the subscriber's digest of the window opening at `window`
    /// (issue 21): sent with that digest, which settles it. It is due on its own only long
    /// after the window closed (`DigestSchedule.fallbackMilliseconds`), should its digest
    /// have missed it or still be failing then: at least once, never lost.
    case gathered(window: Timestamp)
    /// The digest of a subscriber's channel for one window: one email or `alerts.digest`
    /// webhook listing every alert gathered in it, due when the window closes. Its delivery
    /// id comes from (subscriber, channel, window), not from an alert.
    case digest(DigestWindow)

    /// The stored form: `escalation:<id>`, `reminder:<n>`, `case_reminder:<ms>`,
    /// `acknowledged:<id>`, `escalated:<id>`, `gathered:<ms>`, `digest:<start ms>/<end ms>`.
    public var rawValue: String {
        switch self {
        case .escalation(let from): "escalation:\(from)"
        case .reminder(let n): "reminder:\(n)"
        case .caseReminder(let at): "case_reminder:\(at.milliseconds)"
        case .acknowledged(let by): "acknowledged:\(by)"
        case .escalated(let from): "escalated:\(from)"
        case .gathered(let window): "gathered:\(window.milliseconds)"
        case .digest(let window): "digest:\(window.start.milliseconds)/\(window.end.milliseconds)"
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
        case "gathered":
            guard let ms = Int64(value) else { return nil }
            self = .gathered(window: Timestamp(milliseconds: ms))
        case "digest":
            let bounds = value.split(separator: "/", omittingEmptySubsequences: false)
            guard bounds.count == 2, let start = Int64(bounds[0]), let end = Int64(bounds[1]), start < end else { return nil }
            self = .digest(DigestWindow(start: Timestamp(milliseconds: start), end: Timestamp(milliseconds: end)))
        default: return nil
        }
    }

    /// Whether it is part of a digest (the digest, or an alert gathered into one): such a
    /// delivery does not count as the alert sent at once (see `DeliveryRecipients`).
    public var isDigest: Bool {
        switch self {
        case .gathered, .digest: true
        default: false
        }
    }

    /// The webhook event type a delivery of this kind is sent as; `nil` for the alert's own
    /// (a gathered alert sent on its own).
    public var eventType: String? {
        switch self {
        case .escalation: "alert.escalated"
        case .reminder: "alert.reminder"
        case .caseReminder: "case.reminder"
        case .acknowledged: "alert.acknowledged"
        case .escalated: "alert.escalated"
        case .gathered: nil
        case .digest: "alerts.digest"
        }
    }
}
