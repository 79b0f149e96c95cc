import VigilCrypto

/// Seals short secrets (webhook signing secrets) at rest with AES-256-GCM under a key
/// derived from the master key, bound to the record they belong to.
///
/// A sealed value reads `v1:<base64>`; a value without the prefix is taken as written
/// before sealing existed and read as it is.
public struct SecretSeal: Sendable {
    private let key: [UInt8]
    private static let prefix = "v1:"

    /// A seal using `masterKey`'s `webhook-secrets` key.
    public init(masterKey: MasterKey) { key = masterKey.derivedKey("vigil/webhook-secrets") }

    /// `secret` sealed for `context` (a channel id).
    func seal(_ secret: String, context: String) throws -> String {
        Self.prefix + Base64.encode(try AESGCM.seal(Array(secret.utf8), key: key, associatedData: Array(context.utf8)))
    }

    /// The secret in `stored`, or `nil` when it does not open (another master key, or a
    /// value moved to another channel).
    func open(_ stored: String, context: String) -> String? {
        guard stored.hasPrefix(Self.prefix) else { return stored }
        guard let box = Base64.decode(String(stored.dropFirst(Self.prefix.count))),
            let plain = try? AESGCM.open(box, key: key, associatedData: Array(context.utf8))
        else { return nil }
        return String(decoding: plain, as: UTF8.self)
    }
}
