import VigilCore

/// The body of a webhook, in the Standard Webhooks shape `{"type", "timestamp", "data"}`:
/// the alert (already redacted for the receiver) under `data`, with the delivery's id and
/// whether it is a drill or a replay.
public enum WebhookPayload {
    /// The event type of an alert: `alert.created`, `alert.updated` or `alert.cancelled`.
    public static func type(of alert: Alert) -> String {
        switch alert.kind {
        case .alert: "alert.created"
        case .update: "alert.updated"
        case .cancel: "alert.cancelled"
        }
    }

    /// The exact bytes that are signed and sent.
    public static func body(alert: Alert, deliveryID: String, sentAt: Timestamp, replayID: String? = nil) -> [UInt8] {
        var w = JSONWriter(capacity: 1200)
        w.beginObject()
        w.key("data")
        alert.write(to: &w)
        w.field("delivery_id", deliveryID)
        w.key("exercise")
        w.bool(alert.status == .exercise)
        w.field("replay_id", replayID)
        w.field("timestamp", sentAt.description)
        w.field("type", type(of: alert))
        w.endObject()
        return w.bytes
    }
}
