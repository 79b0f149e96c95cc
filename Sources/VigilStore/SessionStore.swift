import VigilCore
import VigilCrypto

/// The `console_sessions` table: signed-in browsers, by the SHA-256 of their cookie value.
///
/// Sessions are local to the process and never replicated: on Kafka each API process keeps
/// its own (a browser signs in again if a balancer moves it). What ends sessions everywhere
/// is in the replicated account instead: a password change moves `sessionsValidAfter` and a
/// disable sets `disabledAt`, and `session(_:)` checks both on every request.
public final class SessionStore: Sendable {
    private let database: Database
    private let accounts: AccountStore

    /// Sessions kept in `database` (on Kafka the process's local cache file), for the accounts of `accounts`.
    public init(database: Database, accounts: AccountStore) {
        self.database = database
        self.accounts = accounts
    }

    /// Starts a session for `accountID` at `stage` and returns its id, the cookie value (32
    /// random bytes, base64url); only its SHA-256 is stored.
    public func create(accountID: String, stage: ConsoleSession.Stage, now: Timestamp = .now()) throws -> String {
        guard try accounts.account(id: accountID) != nil else { throw AccountError.unknownAccount(accountID) }
        let raw = Base64.encode(SecureRandom.bytes(32), urlSafe: true)
        let values: [SQLiteValue] = [.text(SHA256.hex(raw)), .text(accountID), .text(stage.rawValue), .integer(now.milliseconds), .integer(now.milliseconds)]
        _ = try database.writeAndWait { transaction in
            try transaction.connection.run(
                "INSERT INTO console_sessions(id_hash, account_id, stage, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)", values)
        }
        return raw
    }

    /// How long a touch of `last_seen_at` is put off: at most one write a minute per session.
    public static let touchMilliseconds: Int64 = 60 * 1000

    /// The live session whose cookie value is `rawID`, with its account; `nil` when unknown,
    /// idle more than 30 minutes, older than 12 hours, awaiting TOTP more than 5 minutes,
    /// its account disabled, or begun before the account's `sessionsValidAfter` (such a row
    /// is deleted). A live session's `last_seen_at` is moved to `now`, at most once a minute.
    /// A session awaiting TOTP is answered too: the caller checks `stage` before it grants anything.
    public func session(_ rawID: String, now: Timestamp = .now()) throws -> (session: ConsoleSession, account: Account)? {
        let hash = SHA256.hex(rawID)
        guard let found = try stored(hash) else { return nil }
        guard !Self.hasExpired(found, now: now), let account = try accounts.account(id: found.accountID), account.disabledAt == nil,
            found.createdAt >= account.sessionsValidAfter
        else {
            try delete(hash)
            return nil
        }
        guard now.milliseconds - found.lastSeenAt.milliseconds >= Self.touchMilliseconds else { return (found, account) }
        _ = try database.writeAndWait(durable: false) { transaction in
            try transaction.connection.run(
                "UPDATE console_sessions SET last_seen_at = ? WHERE id_hash = ? AND last_seen_at < ?",
                [.integer(now.milliseconds), .text(hash), .integer(now.milliseconds)])
        }
        return (ConsoleSession(accountID: found.accountID, stage: found.stage, createdAt: found.createdAt, lastSeenAt: now), account)
    }

    /// Moves the live session `rawID` from awaiting TOTP to signed in, under a new id (the old
    /// one is deleted, so an id planted before sign-in is worthless after); returns the new
    /// cookie value, or `nil` when `rawID` is not a live session awaiting TOTP. The 12-hour
    /// limit still counts from the password step.
    public func promote(_ rawID: String, now: Timestamp = .now()) throws -> String? {
        guard let (session, _) = try session(rawID, now: now), session.stage == .awaitingTOTP else { return nil }
        let old = SHA256.hex(rawID)
        let raw = Base64.encode(SecureRandom.bytes(32), urlSafe: true)
        let values: [SQLiteValue] = [
            .text(SHA256.hex(raw)), .text(session.accountID), .text(ConsoleSession.Stage.signedIn.rawValue), .integer(session.createdAt.milliseconds),
            .integer(now.milliseconds),
        ]
        let promoted = try database.writeAndWait { transaction in
            // Only one of two concurrent promotions finds the old row to delete.
            guard try transaction.connection.run(
                "DELETE FROM console_sessions WHERE id_hash = ? AND stage = ?", [.text(old), .text(ConsoleSession.Stage.awaitingTOTP.rawValue)]) == 1
            else { return false }
            try transaction.connection.run(
                "INSERT INTO console_sessions(id_hash, account_id, stage, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)", values)
            return true
        }
        return promoted ? raw : nil
    }

    /// Ends the session `rawID` (signing out).
    public func revoke(_ rawID: String) throws {
        try delete(SHA256.hex(rawID))
    }

    /// Ends every session of `accountID` in this process.
    public func revokeAll(accountID: String) throws {
        _ = try database.writeAndWait { try $0.connection.run("DELETE FROM console_sessions WHERE account_id = ?", [.text(accountID)]) }
    }

    /// Deletes the rows of sessions that have expired by `now`.
    public func prune(now: Timestamp = .now()) throws {
        let idle = now.milliseconds - ConsoleSession.idleMilliseconds
        let begun = now.milliseconds - ConsoleSession.absoluteMilliseconds
        let awaiting = now.milliseconds - ConsoleSession.awaitingTOTPMilliseconds
        _ = try database.writeAndWait { transaction in
            try transaction.connection.run(
                "DELETE FROM console_sessions WHERE last_seen_at < ? OR created_at < ? OR (stage = ? AND created_at < ?)",
                [.integer(idle), .integer(begun), .text(ConsoleSession.Stage.awaitingTOTP.rawValue), .integer(awaiting)])
        }
    }

    /// Whether `session` is over at `now` by its own clocks (idle, absolute, awaiting TOTP).
    static func hasExpired(_ session: ConsoleSession, now: Timestamp) -> Bool {
        let now = now.milliseconds
        return now - session.lastSeenAt.milliseconds > ConsoleSession.idleMilliseconds
            || now - session.createdAt.milliseconds > ConsoleSession.absoluteMilliseconds
            || (session.stage == .awaitingTOTP && now - session.createdAt.milliseconds > ConsoleSession.awaitingTOTPMilliseconds)
    }

    private func stored(_ hash: String) throws -> ConsoleSession? {
        try database.read { transaction in
            try transaction.connection.query(
                "SELECT account_id, stage, created_at, last_seen_at FROM console_sessions WHERE id_hash = ?", [.text(hash)]
            ).first.flatMap { row in
                guard let accountID = row.text(0), let stage = ConsoleSession.Stage(rawValue: row.text(1) ?? ""), let created = row.int(2),
                    let seen = row.int(3)
                else { return nil }
                return ConsoleSession(
                    accountID: accountID, stage: stage, createdAt: Timestamp(milliseconds: created), lastSeenAt: Timestamp(milliseconds: seen))
            }
        }
    }

    private func delete(_ hash: String) throws {
        _ = try database.writeAndWait { try $0.connection.run("DELETE FROM console_sessions WHERE id_hash = ?", [.text(hash)]) }
    }
}
