import VigilCrypto

/// Standard Webhooks signing: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one
/// signature per live secret, space-separated during a rotation.
public enum WebhookSignature {
    /// The `webhook-signature` header value for a message.
    ///
    /// - Parameters:
    ///   - id: the `webhook-id` (the delivery id).
    ///   - timestamp: the `webhook-timestamp`, Unix seconds.
    ///   - body: the exact bytes sent.
    ///   - secrets: the endpoint's current secret first, then any being rotated out.
    public static func header(id: String, timestamp: Int64, body: [UInt8], secrets: [WebhookSecret]) -> String {
        let signed = Array("\(id).\(timestamp).".utf8) + body
        return secrets.map { "v1," + Base64.encode(HMAC.sha256(key: $0.key, message: signed)) }.joined(separator: " ")
    }
}
