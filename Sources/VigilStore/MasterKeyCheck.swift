import Foundation
import VigilCrypto

/// The record in a store's key file that tells which master key the store was created with:
/// a fixed text sealed under that key. `vigil serve` (through `IdentityVault`) refuses any
/// other key at start; `vigil check` asks the same question without opening the store for
/// writing, so it never creates a store, a key file or a record.
public enum MasterKeyCheck {
    /// The sealed text and its associated data.
    static let context = Array("vigil-master-check".utf8)

    /// What an existing deployment's files say about a master key.
    public enum Finding: Sendable, Equatable {
        /// The key opens the store's check record.
        case opens
        /// There is no store at the path yet: `vigil serve` creates it, sealed with the key it starts with.
        case noStore
        /// The store exists but its key file does not: every identity sealed before would read as erased.
        case noKeyFile(String)
        /// The key file has no check record yet (a store never started to the end): any key is taken.
        case noRecord
    }

    /// The check record for a new key file: the fixed text sealed under `masterKey`.
    static func seal(_ masterKey: MasterKey) throws -> [UInt8] {
        try AESGCM.seal(context, key: masterKey.bytes, associatedData: context)
    }

    /// Throws `MasterKeyError.mismatch` naming `keysPath` when `sealed` does not open under
    /// `masterKey`: the one comparison both the service's start and `vigil check` make.
    static func verify(_ sealed: [UInt8], masterKey: MasterKey, keysPath: String) throws(MasterKeyError) {
        guard (try? AESGCM.open(sealed, key: masterKey.bytes, associatedData: context)) != nil else {
            throw .mismatch(keysPath)
        }
    }

    /// Whether `masterKey` opens the store at `storePath` (its key file beside it, as
    /// `Database` names it), read through a read-only connection: nothing is created or
    /// migrated. Throws `MasterKeyError.mismatch` for another key, and the SQLite error when
    /// the key file cannot be read.
    public static func verify(masterKey: MasterKey, storePath: String) throws -> Finding {
        guard FileManager.default.fileExists(atPath: storePath) else { return .noStore }
        let keysPath = Database.defaultKeysPath(for: storePath)
        guard FileManager.default.fileExists(atPath: keysPath) else { return .noKeyFile(keysPath) }
        let connection = try SQLiteConnection(path: keysPath, readOnly: true)
        defer { connection.close() }
        let tables = try connection.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'master_check'")
        guard !tables.isEmpty, let sealed = try connection.query("SELECT sealed FROM master_check WHERE id = 1").first?.blob(0) else {
            return .noRecord
        }
        try verify(sealed, masterKey: masterKey, keysPath: keysPath)
        return .opens
    }
}
