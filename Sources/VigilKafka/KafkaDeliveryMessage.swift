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

    /// The message in `bytes`, or `nil` when they are not one (a foreign or damaged record).
    init?(decoding bytes: [UInt8]) {
        guard case .object(let f)? = try? JSONParser.parse(bytes) else { return nil }
        func text(_ key: String) -> String? { if case .string(let s)? = f[key] { return s } else { return nil } }
        func number(_ key: String) -> Int64? { if case .number(let n)? = f[key] { return Int64(n) } else { return nil } }
        guard let id = text("id"), let alertID = text("alert_id"), let subscriberID = text("subscriber_id"), let channelID = text("channel_id"),
            let channelType = text("channel_type").flatMap(Channel.Kind.init(rawValue:)), let reason = text("reason").flatMap(RoutingReason.init(rawValue:)),
            let clearance = text("clearance").flatMap(Confidentiality.init(rawValue:)), let severity = text("severity").flatMap(Severity.init(rawValue:)),
            let state = text("state").flatMap(DeliveryState.init(rawValue:)), let created = number("created_at"), let updated = number("updated_at")
        else { return nil }
        record = DeliveryRecord(
            id: id, alertID: alertID, alertOffset: number("alert_offset") ?? 0, subscriberID: subscriberID, channelID: channelID,
            channelType: channelType, reason: reason, clearance: clearance, severity: severity, state: state, attempts: Int(number("attempts") ?? 0),
            nextAttemptAt: number("next_attempt_at").map(Timestamp.init(milliseconds:)), lastError: text("last_error"),
            createdAt: Timestamp(milliseconds: created), updatedAt: Timestamp(milliseconds: updated), replayID: text("replay_id"))
        firstAttemptAt = number("first_attempt_at").map(Timestamp.init(milliseconds:))
    }

    init(record: DeliveryRecord, firstAttemptAt: Timestamp?) {
        self.record = record
        self.firstAttemptAt = firstAttemptAt
    }

    /// A new delivery routed at `now` (or queued again by replay `replayID`).
    init(routed d: RoutedDelivery, now: Timestamp, replayID: String? = nil) {
        record = DeliveryRecord(
            id: DeliveryID.make(alertID: d.alertID, subscriberID: d.subscriberID, channelID: d.channelID), alertID: d.alertID,
            alertOffset: d.alertOffset, subscriberID: d.subscriberID, channelID: d.channelID, channelType: d.channelType, reason: d.reason,
            clearance: d.clearance, severity: d.severity, state: replayID == nil ? d.initialState : .pending, attempts: 0,
            nextAttemptAt: d.initialState == .pending || replayID != nil ? now : nil, lastError: nil, createdAt: now, updatedAt: now,
            replayID: replayID)
        firstAttemptAt = nil
    }
}
