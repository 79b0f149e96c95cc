import Foundation
import Synchronization
import VigilCore

/// Subscribers and their webhook secrets, kept in the `subscribers` and `channel_secrets`
/// tables (the secrets sealed, see `SecretSeal`), with the routing index rebuilt only when a
/// subscriber changes.
public final class SubscriberRegistry: SubscriberDirectory, Sendable {
    private let database: Database
    private let seal: SecretSeal
    private let caches = Mutex(Caches())
    /// Held while the index is built: one build at a time, the others wait for its result.
    /// It guards no state of its own (the result goes to `caches`).
    private let building = Mutex(())
    private let feed: (any ReplicationFeed)?

    /// What is kept in memory, dropped together on any change.
    private struct Caches {
        var index: SubscriptionIndex?
        /// Bumped whenever the index is dropped, so a build that read the table before a change
        /// does not keep its stale result.
        var indexGeneration: UInt64 = 0
        var secrets: [String: (secrets: [String], until: Int64)] = [:]
        var disabled: [String: String]?
    }

    /// The registry kept in `database`, sealing webhook secrets with `seal`; with `feed`,
    /// every change is also published there (a subscriber's whole state under its id), and
    /// the tables are a cache that `applyReplica` fills from what the feed holds.
    public init(database: Database, seal: SecretSeal, feed: (any ReplicationFeed)? = nil) {
        self.database = database
        self.seal = seal
        self.feed = feed
    }

    /// The current routing index; cheap unless a subscriber changed since the last call.
    ///
    /// Built by one caller at a time: when 32 send slots asked at once after a start, each
    /// read and decoded all 10,000 subscribers, and the process jumped from 38 to 110 MB.
    public func index() throws -> SubscriptionIndex {
        if let cached = caches.withLock({ $0.index }) { return cached }
        return try building.withLock { _ in
            let (cached, generation) = caches.withLock { ($0.index, $0.indexGeneration) }
            if let cached { return cached }  // built while this caller waited
            let index = SubscriptionIndex(try list())
            caches.withLock { if $0.indexGeneration == generation { $0.index = index } }
            return index
        }
    }

    /// Every subscriber, by id.
    public func list() throws -> [Subscriber] {
        try database.read { transaction in
            try transaction.connection.query("SELECT body FROM subscribers ORDER BY id").map { row in
                try VigilJSON.decode(Subscriber.self, from: Data(row.blob(0) ?? []))
            }
        }
    }

    /// The subscriber `id`, or `nil`; served from the routing index kept in memory.
    public func subscriber(id: String) throws -> Subscriber? {
        try index().subscriber(id: id)
    }

    /// Stores `subscriber` (new or replacing the one with its id) with `secrets` for new
    /// webhook channels; secrets of channels it no longer has are deleted.
    public func save(_ subscriber: Subscriber, newSecrets secrets: [String: String]) throws {
        let body = Array(try VigilJSON.encode(subscriber))
        let now = Timestamp.now().milliseconds
        let channelIDs = subscriber.channels.map(\.id)
        let sealed = try secrets.map { channelID, secret in (channelID, try seal.seal(secret, context: channelID)) }
        _ = try database.writeAndWait { transaction in
            let db = transaction.connection
            // updated_at only grows, so a replica can tell a later state from an earlier one.
            try db.run(
                "INSERT INTO subscribers(id, body, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET body = excluded.body, updated_at = MAX(excluded.updated_at, subscribers.updated_at + 1)",
                [.text(subscriber.id), .blob(body), .integer(now), .integer(now)])
            for (channelID, secret) in sealed {
                try db.run("INSERT INTO channel_secrets(channel_id, subscriber_id, secret) VALUES (?, ?, ?)", [.text(channelID), .text(subscriber.id), .text(secret)])
            }
            let kept = Set(channelIDs)
            for row in try db.query("SELECT channel_id FROM channel_secrets WHERE subscriber_id = ?", [.text(subscriber.id)]) {
                if let id = row.text(0), !kept.contains(id) { try db.run("DELETE FROM channel_secrets WHERE channel_id = ?", [.text(id)]) }
            }
        }
        invalidate()
        try replicate(subscriber.id)
    }

    /// Stores many subscribers in one transaction (seeding, benchmarks); no secrets.
    public func saveAll(_ subscribers: [Subscriber]) throws {
        let bodies = try subscribers.map { ($0.id, Array(try VigilJSON.encode($0))) }
        let now = Timestamp.now().milliseconds
        _ = try database.writeAndWait { transaction in
            for (id, body) in bodies {
                try transaction.connection.run(
                    "INSERT INTO subscribers(id, body, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
                    [.text(id), .blob(body), .integer(now), .integer(now)])
            }
        }
        invalidate()
        for subscriber in subscribers { try replicate(subscriber.id) }
    }

