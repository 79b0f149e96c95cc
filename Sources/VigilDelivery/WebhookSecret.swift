import VigilCrypto

/// A per-endpoint signing secret in the Standard Webhooks form `whsec_<base64>`, at least
/// 24 random bytes, shown to the subscriber once when the channel is created.
public struct WebhookSecret: Sendable, Equatable, CustomStringConvertible {
    /// The raw key bytes the HMAC uses.
    public let key: [UInt8]

    /// A new secret of 32 bytes from the secure random generator.
    public static func generate() -> WebhookSecret { WebhookSecret(key: SecureRandom.bytes(32)) }

    /// A secret from its key bytes.
    public init(key: [UInt8]) { self.key = key }

    /// Parses `whsec_<base64>`; `nil` when the prefix is missing, the base64 is broken or
    /// the key is shorter than 24 bytes.
    public init?(_ text: String) {
        guard text.hasPrefix("whsec_"), let key = Base64.decode(String(text.dropFirst(6))), key.count >= 24 else { return nil }
        self.key = key
    }

    /// The `whsec_` text.
    public var description: String { "whsec_" + Base64.encode(key) }
}
