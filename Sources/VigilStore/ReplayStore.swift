import Foundation
import Synchronization
import VigilCore

/// The `replays` table: each replay's request and progress, saved after every batch so a
/// replay interrupted by a restart resumes where it stopped.
///
/// With a feed (the Kafka backend's compacted `vigil.replays`), every save is also published
/// with the id of the process that runs the replay, every process fills its table from the
/// feed (so any of them shows any replay's progress), and only the owner resumes it.
public final class ReplayStore: Sendable {
    private let database: Database
    private let feed: (any ReplicationFeed)?
    /// The process that runs the replays saved here (its id, kept in its data directory).
    private let owner: String
    /// The process that runs each replay, by replay id.
    private let owners = Mutex<[String: String]>([:])

    /// The replays kept in `database`; with `feed`, shared as above, `owner` naming this process.
    public init(database: Database, feed: (any ReplicationFeed)? = nil, owner: String = "local") {
        self.database = database
        self.feed = feed
        self.owner = owner
    }

    /// Inserts or updates `progress`.
    public func save(_ progress: ReplayProgress) throws {
        try store(progress)
        owners.withLock { $0[progress.id] = owner }
        guard let feed else { return }
        var w = JSONWriter()
        w.beginObject()
        w.field("owner", owner)
        w.key("progress")
        w.endObject()
        let value = Array(w.bytes.dropLast()) + Array(try VigilJSON.encode(progress)) + [UInt8(ascii: "}")]
        try feed.publish(key: progress.id, value: value)
    }

    /// Makes replay `id` what another process published; an older state than the one held
    /// here is ignored.
    public func applyReplica(id: String, value: [UInt8]?) throws {
        guard let value else { return }
        struct Shared: Decodable { let owner: String; let progress: ReplayProgress }
        let shared = try VigilJSON.decoder().decode(Shared.self, from: Data(value))
        if let held = try replay(id: id), held.updatedAt > shared.progress.updatedAt { return }
        try store(shared.progress)
        owners.withLock { $0[id] = shared.owner }
    }

    /// Empties the table before it is filled again from the feed.
    public func clearReplica() throws {
        _ = try database.writeAndWait { try $0.connection.run("DELETE FROM replays") }
        owners.withLock { $0.removeAll() }
    }

    private func store(_ progress: ReplayProgress) throws {
        let body = String(decoding: try VigilJSON.encode(progress), as: UTF8.self)
        _ = try database.writeAndWait { transaction in
            try transaction.connection.run(
                """
                INSERT INTO replays(id, body, state, cursor, scanned, alerts, deliveries, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET body = excluded.body, state = excluded.state, cursor = excluded.cursor,
                    scanned = excluded.scanned, alerts = excluded.alerts, deliveries = excluded.deliveries, updated_at = excluded.updated_at
                """,
                [
                    .text(progress.id), .text(body), .text(progress.state.rawValue), .integer(progress.cursor), .integer(Int64(progress.scanned)),
                    .integer(Int64(progress.alerts)), .integer(Int64(progress.deliveries)), .integer(progress.createdAt.milliseconds),
                    .integer(progress.updatedAt.milliseconds),
                ])
        }
    }

    /// The replay `id`.
    public func replay(id: String) throws -> ReplayProgress? {
        try decode(database.read { try $0.connection.query("SELECT body FROM replays WHERE id = ?", [.text(id)]) }).first
    }

    /// Replays still `running` that this process runs (after a restart: the ones to resume).
    public func running() throws -> [ReplayProgress] {
        let all = try decode(database.read { try $0.connection.query("SELECT body FROM replays WHERE state = 'running' ORDER BY created_at") })
        guard feed != nil else { return all }
        return owners.withLock { owners in all.filter { owners[$0.id] == owner } }
    }

    private func decode(_ rows: [SQLiteRow]) throws -> [ReplayProgress] {
        try rows.map { row in
            guard let body = row.text(0) else { throw StoreError.corrupt("a replay row without a body") }
            return try VigilJSON.decoder().decode(ReplayProgress.self, from: Data(body.utf8))
        }
    }
}
