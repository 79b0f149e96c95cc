/// The envelope encryption of defenders' identities, shared by both backends: each alert's
/// identity is sealed with AES-256-GCM under a data key of its own, bound to the alert id,
/// and the data key is kept only wrapped by the master key. Deleting the wrapped key erases
/// the identity for good, wherever the ciphertext was copied.
public struct IdentityCipher: Sendable {
    private static let wrapContext = Array("vigil-data-key".utf8)
    private let masterKey: [UInt8]

    /// A cipher whose data keys are wrapped by the 32-byte `masterKey`.
    public init(masterKey: [UInt8]) { self.masterKey = masterKey }

    /// A fresh random data key and its wrapped form (the only form that may be stored).
    public func makeDataKey() throws -> (key: [UInt8], wrapped: [UInt8]) {
        let key = SecureRandom.bytes(AESGCM.keyLength)
        return (key, try AESGCM.seal(key, key: masterKey, associatedData: Self.wrapContext))
    }

    /// Whether `wrapped` is a data key wrapped by this cipher's master key (start-up checks
    /// that every process of a deployment shares one master key).
    public func unwraps(_ wrapped: [UInt8]) -> Bool {
        (try? AESGCM.open(wrapped, key: masterKey, associatedData: Self.wrapContext)) != nil
    }

    /// Seals `identity` (the alert's identifying fields, serialised) under `dataKey`, bound
    /// to `alertID` so a box cannot be moved to another alert.
    public func seal(_ identity: [UInt8], dataKey: [UInt8], alertID: String) throws -> [UInt8] {
        try AESGCM.seal(identity, key: dataKey, associatedData: Array(alertID.utf8))
    }

    /// The identity in `box`, or `nil` when the wrapped key is missing (erased), was wrapped
    /// by another master key, or the box was altered.
    public func open(_ box: [UInt8]?, wrappedKey: [UInt8]?, alertID: String) -> [UInt8]? {
        guard let box, let wrappedKey,
            let key = try? AESGCM.open(wrappedKey, key: masterKey, associatedData: Self.wrapContext)
        else { return nil }
        return try? AESGCM.open(box, key: key, associatedData: Array(alertID.utf8))
    }

    /// Seals `text` (other free text of the alert, such as an acknowledgement's note) under
    /// the data key that `wrappedKey` wraps, bound to `alertID` and `purpose` so the box can
    /// be opened neither as the identity nor for another alert; `nil` when the wrapped key
    /// does not unwrap with this cipher's master key.
    public func seal(_ text: [UInt8], wrappedKey: [UInt8], alertID: String, purpose: String) throws -> [UInt8]? {
        guard let key = try? AESGCM.open(wrappedKey, key: masterKey, associatedData: Self.wrapContext) else { return nil }
        return try AESGCM.seal(text, key: key, associatedData: Array("\(alertID)\u{0}\(purpose)".utf8))
    }

    /// The text `seal(_:wrappedKey:alertID:purpose:)` sealed in `box`, or `nil` when the
    /// wrapped key is missing (erased) or the box was altered or made for another alert or purpose.
    public func open(_ box: [UInt8], wrappedKey: [UInt8]?, alertID: String, purpose: String) -> [UInt8]? {
        guard let wrappedKey, let key = try? AESGCM.open(wrappedKey, key: masterKey, associatedData: Self.wrapContext) else { return nil }
        return try? AESGCM.open(box, key: key, associatedData: Array("\(alertID)\u{0}\(purpose)".utf8))
    }
}
