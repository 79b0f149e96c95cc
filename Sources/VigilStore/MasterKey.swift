import Foundation
import VigilCrypto

/// The 256-bit key that wraps every alert's data key. It never enters the store or the
/// log: it comes from `VIGIL_MASTER_KEY` or a key file, and losing it makes every sealed
/// identity read as erased.
public struct MasterKey: Sendable {
    let bytes: [UInt8]

    /// A key from 32 raw bytes.
    public init(bytes: [UInt8]) throws(MasterKeyError) {
        guard bytes.count == AESGCM.keyLength else { throw .wrongLength(bytes.count) }
        self.bytes = bytes
    }

    /// A key spelled as 64 hex digits or as base64 of 32 bytes (surrounding whitespace is
    /// ignored, so a key file may end with a newline).
    public init(text: String) throws(MasterKeyError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.allSatisfy(\.isHexDigit), let bytes = Hex.decode(trimmed) {
            try self.init(bytes: bytes)
        } else if let bytes = Base64.decode(trimmed) {
            try self.init(bytes: bytes)
        } else {
            throw .unreadable
        }
    }

    /// A key for one `purpose` (HMAC-SHA256 of the purpose under the master key), so each
    /// use of the master key gets its own key and none of them reveals another.
    public func derivedKey(_ purpose: String) -> [UInt8] { HMAC.sha256(key: bytes, message: Array(purpose.utf8)) }

    /// The envelope cipher whose data keys this key wraps (both backends seal with it).
    public var identityCipher: IdentityCipher { IdentityCipher(masterKey: bytes) }

    /// A fresh random key.
    public static func generate() -> MasterKey {
        // 32 random bytes always make a valid key.
        try! MasterKey(bytes: SecureRandom.bytes(AESGCM.keyLength))
    }

    /// The key in `file`, or a new one written there (mode 0600) when the file does not
    /// exist; `created` says which.
    public static func loadOrCreate(file: String) throws(MasterKeyError) -> (key: MasterKey, created: Bool) {
        if FileManager.default.fileExists(atPath: file) {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw .fileUnreadable(file) }
            return (try MasterKey(text: text), false)
        }
        let key = generate()
        let created = FileManager.default.createFile(
            atPath: file, contents: Data((Hex.encode(key.bytes) + "\n").utf8), attributes: [.posixPermissions: 0o600])
        guard created else { throw .fileUnwritable(file) }
        return (key, true)
    }
}

/// Why a master key could not be had.
public enum MasterKeyError: Error, Equatable, CustomStringConvertible {
    /// The key decoded to the wrong number of bytes.
    case wrongLength(Int)
    /// The text is neither 64 hex digits nor base64.
    case unreadable
    /// The key file exists but cannot be read.
    case fileUnreadable(String)
    /// The key file could not be created.
    case fileUnwritable(String)
    /// The key does not open what this store was sealed with.
    case mismatch(String)

    public var description: String {
        switch self {
        case .wrongLength(let count): "master_key must be 32 bytes (64 hex digits or base64), got \(count) bytes"
        case .unreadable: "master_key must be 64 hex digits or base64 of 32 bytes"
        case .fileUnreadable(let path): "master_key_file \(path) cannot be read; check its owner and mode"
        case .fileUnwritable(let path): "master_key_file \(path) cannot be created; check that the data directory is writable"
        case .mismatch(let keysPath):
            "the master key does not open the keys in \(keysPath); start with the key this store was created with (VIGIL_MASTER_KEY or master_key_file)"
        }
    }
}
