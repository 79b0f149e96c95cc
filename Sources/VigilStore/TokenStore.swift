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

    /// Tokens kept in `database`.
    public init(database: Database) { self.database = database }

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
        try database.writeAndWait { transaction in
            try transaction.connection.run(
                "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                [.integer(Timestamp.now().milliseconds), .text(id)]) > 0
        }
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
