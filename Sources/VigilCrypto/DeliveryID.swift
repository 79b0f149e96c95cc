/// The stable id of a delivery: the same alert, subscriber and channel always give the same
/// id, on either backend, so a retry, a replay or a second routing after a crash is
/// recognised as the same delivery (and receivers can deduplicate on it).
public enum DeliveryID {
    /// `dlv_` + the alert id in lower case + 20 hex digits of SHA-256 over the three ids
    /// (and, for a follow-up, its stored form: an escalation or a reminder is a delivery of
    /// its own, with an id of its own).
    public static func make(alertID: String, subscriberID: String, channelID: String, followUp: String? = nil) -> String {
        let digest = followUp.map { SHA256.hex("\(alertID)/\(subscriberID)/\(channelID)/\($0)") } ?? SHA256.hex("\(alertID)/\(subscriberID)/\(channelID)")
        return "dlv_" + alertID.lowercased() + digest.prefix(20)
    }
}
