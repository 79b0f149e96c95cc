/// The stable id of a delivery: the same alert, subscriber and channel always give the same
/// id, on either backend, so a retry, a replay or a second routing after a crash is
/// recognised as the same delivery (and receivers can deduplicate on it).
public enum DeliveryID {
    /// `dlv_` + the alert id in lower case + 20 hex digits of SHA-256 over the three ids
    /// (and, for a follow-up, its stored form: an escalation or a reminder is a delivery of
    /// its own, with an id of its own).
    /// A digest (`followUp` `digest:<start>/<end>`) is named by subscriber, channel and window
    /// alone: `dlv_digest_` + 24 hex digits, whichever alert opened it. An alert gathered into a
    /// digest (`gathered:<start>`) is named without its window: routed again after a crash, in
    /// a later window, it is the same delivery, listed by one digest only.
    public static func make(alertID: String, subscriberID: String, channelID: String, followUp: String? = nil) -> String {
        if let followUp, followUp.hasPrefix("digest:") { return "dlv_digest_" + SHA256.hex("\(subscriberID)/\(channelID)/\(followUp)").prefix(24) }
        let followUp = followUp.map { $0.hasPrefix("gathered:") ? "gathered" : $0 }
        let digest = followUp.map { SHA256.hex("\(alertID)/\(subscriberID)/\(channelID)/\($0)") } ?? SHA256.hex("\(alertID)/\(subscriberID)/\(channelID)")
        return "dlv_" + alertID.lowercased() + digest.prefix(20)
    }
}
