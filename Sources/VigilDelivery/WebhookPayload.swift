import VigilCore

/// The body of a webhook, in the Standard Webhooks shape `{"type", "timestamp", "data"}`:
/// the alert (already redacted for the receiver) under `data`, with the delivery's id and
/// whether it is a drill or a replay. Beside `delivery_id` (issue 19): the `ack_url` that
/// acknowledges the alert for the receiving subscriber, the filer's `handling` instructions
/// as the receiver may read them, `escalated_from` on escalations and their reports,
/// `reminder` (its number) on reminders and the `acknowledgement` an `alert.acknowledged`
/// report is about.
public enum WebhookPayload {
    /// The event type of an alert: `alert.created`, `alert.updated` or `alert.cancelled`.
    public static func type(of alert: Alert) -> String {
        switch alert.kind {
        case .alert: "alert.created"
        case .update: "alert.updated"
        case .cancel: "alert.cancelled"
        }
    }

    /// The event type of a delivery of `alert`: its follow-up's (`alert.escalated`,
    /// `alert.reminder`, `case.reminder`, `alert.acknowledged`) or the alert's own.
    public static func type(of alert: Alert, followUp: FollowUp?) -> String { followUp?.eventType ?? type(of: alert) }

    /// The exact bytes that are signed and sent. `acknowledgement` is written as given: the
    /// caller leaves out the note a receiver may not read.
    public static func body(
        alert: Alert, deliveryID: String, sentAt: Timestamp, replayID: String? = nil, followUp: FollowUp? = nil, ackURL: String? = nil,
        acknowledgement: Acknowledgement? = nil
    ) -> [UInt8] {
        var w = JSONWriter(capacity: 1400)
        w.beginObject()
        w.field("ack_url", ackURL)
        if let acknowledgement {
            w.key("acknowledgement")
            w.beginObject()
            w.field("action", acknowledgement.action.rawValue)
            w.field("at", acknowledgement.at.description)
            w.field("kind", acknowledgement.kind.rawValue)
            w.field("note", acknowledgement.note)
            w.field("organisation", acknowledgement.organisation)
            w.field("subscriber_id", acknowledgement.subscriberID)
            w.endObject()
        }
        w.key("data")
        alert.write(to: &w)
        w.field("delivery_id", deliveryID)
        switch followUp {
        case .escalation(let from), .escalated(let from): w.field("escalated_from", from)
        default: break
        }
        w.key("exercise")
        w.bool(alert.status == .exercise)
        if let handling = alert.handling {
            w.key("handling")
            handling.write(to: &w)
        }
        if case .reminder(let n) = followUp {
            w.key("reminder")
            w.integer(Int64(n))
        }
        w.field("replay_id", replayID)
        w.field("timestamp", sentAt.description)
        w.field("type", type(of: alert, followUp: followUp))
        w.endObject()
        return w.bytes
    }

}

extension WebhookPayload {
    /// The exact bytes of an `alerts.digest` webhook: `data` holds the window and the alerts
    /// listed, each with its own `delivery_id` and `ack_url`, the filer's `handling` and
    /// whether it is a drill (`exercise`), as a single alert's webhook has them.
    public static func digestBody(_ digest: Digest, deliveryID: String, sentAt: Timestamp) -> [UInt8] {
        var w = JSONWriter(capacity: 600 + 1400 * digest.entries.count)
        w.beginObject()
        w.key("data")
        w.beginObject()
        w.key("alerts")
        w.beginArray()
        for entry in digest.entries {
            w.beginObject()
            w.field("ack_url", entry.ackURL)
            w.key("alert")
            entry.alert.write(to: &w)
            w.field("delivery_id", entry.deliveryID)
            w.key("exercise")
            w.bool(entry.alert.status == .exercise)
            if let handling = entry.alert.handling {
                w.key("handling")
                handling.write(to: &w)
            }
            w.endObject()
        }
        w.endArray()
        w.key("count")
        w.integer(Int64(digest.entries.count))
        w.key("window")
        w.beginObject()
        w.field("end", digest.window.end.description)
        w.field("start", digest.window.start.description)
        w.field("timezone", digest.timezone)
        w.endObject()
        w.endObject()
        w.field("delivery_id", deliveryID)
        w.field("timestamp", sentAt.description)
        w.field("type", "alerts.digest")
        w.endObject()
        return w.bytes
    }
}
