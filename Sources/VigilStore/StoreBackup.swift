import Foundation
import VigilCrypto

/// A consistent copy of the embedded store — the alert store `vigil.sqlite` and the key store
/// `vigil.keys.sqlite` — taken with SQLite's online backup API while `vigil serve` keeps
/// writing, possibly from another process.
///
/// Each file is copied from a read snapshot held for the whole copy (WAL mode lets the
/// service commit beside it), and the alert store is snapshotted before the key store: a data
/// key is committed, in a batch of its own, before it is handed to any alert, and leaves the
/// key store only by erasure. So every alert in the copy finds its key in the later key
/// snapshot, unless it was erased meanwhile, and then it is rightly erased in the copy too.
/// The other order could copy an alert whose key was made after the key snapshot.
public enum StoreBackup {
    /// The alert store's name in a data directory and in a backup.
    public static let storeFileName = "vigil.sqlite"
    /// The key store's name in a data directory and in a backup.
    public static let keysFileName = "vigil.keys.sqlite"
    /// The schema version this build writes: a copy from a newer one cannot be restored here.
    public static var schemaVersion: Int { Migrations.steps.count }

    /// What a copy holds, read from the copied files.
    public struct Summary: Sendable, Equatable {
        /// The store's schema version (its last migration).
        public let schemaVersion: Int
        /// The offset of the newest alert in the copy (0 when there is none).
        public let lastOffset: Int64
        /// Rows per kind of record.
        public let counts: Counts
        /// SHA-256 (hex) of the store's master-key check value: it identifies the master key
        /// the store was sealed with without revealing anything of it; `nil` before first use.
        public let masterKeyCheck: String?
    }

    /// Rows per kind of record in a copy.
    public struct Counts: Sendable, Equatable, Codable {
        /// Alerts in the log.
        public var alerts: Int64
        /// Alerts whose data key is gone: their identities read as `[erased]`.
        public var erasedAlerts: Int64
        /// Wrapped data keys in the key store (some made ahead, not yet used).
        public var dataKeys: Int64
        /// Deliveries, in every state.
        public var deliveries: Int64
        /// Subscribers.
        public var subscribers: Int64
        /// API tokens, revoked ones included.
        public var tokens: Int64
        /// Console accounts.
        public var accounts: Int64
        /// Acknowledgements.
        public var acknowledgements: Int64
        /// Lines of the audit trail.
        public var auditEntries: Int64
        /// Replays.
        public var replays: Int64

        enum CodingKeys: String, CodingKey {
            case alerts
            case erasedAlerts = "erased_alerts"
            case dataKeys = "data_keys"
            case deliveries, subscribers, tokens, accounts, acknowledgements
            case auditEntries = "audit_entries"
            case replays
        }
    }

    /// Copies the store at `storePath` with its key store `keysPath` into `directory` (which
    /// must exist) as `vigil.sqlite` and `vigil.keys.sqlite`, mode 0600, `pagesPerStep` pages
    /// at a time; checks each copy with `PRAGMA integrity_check` and answers what it holds.
    public static func copy(storePath: String, keysPath: String, into directory: String, pagesPerStep: Int = 1024) throws(StoreBackupError) -> Summary {
        try copy(storePath: storePath, keysPath: keysPath, into: directory, pagesPerStep: pagesPerStep, betweenFiles: {})
    }

    /// `copy`, running `betweenFiles` after the alert store is copied and before the key
    /// store's snapshot is taken: tests write there what the order must survive.
    static func copy(
        storePath: String, keysPath: String, into directory: String, pagesPerStep: Int, betweenFiles: () -> Void
    ) throws(StoreBackupError) -> Summary {
        for path in [storePath, keysPath] where !FileManager.default.fileExists(atPath: path) {
            throw .missing(path)
        }
        let storeCopy = (directory as NSString).appendingPathComponent(storeFileName)
        let keysCopy = (directory as NSString).appendingPathComponent(keysFileName)
        // The alert store first, the key store after (see the type's description).
        try copy(storePath, to: storeCopy, pagesPerStep: pagesPerStep)
        betweenFiles()
        try copy(keysPath, to: keysCopy, pagesPerStep: pagesPerStep)
        do {
            return try summary(storePath: storeCopy, keysPath: keysCopy)
        } catch {
            throw .unreadable(storeCopy, String(describing: error))
        }
    }

