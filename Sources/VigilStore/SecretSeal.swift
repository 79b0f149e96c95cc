import VigilCrypto

/// Seals short secrets (webhook signing secrets, TOTP secrets) at rest with AES-256-GCM under
/// a key derived from the master key for one purpose, bound to the record they belong to.
///
/// A sealed value reads `v1:<base64>`; a value without the prefix is taken as written
/// before sealing existed and read as it is.
public struct SecretSeal: Sendable {
    private let key: [UInt8]
    private static let prefix = "v1:"

    /// A seal using `masterKey`'s `webhook-secrets` key.
    public init(masterKey: MasterKey) { self.init(masterKey: masterKey, purpose: Self.webhookSecrets) }

    /// A seal using `masterKey`'s key for `purpose` (for example `vigil/totp-secrets`), so a
    /// value sealed for one use never opens under another.
    public init(masterKey: MasterKey, purpose: String) { key = masterKey.derivedKey(purpose) }

    /// The purpose of webhook signing secrets' seal.
    public static let webhookSecrets = "vigil/webhook-secrets"
    /// The purpose of console accounts' TOTP secrets' seal.
    public static let totpSecrets = "vigil/totp-secrets"

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

    /// `bytes` sealed for `context` (an account id); unlike `seal`, always sealed.
    func seal(bytes: [UInt8], context: String) throws -> String {
        Self.prefix + Base64.encode(try AESGCM.seal(bytes, key: key, associatedData: Array(context.utf8)))
    }

    /// The bytes sealed in `stored`, or `nil` when it is not a sealed value or does not open
    /// (another master key, another purpose, another record): nothing is read unsealed.
    func openBytes(_ stored: String, context: String) -> [UInt8]? {
        guard stored.hasPrefix(Self.prefix), let box = Base64.decode(String(stored.dropFirst(Self.prefix.count))) else { return nil }
        return try? AESGCM.open(box, key: key, associatedData: Array(context.utf8))
    }
}