    /// Deletes the subscriber `id` and its secrets; `false` when there was none. Its past
    /// deliveries stay, as the record of who was told.
    public func delete(id: String) throws -> Bool {
        let removed = try database.writeAndWait { transaction in
            let count = try transaction.connection.run("DELETE FROM subscribers WHERE id = ?", [.text(id)])
            try transaction.connection.run("DELETE FROM channel_secrets WHERE subscriber_id = ?", [.text(id)])
            return count > 0
        }
        invalidate()
        if removed { try feed?.publish(key: id, value: nil) }
        return removed
    }

    /// The signing secrets of a webhook channel: the current one first, then one being
    /// rotated out.
    public func secrets(channelID: String) throws -> [String] {
        let now = Timestamp.now().milliseconds
        if let cached = caches.withLock({ $0.secrets[channelID] }), cached.until > now { return cached.secrets }
        let cutoff = now - Self.rotationOverlapMilliseconds
        let (stored, rotatedAt) = try database.read { transaction -> ([String], Int64?) in
            guard let row = try transaction.connection.query("SELECT secret, previous_secret, rotated_at FROM channel_secrets WHERE channel_id = ?", [.text(channelID)]).first else { return ([], nil) }
            let previous = (row.int(2) ?? 0) > cutoff ? row.text(1) : nil
            return ([row.text(0), previous].compactMap { $0 }, row.int(2))
        }
        let secrets = stored.compactMap { seal.open($0, context: channelID) }
        // Cached until the previous secret would expire (or a minute), and dropped on any change.
        let until = min(now + 60_000, rotatedAt.map { $0 + Self.rotationOverlapMilliseconds } ?? Int64.max)
        caches.withLock { $0.secrets[channelID] = (secrets, until) }
        return secrets
    }

    /// How long a rotated-out secret still signs, so receivers can switch without a gap.
    public static let rotationOverlapMilliseconds: Int64 = 24 * 3600 * 1000

    /// Replaces the channel's secret with `newSecret`; the old one keeps signing (as a second
    /// signature) for `rotationOverlapMilliseconds`. `false` when the channel has no secret.
    public func rotate(channelID: String, newSecret: String) throws -> Bool {
        let sealed = try seal.seal(newSecret, context: channelID)
        let owner = try database.writeAndWait { transaction -> String? in
            let db = transaction.connection
            guard try db.run(
                "UPDATE channel_secrets SET previous_secret = secret, secret = ?, rotated_at = ? WHERE channel_id = ?",
                [.text(sealed), .integer(Timestamp.now().milliseconds), .text(channelID)]) > 0
            else { return nil }
            let owner = try db.query("SELECT subscriber_id FROM channel_secrets WHERE channel_id = ?", [.text(channelID)]).first?.text(0)
            if let owner { try Self.touch(owner, in: db) }
            return owner
        }
        invalidate()
        if let owner { try replicate(owner) }
        return owner != nil
    }

    public func disabledReason(channelID: String) throws -> String? {
        // The whole table in memory (it only grows when an endpoint answers 410), instead of a
        // read per delivery on the workers' path.
        if let cached = caches.withLock({ $0.disabled }) { return cached[channelID] }
        let all = try database.read { transaction in
            Dictionary(try transaction.connection.query("SELECT channel_id, reason FROM disabled_channels").compactMap { row in
                row.text(0).map { ($0, row.text(1) ?? "") }
            }, uniquingKeysWith: { first, _ in first })
        }
        caches.withLock { $0.disabled = all }
        return all[channelID]
    }

    public func disable(channelID: String, reason: String) throws {
        let owner = try index().subscribers.first(where: { $0.channels.contains { $0.id == channelID } })?.id
        _ = try database.writeAndWait { transaction in
            try transaction.connection.run(
                "INSERT INTO disabled_channels(channel_id, reason, disabled_at) VALUES (?, ?, ?) ON CONFLICT(channel_id) DO NOTHING",
                [.text(channelID), .text(reason), .integer(Timestamp.now().milliseconds)])
            if let owner { try Self.touch(owner, in: transaction.connection) }
        }
        invalidate()
        if let owner { try replicate(owner) }
    }

    /// Moves subscriber `id`'s `updated_at` past its last value: a change to its secrets or
    /// channels is a new state of the subscriber, which replicas must not take for an old one.
    private static func touch(_ id: String, in db: SQLiteConnection) throws {
        try db.run("UPDATE subscribers SET updated_at = MAX(updated_at + 1, ?) WHERE id = ?", [.integer(Timestamp.now().milliseconds), .text(id)])
    }

    /// Whether no subscriber exists yet (for seeding from `config/subscribers.json`).
    public func isEmpty() throws -> Bool {
        try database.read { try $0.connection.query("SELECT 1 FROM subscribers LIMIT 1").isEmpty }
    }

    private func invalidate() {
        caches.withLock { caches in
            caches.index = nil
            caches.indexGeneration += 1
            caches.secrets.removeAll()
            caches.disabled = nil
        }
    }

    // MARK: Replication

    /// Publishes the whole state of subscriber `id` (its body, sealed secrets and disabled
    /// channels) to the feed, if there is one.
    private func replicate(_ id: String) throws {
        guard let feed else { return }
        try feed.publish(key: id, value: try snapshot(id))
    }