    /// Copies the main schema of the file at `source` into a new file `destination` from one
    /// read snapshot, then checks the copy.
    private static func copy(_ source: String, to destination: String, pagesPerStep: Int) throws(StoreBackupError) {
        guard FileManager.default.createFile(atPath: destination, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw .unwritable(destination)
        }
        do {
            // Opened read-write (the file exists, so nothing is created) but `query_only`: a
            // read-only connection cannot open a WAL file whose shared-memory file is missing.
            let reader = try SQLiteConnection(path: source)
            defer { reader.close() }
            try reader.execute("PRAGMA query_only=ON")
            let writer = try SQLiteConnection(path: destination)
            defer { writer.close() }
            // The snapshot: every step copies pages of this read transaction, so the service's
            // commits in the meantime neither show in the copy nor restart it.
            try reader.execute("BEGIN")
            _ = try reader.query("SELECT COUNT(*) FROM sqlite_schema")
            let backup = try SQLiteBackup(from: reader, schema: "main", to: writer)
            try backup.run(pagesPerStep: pagesPerStep)
            try reader.execute("COMMIT")
            let check = try writer.query("PRAGMA integrity_check").compactMap { $0.text(0) }
            guard check == ["ok"] else { throw StoreBackupError.damaged(destination, check.prefix(3).joined(separator: "; ")) }
        } catch let error as StoreBackupError {
            throw error
        } catch {
            throw .copyFailed(source, String(describing: error))
        }
    }

    /// What the store at `storePath` with its key store `keysPath` holds. Both files must exist.
    public static func summary(storePath: String, keysPath: String) throws -> Summary {
        for path in [storePath, keysPath] where !FileManager.default.fileExists(atPath: path) {
            throw StoreBackupError.missing(path)
        }
        let connection = try SQLiteConnection(path: storePath)
        defer { connection.close() }
        try connection.run("ATTACH DATABASE ? AS keys", [.text(keysPath)])
        try connection.execute("PRAGMA query_only=ON; BEGIN")
        defer { try? connection.execute("COMMIT") }
        func count(_ sql: String) throws -> Int64 { try connection.query(sql).first?.int(0) ?? 0 }
        let counts = Counts(
            alerts: try count("SELECT COUNT(*) FROM alerts"),
            erasedAlerts: try count(
                "SELECT COUNT(*) FROM alerts a WHERE a.key_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM keys.data_keys k WHERE k.key_id = a.key_id)"),
            dataKeys: try count("SELECT COUNT(*) FROM keys.data_keys"),
            deliveries: try count("SELECT COUNT(*) FROM deliveries"),
            subscribers: try count("SELECT COUNT(*) FROM subscribers"),
            tokens: try count("SELECT COUNT(*) FROM tokens"),
            accounts: try count("SELECT COUNT(*) FROM accounts"),
            acknowledgements: try count("SELECT COUNT(*) FROM acks"),
            auditEntries: try count("SELECT COUNT(*) FROM audit"),
            replays: try count("SELECT COUNT(*) FROM replays"))
        let check = try connection.query("SELECT sealed FROM keys.master_check WHERE id = 1").first?.blob(0)
        return Summary(
            schemaVersion: Int(try count("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")),
            lastOffset: try count("SELECT COALESCE(MAX(log_offset), 0) FROM alerts"), counts: counts,
            masterKeyCheck: check.map { SHA256.hex($0) })
    }

    /// Deletes every console session in a restored store: a session is a browser's sign-in of
    /// the moment, and one signed out after the backup must not come back; everyone signs in
    /// again instead.
    public static func dropSessions(storePath: String) throws {
        guard FileManager.default.fileExists(atPath: storePath) else { throw StoreBackupError.missing(storePath) }
        let connection = try SQLiteConnection(path: storePath)
        defer { connection.close() }
        try connection.execute("DELETE FROM console_sessions")
    }
}

/// Why a backup could not be taken or read.
public enum StoreBackupError: Error, Sendable, CustomStringConvertible {
    /// A file of the store is not there.
    case missing(String)
    /// A file of the copy could not be created.
    case unwritable(String)
    /// SQLite could not copy a file.
    case copyFailed(String, String)
    /// A copy failed SQLite's integrity check.
    case damaged(String, String)
    /// A copy could not be read back.
    case unreadable(String, String)

    public var description: String {
        switch self {
        case .missing(let path):
            "\(path) does not exist: point --data-dir (or data_dir) at the directory of a store vigil serve has opened at least once"
        case .unwritable(let path): "\(path) cannot be created; check that its directory is writable and has room"
        case .copyFailed(let path, let why): "\(path) could not be copied (\(why)); check the disk and retry"
        case .damaged(let path, let why):
            "the copy \(path) failed SQLite's integrity check (\(why)); the source may be damaged: run PRAGMA integrity_check on it"
        case .unreadable(let path, let why): "the copy \(path) could not be read back (\(why))"
        }
    }
}
