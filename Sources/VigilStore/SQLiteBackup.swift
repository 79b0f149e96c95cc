import CSQLite
import Foundation

/// SQLite's online backup API (`sqlite3_backup_*`): copies one schema of a source connection,
/// page by page, into the main schema of a destination connection.
///
/// The copy is of the source's snapshot, not of its file: when the source connection holds a
/// read transaction (WAL mode), every step copies pages of that same snapshot, and other
/// connections, in this process or another, keep writing beside it. Copying in chunks (`step`)
/// holds SQLite's lock on the source only for one chunk at a time. All of this C API is used
/// here and only here.
final class SQLiteBackup {
    private var backup: OpaquePointer?
    private let destination: SQLiteConnection
    private let what: String

    /// Starts copying `schema` (`main`, or an attached name such as `keys`) of `source` into
    /// the main schema of `destination`, whose current content it replaces. `destination` must
    /// have no transaction open.
    init(from source: SQLiteConnection, schema: String, to destination: SQLiteConnection) throws(SQLiteError) {
        self.destination = destination
        what = "backing up \(schema) of \(source.path) to \(destination.path)"
        guard let sourceHandle = source.handle, let destinationHandle = destination.handle else {
            throw SQLiteError(code: SQLITE_MISUSE, message: "connection closed", context: what)
        }
        guard let backup = sqlite3_backup_init(destinationHandle, "main", sourceHandle, schema) else {
            // The destination connection holds the reason.
            throw SQLiteError(
                code: sqlite3_extended_errcode(destinationHandle), message: String(cString: sqlite3_errmsg(destinationHandle)), context: what)
        }
        self.backup = backup
    }

    deinit { _ = try? finish() }

    /// What one step did.
    enum Step: Equatable {
        /// Every page is copied.
        case done
        /// Pages were copied; more remain.
        case more
        /// The source or the destination was busy; nothing was copied (SQLite keeps its place).
        case busy
    }

    /// Copies up to `pages` more pages.
    func step(pages: Int) throws(SQLiteError) -> Step {
        guard let backup else { return .done }
        let rc = sqlite3_backup_step(backup, Int32(clamping: max(1, pages)))
        switch rc {
        case SQLITE_DONE: return .done
        case SQLITE_OK: return .more
        case _ where rc & 0xFF == SQLITE_BUSY || rc & 0xFF == SQLITE_LOCKED: return .busy
        default: throw SQLiteError(code: rc, message: String(cString: sqlite3_errstr(rc)), context: what)
        }
    }

    /// Pages still to copy, as of the last step.
    var remainingPages: Int { backup.map { Int(sqlite3_backup_remaining($0)) } ?? 0 }

    /// Pages in the source, as of the last step.
    var pageCount: Int { backup.map { Int(sqlite3_backup_pagecount($0)) } ?? 0 }

    /// Releases the backup; throws if the copy failed along the way. Called by `deinit` too;
    /// a second call does nothing.
    func finish() throws(SQLiteError) {
        guard let backup else { return }
        self.backup = nil
        let rc = sqlite3_backup_finish(backup)
        guard rc == SQLITE_OK else {
            let message = destination.handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            throw SQLiteError(code: rc, message: message, context: what)
        }
    }

    /// Copies everything, `pagesPerStep` pages at a time, pausing `pause` seconds after a step
    /// that found a database busy, at most `busyRetries` times in a row, then releases the backup.
    func run(pagesPerStep: Int, busyRetries: Int = 600, pause: Double = 0.01) throws(SQLiteError) {
        var busyInARow = 0
        while true {
            switch try step(pages: pagesPerStep) {
            case .done:
                return try finish()
            case .more:
                busyInARow = 0
            case .busy:
                busyInARow += 1
                guard busyInARow <= busyRetries else {
                    throw SQLiteError(code: SQLITE_BUSY, message: "the database stayed busy", context: what)
                }
                Thread.sleep(forTimeInterval: pause)
            }
        }
    }
}