    /// The state of subscriber `id` as one JSON document, or `nil` when it does not exist.
    func snapshot(_ id: String) throws -> [UInt8]? {
        try database.read { transaction in
            let db = transaction.connection
            guard let row = try db.query("SELECT body, created_at, updated_at FROM subscribers WHERE id = ?", [.text(id)]).first else { return nil }
            var w = JSONWriter()
            w.beginObject()
            w.field("body", String(decoding: row.blob(0) ?? [], as: UTF8.self))
            w.key("created_at")
            w.integer(row.int(1) ?? 0)
            w.key("disabled")
            w.beginArray()
            let subscriber = try VigilJSON.decode(Subscriber.self, from: Data(row.blob(0) ?? []))
            for channel in subscriber.channels {
                for d in try db.query("SELECT reason, disabled_at FROM disabled_channels WHERE channel_id = ?", [.text(channel.id)]) {
                    w.beginObject()
                    w.field("at", String(d.int(1) ?? 0))
                    w.field("channel_id", channel.id)
                    w.field("reason", d.text(0) ?? "")
                    w.endObject()
                }
            }
            w.endArray()
            w.key("secrets")
            w.beginArray()
            for secret in try db.query("SELECT channel_id, secret, previous_secret, rotated_at FROM channel_secrets WHERE subscriber_id = ?", [.text(id)]) {
                w.beginObject()
                w.field("channel_id", secret.text(0) ?? "")
                w.field("previous_secret", secret.text(2))
                w.field("rotated_at", secret.int(3).map(String.init))
                w.field("secret", secret.text(1) ?? "")
                w.endObject()
            }
            w.endArray()
            w.key("updated_at")
            w.integer(row.int(2) ?? 0)
            w.endObject()
            return w.bytes
        }
    }

    /// Makes subscriber `id` what `snapshot` says (as another process published it), or
    /// deletes it when `snapshot` is `nil`; the feed is not written again.
    public func applyReplica(id: String, snapshot: [UInt8]?) throws {
        var fields: [String: JSONValue]?
        if let snapshot {
            guard case .object(let object) = try JSONParser.parse(snapshot) else { throw StoreError.corrupt("a subscriber snapshot that is not an object") }
            fields = object
        }
        let parsed = fields
        _ = try database.writeAndWait { transaction in
            let db = transaction.connection
            if let fields = parsed, case .number(let incoming)? = fields["updated_at"],
                let local = try db.query("SELECT updated_at FROM subscribers WHERE id = ?", [.text(id)]).first?.int(0), local > (JSONValue.exactInt64(incoming) ?? Int64.max) {
                return  // this process already holds a later change (its own, not yet read back)
            }
            try db.run("DELETE FROM channel_secrets WHERE subscriber_id = ?", [.text(id)])
            guard let fields = parsed else {
                try db.run("DELETE FROM subscribers WHERE id = ?", [.text(id)])
                return
            }
            func text(_ value: JSONValue?) -> String? { if case .string(let s)? = value { return s } else { return nil } }
            func number(_ value: JSONValue?) -> Int64? {
                if case .number(let n)? = value { return JSONValue.exactInt64(n) }  // 1e19 from the topic reads as absent, never traps
                return text(value).flatMap { Int64($0) }
            }
            try db.run(
                "INSERT INTO subscribers(id, body, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
                [.text(id), .blob(Array((text(fields["body"]) ?? "").utf8)), .integer(number(fields["created_at"]) ?? 0), .integer(number(fields["updated_at"]) ?? 0)])
            if case .array(let secrets)? = fields["secrets"] {
                for case .object(let secret) in secrets {
                    try db.run(
                        "INSERT INTO channel_secrets(channel_id, subscriber_id, secret, previous_secret, rotated_at) VALUES (?, ?, ?, ?, ?)",
                        [.text(text(secret["channel_id"]) ?? ""), .text(id), .text(text(secret["secret"]) ?? ""),
                         text(secret["previous_secret"]).map { .text($0) } ?? .null, number(secret["rotated_at"]).map { .integer($0) } ?? .null])
                }
            }
            if case .array(let disabled)? = fields["disabled"] {
                for case .object(let channel) in disabled {
                    try db.run(
                        "INSERT INTO disabled_channels(channel_id, reason, disabled_at) VALUES (?, ?, ?) ON CONFLICT(channel_id) DO NOTHING",
                        [.text(text(channel["channel_id"]) ?? ""), .text(text(channel["reason"]) ?? ""), .integer(number(channel["at"]) ?? 0)])
                }
            }
        }
        invalidate()
    }

    /// Empties the tables before they are filled again from the feed (a process of the
    /// Kafka backend starts from what the cluster holds, not from an old cache).
    public func clearReplica() throws {
        _ = try database.writeAndWait { transaction in
            for table in ["subscribers", "channel_secrets", "disabled_channels"] { try transaction.connection.run("DELETE FROM \(table)") }
        }
        invalidate()
    }
}
