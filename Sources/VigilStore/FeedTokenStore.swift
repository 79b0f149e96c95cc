import VigilCore
import VigilCrypto

/// The `feed_tokens` table: each subscriber's secret feed token (issue 21), the token that
/// stands in a feed URL because feed readers cannot send an `Authorization` header.
///
/// One token per subscriber, 32 random bytes in base64url, stored only as its SHA-256 and
/// shown once, when made; making a new one replaces the old in the same write, so a rotated
/// URL stops working at once. On Kafka each change is published to `vigil.feeds` under the
/// subscriber's id (the hash only), like the bearer tokens.
public final class FeedTokenStore: Sendable {
    /// Random bytes in a feed token.
    public static let secretBytes = 32

    private let database: Database
    private let feed: (any ReplicationFeed)?

    /// Feed tokens kept in `database`; with `feed`, every change is also published there and
    /// `applyReplica` fills the table from what the feed holds.
    public init(database: Database, feed: (any ReplicationFeed)? = nil) {
        self.database = database
        self.feed = feed
    }

    /// Makes a new feed token for `subscriberID`, replacing any earlier one, and returns its
    /// secret: the only time it is ever seen.
    public func rotate(subscriberID: String, now: Timestamp = .now()) throws -> String {
        let secret = Base64.encode(SecureRandom.bytes(Self.secretBytes), urlSafe: true)
        let hash = SHA256.hex(secret)
        _ = try database.writeAndWait { transaction in
            try transaction.connection.run(
                """
                INSERT INTO feed_tokens(subscriber_id, hash, created_at) VALUES (?, ?, ?)
                ON CONFLICT(subscriber_id) DO UPDATE SET hash = excluded.hash, created_at = excluded.created_at
                """,
                [.text(subscriberID), .text(hash), .integer(now.milliseconds)])
        }
        try feed?.publish(key: subscriberID, value: Self.encode(subscriberID: subscriberID, hash: hash, createdAt: now.milliseconds))
        return secret
    }

    /// The subscriber whose live feed token is `secret`, or `nil` for an unknown or replaced
    /// one. The lookup is by the secret's hash; text that cannot be a token is not looked up.
    public func subscriberID(forSecret secret: String) throws -> String? {
        guard secret.utf8.count <= 128, !secret.isEmpty else { return nil }
        let hash = SHA256.hex(secret)
        return try database.read { transaction in
            try transaction.connection.query("SELECT subscriber_id FROM feed_tokens WHERE hash = ?", [.text(hash)]).first?.text(0)
        }
    }

    /// When `subscriberID`'s current feed token was made, or `nil` when it has none.
    public func createdAt(subscriberID: String) throws -> Timestamp? {
        try database.read { transaction in
            try transaction.connection.query("SELECT created_at FROM feed_tokens WHERE subscriber_id = ?", [.text(subscriberID)]).first?.int(0)
                .map { Timestamp(milliseconds: $0) }
        }
    }

    /// Removes `subscriberID`'s feed token (its URL stops working); `false` when it had none.
    @discardableResult
    public func revoke(subscriberID: String) throws -> Bool {
        let removed = try database.writeAndWait { transaction in
            try transaction.connection.run("DELETE FROM feed_tokens WHERE subscriber_id = ?", [.text(subscriberID)]) > 0
        }
        if removed { try feed?.publish(key: subscriberID, value: nil) }
        return removed
    }

    /// Makes `subscriberID`'s token what `value` says (as another process published it), or
    /// removes it for a tombstone; the feed is not written again.
    public func applyReplica(subscriberID: String, value: [UInt8]?) throws {
        guard let value else {
            _ = try database.writeAndWait { try $0.connection.run("DELETE FROM feed_tokens WHERE subscriber_id = ?", [.text(subscriberID)]) }
            return
        }
        guard case .object(let fields) = try JSONParser.parse(value),
            case .string(let hash)? = fields["hash"], hash.utf8.count == 64, hash.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
            case .number(let number)? = fields["created_at"], let createdAt = JSONValue.exactInt64(number)
        else { throw StoreError.corrupt("a feed-token replica without a SHA-256 hash and a whole created_at") }
        _ = try database.writeAndWait { transaction in
            try transaction.connection.run("DELETE FROM feed_tokens WHERE subscriber_id = ? OR hash = ?", [.text(subscriberID), .text(hash)])
            try transaction.connection.run(
                "INSERT INTO feed_tokens(subscriber_id, hash, created_at) VALUES (?, ?, ?)", [.text(subscriberID), .text(hash), .integer(createdAt)])
        }
    }

    /// Empties the table before it is filled again from the feed.
    public func clearReplica() throws {
        _ = try database.writeAndWait { try $0.connection.run("DELETE FROM feed_tokens") }
    }

    private static func encode(subscriberID: String, hash: String, createdAt: Int64) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("created_at")
        w.integer(createdAt)
        w.field("hash", hash)
        w.field("subscriber_id", subscriberID)
        w.endObject()
        return w.bytes
    }
}
