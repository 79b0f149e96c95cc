/// The stable id of a delivery: the same alert, subscriber and channel always give the same
/// id, on either backend, so a retry, a replay or a second routing after a crash is
/// recognised as the same delivery (and receivers can deduplicate on it).
public enum DeliveryID {
    /// `dlv_` + the alert id in lower case + 20 hex digits of SHA-256 over the three ids.
    public static func make(alertID: String, subscriberID: String, channelID: String) -> String {
        "dlv_" + alertID.lowercased() + SHA256.hex("\(alertID)/\(subscriberID)/\(channelID)").prefix(20)
    }
}
