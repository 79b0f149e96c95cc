import Foundation
import VigilCore
import VigilCrypto

/// Seals each alert's identity (`AlertIdentity`) with AES-256-GCM under a data key of its
/// own, and opens it again while that key exists.
///
/// Data keys are wrapped by the master key and kept in the attached key file, never in the
/// log. They are made ahead of use, in committed batches of 1,024 (off the writer thread), so an acknowledged alert can
/// never point at a key that a crash lost; the alert row records the key's id. Deleting a
/// key erases the identity for good: the log keeps only the `[erased]` view and the
/// ciphertext.
final class IdentityVault: Sendable {
    private static let batchSize = 1024

    private let database: Database
    private let cipher: IdentityCipher
    private let pool = DataKeyPool<Int64>(batchSize: IdentityVault.batchSize)

    init(database: Database, masterKey: MasterKey) throws {
        self.database = database
        cipher = IdentityCipher(masterKey: masterKey.bytes)
        let check = try database.read { try $0.connection.query("SELECT sealed FROM keys.master_check WHERE id = 1").first?.blob(0) }
        if let check { try MasterKeyCheck.verify(check, masterKey: masterKey, keysPath: database.keysPath) }
        let sealedCheck = try MasterKeyCheck.seal(masterKey)
        let isNew = check == nil
        try database.writeAndWait { transaction in
            if isNew { try transaction.connection.run("INSERT INTO keys.master_check(id, sealed) VALUES (1, ?)", [.blob(sealedCheck)]) }
            // Keys made for the previous run's pool and never used encrypt nothing.
            try transaction.connection.run(
                """
                DELETE FROM keys.data_keys WHERE key_id > COALESCE(
                    (SELECT MAX(key_id) FROM (SELECT key_id FROM alerts ORDER BY log_offset DESC LIMIT 4096)), 0)
                """)
        }
        try refillNow()
    }

    /// `alert` as the log keeps it: the `[erased]` view (no identity, no free text, no
    /// links or tags), the sealed identity (all of those) and the id of the data key that
    /// seals it.
    func seal(_ alert: Alert) throws -> (view: Alert, keyID: Int64, box: [UInt8]) {
        let dataKey = try takeKey()
        let box = try cipher.seal(alert.identity.jsonBytes, dataKey: dataKey.key, alertID: alert.id)
        return (alert.sealedView, dataKey.id, box)
    }

    /// The alert with its identity restored from `box`, or `view` marked `[erased]` when
    /// the data key is gone (marked again, so a row written before free text was sealed,
    /// whose view still holds a scrubbed summary, links and tags, reads as erased too).
    func open(_ view: Alert, box: [UInt8]?, wrappedKey: [UInt8]?) -> Alert {
        guard let plaintext = cipher.open(box, wrappedKey: wrappedKey, alertID: view.id), let identity = AlertIdentity(json: plaintext)
        else { return view.sealedView }
        return view.restoring(identity)
    }

    /// `text` sealed under the data key `wrappedKey` wraps, for the alert `alertID`
    /// (acknowledgement notes); `nil` when the key does not unwrap.
    func sealNote(_ text: String, wrappedKey: [UInt8], alertID: String) throws -> [UInt8]? {
        try cipher.seal(Array(text.utf8), wrappedKey: wrappedKey, alertID: alertID, purpose: Self.notePurpose)
    }

    /// The note in `box`, or `nil` when `wrappedKey` is gone (erased) or the box is not a
    /// note of `alertID`.
    func openNote(_ box: [UInt8], wrappedKey: [UInt8]?, alertID: String) -> String? {
        cipher.open(box, wrappedKey: wrappedKey, alertID: alertID, purpose: Self.notePurpose).map { String(decoding: $0, as: UTF8.self) }
    }

    private static let notePurpose = "ack-note"

    private func takeKey() throws -> (id: Int64, key: [UInt8]) {
        guard let key = try pool.take(refillInBackground: refillInBackground, refillNow: refillNow) else {
            throw StoreError.corrupt("no data key could be made for a new alert")
        }
        return key
    }

    private func refillNow() throws {
        pool.add(try database.writeAndWait(storing(try freshKeys())))
    }

    private func refillInBackground() {
        let made: [(key: [UInt8], wrapped: [UInt8])]
        do {
            made = try freshKeys()
        } catch {
            pool.backgroundRefillEnded()
            return
        }
        database.write(storing(made)) { [pool] result in
            if case .success(let keys) = result { pool.add(keys) }
            pool.backgroundRefillEnded()
        }
    }

    /// A batch of random data keys and their wrapped forms, made on the caller's thread so
    /// the single writer only inserts them.
    private func freshKeys() throws -> [(key: [UInt8], wrapped: [UInt8])] {
        try (0..<Self.batchSize).map { _ in try cipher.makeDataKey() }
    }

    /// The write job that stores `made` and answers with each key's id.
    private func storing(_ made: [(key: [UInt8], wrapped: [UInt8])]) -> @Sendable (WriteTransaction) throws -> [(id: Int64, key: [UInt8])] {
        { transaction in
            try made.map { item in
                try transaction.connection.run("INSERT INTO keys.data_keys(wrapped) VALUES (?)", [.blob(item.wrapped)])
                return (transaction.connection.lastInsertRowID, item.key)
            }
        }
    }
}
