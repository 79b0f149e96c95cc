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

    /// Stores a token whose secret is `secret` and returns its record.
    @discardableResult
    public func register(secret: String, organisation: String, scopes: Set<Scope>, clearance: Confidentiality) throws -> TokenRecord {
        let record = TokenRecord(
            id: "tok_" + String(SHA256.hex(secret).prefix(16)), organisation: organisation, scopes: scopes,
            clearance: clearance, createdAt: .now())
        let hash = SHA256.hex(secret)
        _ = try database.writeAndWait { transaction in
            try transaction.connection.run(
                """
                INSERT INTO tokens(id, hash, organisation, scopes, clearance, created_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(hash) DO UPDATE SET organisation = excluded.organisation, scopes = excluded.scopes,
                    clearance = excluded.clearance, revoked_at = NULL
                """,
                [.text(record.id), .text(hash), .text(organisation), .text(Self.encode(scopes)), .text(clearance.rawValue),
                 .integer(record.createdAt.milliseconds)])
        }
        try replicate(record.id)
        return record
    }

    /// The live token whose secret is `secret`, or `nil` when unknown or revoked.
    public func authenticate(secret: String) throws -> TokenRecord? {
        let hash = SHA256.hex(secret)
        return try database.read { transaction in
            try transaction.connection.query(
                "SELECT id, organisation, scopes, clearance, created_at, revoked_at FROM tokens WHERE hash = ? AND revoked_at IS NULL",
                [.text(hash)]
            ).first.map(Self.record)
        }
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
                "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                [.integer(Timestamp.now().milliseconds), .text(id)]) > 0
        }
        if revoked { try replicate(id) }
        return revoked
    }

    private static let columns = ["id", "hash", "organisation", "scopes", "clearance", "created_at", "revoked_at"]

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
            if column.hasSuffix("_at") { w.integer(row.int(index) ?? 0) } else { w.string(row.text(index) ?? "") }
        }
        w.endObject()
        try feed.publish(key: id, value: w.bytes)
    }

    /// Makes token `id` what `row` says (as another process published it); the feed is not
    /// written again.
    public func applyReplica(id: String, row: [UInt8]?) throws {
        guard let row else {
            _ = try database.writeAndWait { try $0.connection.run("DELETE FROM tokens WHERE id = ?", [.text(id)]) }
            return
        }
        guard case .object(let fields) = try JSONParser.parse(row) else { throw StoreError.corrupt("a token replica that is not an object") }
        let values: [SQLiteValue] = Self.columns.map { column in
            switch fields[column] {
            case .string(let text)?: .text(text)
            case .number(let number)?: .integer(Int64(number))
            default: .null
            }
        }
        _ = try database.writeAndWait { transaction in
            try transaction.connection.run("DELETE FROM tokens WHERE id = ? OR hash = ?", [values[0], values[1]])
            try transaction.connection.run("INSERT INTO tokens(\(Self.columns.joined(separator: ", "))) VALUES (?, ?, ?, ?, ?, ?, ?)", values)
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
