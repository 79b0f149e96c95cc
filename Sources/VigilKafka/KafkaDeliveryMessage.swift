import VigilCore
import VigilCrypto

/// A delivery as it travels on Vigil's delivery topics and on `vigil.deliveries.outcomes`:
/// the whole `DeliveryRecord` plus when its first attempt was made (for the retry budget),
/// as one JSON object.
struct KafkaDeliveryMessage: Sendable, Equatable {
    var record: DeliveryRecord
    var firstAttemptAt: Timestamp?

    func encoded() -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        w.field("alert_id", record.alertID)
        w.key("alert_offset")
        w.integer(record.alertOffset)
        w.key("attempts")
        w.integer(Int64(record.attempts))
        w.field("channel_id", record.channelID)
        w.field("channel_type", record.channelType.rawValue)
        w.field("clearance", record.clearance.rawValue)
        w.key("created_at")
        w.integer(record.createdAt.milliseconds)
        if let first = firstAttemptAt {
            w.key("first_attempt_at")
            w.integer(first.milliseconds)
        }
        w.field("follow_up", record.followUp?.rawValue)
        w.field("id", record.id)
        w.field("last_error", record.lastError)
        if let next = record.nextAttemptAt {
            w.key("next_attempt_at")
            w.integer(next.milliseconds)
        }
        w.field("reason", record.reason.rawValue)
        w.field("replay_id", record.replayID)
        w.field("severity", record.severity.rawValue)
        w.field("state", record.state.rawValue)
        w.field("subscriber_id", record.subscriberID)
        w.key("updated_at")
        w.integer(record.updatedAt.milliseconds)
        w.endObject()
        return w.bytes
    }

    /// The message in `bytes`, or `nil` when they are not one (a foreign or damaged record,
    /// or one with a number out of range); `decode(_:)` says why.
    init?(decoding bytes: [UInt8]) {
        guard case .success(let message) = Self.decode(bytes) else { return nil }
        self = message
    }

    /// The message in `bytes`, or why they are not one. Every number must be a whole number
    /// of magnitude at most 2^53 (`JSONValue.exactInt64`), offsets and attempts not
    /// negative: `created_at: 1e19`, `-1e19` or `1.5` is refused,
    /// never converted with a trapping `Int64(_:)`.
    static func decode(_ bytes: [UInt8]) -> Result<KafkaDeliveryMessage, KafkaRecordRefusal> {
        guard case .object(let f)? = try? JSONParser.parse(bytes) else { return .failure(KafkaRecordRefusal("not a JSON object")) }
        func text(_ key: String) -> String? { if case .string(let s)? = f[key] { return s } else { return nil } }
        var problems: [String] = []
        /// An optional whole number within `range`; a present value that is not one is a problem.
        func number(_ key: String, in range: ClosedRange<Int64>) -> Int64? {
            guard let value = f[key], value != .null else { return nil }
            guard let exact = value.exactInt64, range.contains(exact) else {
                problems.append("\(key) is not a whole number from \(range.lowerBound) to \(range.upperBound)")
                return nil
            }
            return exact
        }
        let times = KafkaDeliveryMessage.timeRange
        let created = number("created_at", in: times), updated = number("updated_at", in: times)
        let alertOffset = number("alert_offset", in: 0...Int64(JSONValue.maxExactInteger))
        let attempts = number("attempts", in: 0...Int64(Int32.max))
        let next = number("next_attempt_at", in: times), first = number("first_attempt_at", in: times)
        // A follow-up that does not read is refused, not taken as a first sending (which would
        // send it at once, and under another id).
        var followUp: FollowUp?
        if let value = f["follow_up"], value != .null {
            if case .string(let raw) = value, let read = FollowUp(rawValue: raw) { followUp = read } else { problems.append("follow_up is not a follow-up") }
        }
        guard problems.isEmpty else { return .failure(KafkaRecordRefusal(problems.joined(separator: "; "))) }
        guard let id = text("id"), let alertID = text("alert_id"), let subscriberID = text("subscriber_id"), let channelID = text("channel_id"),
            let channelType = text("channel_type").flatMap(Channel.Kind.init(rawValue:)), let reason = text("reason").flatMap(RoutingReason.init(rawValue:)),
            let clearance = text("clearance").flatMap(Confidentiality.init(rawValue:)), let severity = text("severity").flatMap(Severity.init(rawValue:)),
            let state = text("state").flatMap(DeliveryState.init(rawValue:)), let created, let updated
        else { return .failure(KafkaRecordRefusal("a required field of a delivery is missing or not one of its words")) }
        return .success(KafkaDeliveryMessage(
            record: DeliveryRecord(
                id: id, alertID: alertID, alertOffset: alertOffset ?? 0, subscriberID: subscriberID, channelID: channelID,
                channelType: channelType, reason: reason, clearance: clearance, severity: severity, state: state, attempts: Int(attempts ?? 0),
                nextAttemptAt: next.map(Timestamp.init(milliseconds:)), lastError: text("last_error"),
                createdAt: Timestamp(milliseconds: created), updatedAt: Timestamp(milliseconds: updated), replayID: text("replay_id"),
                followUp: followUp),
            firstAttemptAt: first.map(Timestamp.init(milliseconds:))))
    }

    /// The times and offsets a delivery message may carry: any whole number a `Double`
    /// holds exactly (±2^53 milliseconds is ±285,000 years, and `Timestamp` arithmetic on
    /// it saturates).
    static let timeRange: ClosedRange<Int64> = -Int64(JSONValue.maxExactInteger)...Int64(JSONValue.maxExactInteger)

    init(record: DeliveryRecord, firstAttemptAt: Timestamp?) {
        self.record = record
        self.firstAttemptAt = firstAttemptAt
    }

    /// A new delivery routed at `now` (or queued again by replay `replayID`); a follow-up is
    /// due at its due time, anything else at once.
    init(routed d: RoutedDelivery, now: Timestamp, replayID: String? = nil) {
        record = DeliveryRecord(
            id: DeliveryID.make(alertID: d.alertID, subscriberID: d.subscriberID, channelID: d.channelID, followUp: d.followUp?.rawValue),
            alertID: d.alertID, alertOffset: d.alertOffset, subscriberID: d.subscriberID, channelID: d.channelID, channelType: d.channelType,
            reason: d.reason, clearance: d.clearance, severity: d.severity, state: replayID == nil ? d.initialState : .pending, attempts: 0,
            nextAttemptAt: replayID != nil ? now : d.initialState == .pending ? (d.dueAt ?? now) : nil, lastError: nil, createdAt: now,
            updatedAt: now, replayID: replayID, followUp: d.followUp)
        firstAttemptAt = nil
    }
}

/// Why a record read from a Vigil topic was refused.
struct KafkaRecordRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong with the record.
    let reason: String
    init(_ reason: String) { self.reason = reason }
    var description: String { reason }
}
