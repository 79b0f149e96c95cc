import VigilCrypto

/// The per-session token every state-changing form carries (issue 20): an HMAC of the
/// browser's session id (or, before sign-in, of its anonymous pre-session id) under a key
/// derived from the master key. Nothing is stored: a forged page cannot know it without the
/// cookie, which `SameSite=Strict` and `HttpOnly` keep from other sites and scripts.
public struct CSRFToken: Sendable {
    private let key: [UInt8]

    /// Tokens under `key` (`masterKey.derivedKey("vigil/console-csrf")`).
    public init(key: [UInt8]) { self.key = key }

    /// The token for the browser whose cookie holds `binding`.
    public func token(for binding: String) -> String {
        Base64.encode(HMAC.sha256(key: key, message: Array(("csrf:" + binding).utf8)), urlSafe: true)
    }

    /// Whether `presented` is the token for `binding` (compared in constant time).
    public func verify(_ presented: String?, for binding: String) -> Bool {
        guard let presented, presented.utf8.count < 128, let mac = Base64.decode(presented.replacingURLSafe()) else { return false }
        return HMAC.verify(mac, key: key, message: Array(("csrf:" + binding).utf8))
    }
}

extension String {
    /// Base64url turned back into standard Base64 with padding, for `Base64.decode`.
    fileprivate func replacingURLSafe() -> String {
        var text = String(map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        while text.utf8.count % 4 != 0 { text += "=" }
        return text
    }
}
