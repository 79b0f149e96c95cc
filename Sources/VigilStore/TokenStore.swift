import Foundation
import VigilCore
import VigilCrypto

/// What a bearer token may do (DESIGN §9).
public enum Scope: String, Vocabulary {
    /// File alerts.
    case alertsWrite = "alerts:write"
    /// Read alerts, redacted to the token's clearance.
    case alertsRead = "alerts:read"
    /// Manage subscribers.
    case subscribersAdmin = "subscribers:admin"
    /// Replay alerts and retry dead letters.
    case replay
}

/// A token's identity and rights; the secret itself is never stored, only its SHA-256.
public struct TokenRecord: Sendable, Equatable, Codable {
    /// A public handle, for listing and revoking.
    public let id: String
    /// The organisation that files and reads with this token.
    public let organisation: String
    /// What the token may do.
    public let scopes: Set<Scope>
    /// The highest confidentiality whose identities this token may read.
    public let clearance: Confidentiality
    /// When it was made.
    public let createdAt: Timestamp
    /// When it was revoked, if it was.
    public let revokedAt: Timestamp?

    /// A token record.
    public init(id: String, organisation: String, scopes: Set<Scope>, clearance: Confidentiality, createdAt: Timestamp, revokedAt: Timestamp? = nil) {
        self.id = id
        self.organisation = organisation
        self.scopes = scopes
        self.clearance = clearance
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

extension TokenRecord {
    /// Whether this is an operator's token: `subscribers:admin` with confidential clearance,
    /// which may act on any organisation's cases and alerts.
    public var isOperator: Bool { scopes.contains(.subscribersAdmin) && clearance == .confidential }
}

/// The `tokens` table: bearer tokens stored as SHA-256 hashes.
///
/// Lookup is by the hash of the presented secret, so comparing the secret never happens
/// byte by byte against a stored secret; the table index sees only digests.
public final class TokenStore: Sendable {
    private let database: Database
    private let feed: (any ReplicationFeed)?

    /// Tokens kept in `database`; with `feed`, every change is also published there (a
    /// token's row under its id, the secret only as its hash) and `applyReplica` fills the
    /// table from what the feed holds.
    public init(database: Database, feed: (any ReplicationFeed)? = nil) {
        self.database = database
        self.feed = feed
    }

    /// Stores a token whose secret is `secret` and returns its record; a live token with that
    /// secret is updated. A revoked one stays revoked: registering its secret again throws
    /// `TokenRefusal.revoked` (revocation is final, issue 23).
    @discardableResult
    public func register(secret: String, organisation: String, scopes: Set<Scope>, clearance: Confidentiality) throws -> TokenRecord {
        let record = TokenRecord(
            id: "tok_" + String(SHA256.hex(secret).prefix(16)), organisation: organisation, scopes: scopes,
            clearance: clearance, createdAt: .now())
        let hash = SHA256.hex(secret)
        let stored = try database.writeAndWait { transaction in
            try transaction.connection.run(
                """
                INSERT INTO tokens(id, hash, organisation, scopes, clearance, created_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(hash) DO UPDATE SET organisation = excluded.organisation, scopes = excluded.scopes,
                    clearance = excluded.clearance, version = tokens.version + 1 WHERE tokens.revoked_at IS NULL
                """,
                [.text(record.id), .text(hash), .text(organisation), .text(Self.encode(scopes)), .text(clearance.rawValue),
                 .integer(record.createdAt.milliseconds)]) > 0
        }
        guard stored else { throw TokenRefusal.revoked(id: record.id) }
        try replicate(record.id)
        return record
    }

    /// The live token whose secret is `secret`, or `nil` when unknown or revoked.
    public func authenticate(secret: String) throws -> TokenRecord? {
        try authenticate(hash: SHA256.hex(secret))
    }

    /// The live token whose secret hashes (SHA-256, lowercase hex) to `hash`, or `nil`.
    public func authenticate(hash: String) throws -> TokenRecord? {
        try database.read { transaction in
            try transaction.connection.query(
                "SELECT id, organisation, scopes, clearance, created_at, revoked_at FROM tokens WHERE hash = ? AND revoked_at IS NULL",
                [.text(hash)]
            ).first.map(Self.record)
        }
    }

    /// What registering the bootstrap token did.
    public enum BootstrapOutcome: Sendable, Equatable {
        /// The token was new and is now stored.
        case created(TokenRecord)
        /// The token was already live; its organisation, scopes and clearance are refreshed.
        case refreshed(TokenRecord)
        /// The token was revoked and stays revoked: a secret in the environment never revives it.
        case revoked(id: String)
    }

    /// Stores the bootstrap token whose secret is `secret` unless it was revoked: unlike
    /// `register`, a revoked token is left revoked.
    public func registerBootstrap(secret: String, organisation: String, scopes: Set<Scope>, clearance: Confidentiality) throws -> BootstrapOutcome {
        let hash = SHA256.hex(secret)
        let existing = try database.read { transaction in
            try transaction.connection.query("SELECT id, revoked_at FROM tokens WHERE hash = ?", [.text(hash)]).first
                .map { (id: $0.text(0) ?? "", revoked: $0.int(1) != nil) }
        }
        if let existing, existing.revoked { return .revoked(id: existing.id) }
        let record = TokenRecord(
            id: "tok_" + String(hash.prefix(16)), organisation: organisation, scopes: scopes, clearance: clearance, createdAt: .now())
        let stored = try database.writeAndWait { transaction in
            // Never touches a revoked row, even one revoked since the read above.
            try transaction.connection.run(
                """
                INSERT INTO tokens(id, hash, organisation, scopes, clearance, created_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(hash) DO UPDATE SET organisation = excluded.organisation, scopes = excluded.scopes,
                    clearance = excluded.clearance, version = tokens.version + 1 WHERE tokens.revoked_at IS NULL
                """,
                [.text(record.id), .text(hash), .text(organisation), .text(Self.encode(scopes)), .text(clearance.rawValue),
                 .integer(record.createdAt.milliseconds)]) > 0
        }
        guard stored else { return .revoked(id: record.id) }
        try replicate(record.id)
        return existing == nil ? .created(record) : .refreshed(record)
    }

    /// Every token, newest first, revoked ones included.
    public func list() throws -> [TokenRecord] {
        try database.read { transaction in
            try transaction.connection.query(
                "SELECT id, organisation, scopes, clearance, created_at, revoked_at FROM tokens ORDER BY created_at DESC"
            ).map(Self.record)
        }
    }

    /// Revokes the token `id`; `false` when there is no live token with that id.
    public func revoke(id: String) throws -> Bool {
        let revoked = try database.writeAndWait { transaction in
            try transaction.connection.run(
                "UPDATE tokens SET revoked_at = ?, version = version + 1 WHERE id = ? AND revoked_at IS NULL",
                [.integer(Timestamp.now().milliseconds), .text(id)]) > 0
        }
        if revoked { try replicate(id) }
        return revoked
    }

    private static let columns = ["id", "hash", "organisation", "scopes", "clearance", "created_at", "revoked_at", "version"]

    /// Publishes token `id`'s row to the feed, if there is one.
    private func replicate(_ id: String) throws {
        guard let feed else { return }
        let row = try database.read { transaction in
            try transaction.connection.query("SELECT \(Self.columns.joined(separator: ", ")) FROM tokens WHERE id = ?", [.text(id)]).first
        }
        guard let row else { return }
        var w = JSONWriter()
        w.beginObject()
        for (index, column) in Self.columns.enumerated() where !(row.text(index) == nil && row.int(index) == nil) {
            w.key(column)
            if column.hasSuffix("_at") || column == "version" { w.integer(row.int(index) ?? 0) } else { w.string(row.text(index) ?? "") }
        }
        w.endObject()
        try feed.publish(key: id, value: w.bytes)
    }

    /// Makes token `id` what `row` says (as another process published it), unless this process
    /// holds a later version of it, or holds it revoked and `row` does not (revocation is
    /// final: a stale record read again never revives a token); the feed is not written again.
    /// A record from before versions counts as version 1.
    public func applyReplica(id: String, row: [UInt8]?) throws {
        guard let row else {
            _ = try database.writeAndWait { try $0.connection.run("DELETE FROM tokens WHERE id = ?", [.text(id)]) }
            return
        }
        guard case .object(let fields) = try JSONParser.parse(row) else { throw StoreError.corrupt("a token replica that is not an object") }
        var read: [SQLiteValue] = []
        for column in Self.columns {
            switch fields[column] {
            case .string(let text)?: read.append(.text(text))
            case .number(let number)?:
                // A number from the topic is never trusted to fit: 1e19 is refused, not trapped on.
                guard let whole = JSONValue.exactInt64(number) else {
                    throw StoreError.corrupt("a token replica whose \(column) is not a whole number within ±2^53")
                }
                read.append(.integer(whole))
            default: read.append(.null)
            }
        }
        if case .null = read[7] { read[7] = .integer(1) }
        let values = read
        _ = try database.writeAndWait { transaction in
            let db = transaction.connection
            if let local = try db.query("SELECT version, revoked_at FROM tokens WHERE id = ? OR hash = ?", [values[0], values[1]]).first {
                let incomingVersion: Int64 = if case .integer(let v) = values[7] { v } else { 1 }
                let incomingRevoked: Bool = if case .null = values[6] { false } else { true }
                if (local.int(0) ?? 1) > incomingVersion || (local.int(1) != nil && !incomingRevoked) { return }
            }
            try db.run("DELETE FROM tokens WHERE id = ? OR hash = ?", [values[0], values[1]])
            try db.run("INSERT INTO tokens(\(Self.columns.joined(separator: ", "))) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values)
        }
    }

    /// Empties the table before it is filled again from the feed.
    public func clearReplica() throws {
        _ = try database.writeAndWait { try $0.connection.run("DELETE FROM tokens") }
    }

    private static func encode(_ scopes: Set<Scope>) -> String { scopes.map(\.rawValue).sorted().joined(separator: " ") }

    private static func record(_ row: SQLiteRow) -> TokenRecord {
        TokenRecord(
            id: row.text(0) ?? "", organisation: row.text(1) ?? "",
            scopes: Set((row.text(2) ?? "").split(separator: " ").compactMap { Scope(rawValue: String($0)) }),
            clearance: Confidentiality(rawValue: row.text(3) ?? "") ?? .public,
            createdAt: Timestamp(milliseconds: row.int(4) ?? 0),
            revokedAt: row.int(5).map { Timestamp(milliseconds: $0) })
    }
}
