import Foundation
import VigilCore

/// Re-applies, to a store restored from a backup, every erasure made after that backup: an
/// erasure must not be undone by a restore.
///
/// The record of an erasure is the erasure itself: the alert's data key is gone from the key
/// store (the audit trail's `alert.erased` lines are written after it, asynchronously, and may
/// be missing after a crash). So an alert whose key the restored store still holds, but the
/// newer store — the data directory the backup was taken from — has lost, was erased after
/// the backup, and its key is deleted here too. Both stores must have been sealed by the same
/// master-key check: a key store made afresh (which has no keys at all) cannot erase anything.
public enum ErasureCarryOver {
    /// Deletes from the restored store (`restoredStore` with its key store `restoredKeys`) the
    /// data key of every alert that is erased in the newer store (`newerStore`, `newerKeys`),
    /// records an `alert.erased` audit line for each, truncates the restored key store's
    /// write-ahead log, and answers the ids of the alerts erased, oldest first. The newer
    /// store is only read, and may be in use by a running service.
    public static func apply(
        from newerStore: String, newerKeys: String, to restoredStore: String, restoredKeys: String
    ) throws(ErasureCarryOverError) -> [String] {
        for path in [newerStore, newerKeys, restoredStore, restoredKeys] where !FileManager.default.fileExists(atPath: path) {
            throw .missing(path)
        }
        do {
            let connection = try SQLiteConnection(path: restoredStore)
            defer { connection.close() }
            // `secure_delete` on the restored key store, so a deleted key is overwritten.
            try connection.attachKeys(restoredKeys)
            try connection.run("ATTACH DATABASE ? AS newer", [.text(newerStore)])
            try connection.run("ATTACH DATABASE ? AS newer_keys", [.text(newerKeys)])
            let restoredCheck = try connection.query("SELECT sealed FROM keys.master_check WHERE id = 1").first?.blob(0)
            let newerCheck = try connection.query("SELECT sealed FROM newer_keys.master_check WHERE id = 1").first?.blob(0)
            guard let restoredCheck, restoredCheck == newerCheck else { throw ErasureCarryOverError.otherStore(newerStore) }
            // Deferred, so only the restored files are locked for writing; the newer store is read.
            try connection.execute("BEGIN")
            do {
                let erased = try connection.query(
                    """
                    SELECT r.id, r.key_id FROM main.alerts r
                    JOIN keys.data_keys rk ON rk.key_id = r.key_id
                    JOIN newer.alerts n ON n.id = r.id
                    WHERE n.key_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM newer_keys.data_keys nk WHERE nk.key_id = n.key_id)
                    ORDER BY r.log_offset
                    """)
                let transaction = WriteTransaction(connection: connection)
                var ids: [String] = []
                for row in erased {
                    guard let id = row.text(0), let keyID = row.int(1) else { continue }
                    try connection.run("DELETE FROM keys.data_keys WHERE key_id = ?", [.integer(keyID)])
                    try AuditTrail.insert(
                        AuditEntry(
                            tokenID: "local:vigil-restore", organisation: "local", action: .alertErased, target: id,
                            detail: "erased after the backup was taken; re-applied by vigil restore --erasures-from"),
                        into: transaction)
                    ids.append(id)
                }
                try connection.execute("COMMIT")
                try connection.execute("DETACH DATABASE newer; DETACH DATABASE newer_keys")
                // The deleted keys' old page images leave the write-ahead log.
                guard let row = try connection.query("PRAGMA keys.wal_checkpoint(TRUNCATE)").first, row.int(0) == 0 else {
                    throw ErasureCarryOverError.checkpointIncomplete(restoredKeys)
                }
                return ids
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        } catch let error as ErasureCarryOverError {
            throw error
        } catch {
            throw .failed(String(describing: error))
        }
    }
}

/// Why erasures could not be carried over to a restored store.
public enum ErasureCarryOverError: Error, Sendable, CustomStringConvertible {
    /// A file of one of the stores is not there.
    case missing(String)
    /// The newer store was not sealed with the same master-key check as the backup.
    case otherStore(String)
    /// The restored key store's write-ahead log could not be truncated.
    case checkpointIncomplete(String)
    /// SQLite failed.
    case failed(String)

    public var description: String {
        switch self {
        case .missing(let path): "\(path) does not exist: --erasures-from names the data directory the backup was taken from"
        case .otherStore(let path):
            "\(path) is not the store this backup was taken from (its master-key check differs, or its key store was made afresh); name the data directory the backup came from"
        case .checkpointIncomplete(let path):
            "the write-ahead log of \(path) could not be truncated, so an erased key may still be in it; make sure nothing has the restored store open and run the restore again"
        case .failed(let why): "erasures could not be carried over: \(why)"
        }
    }
}
