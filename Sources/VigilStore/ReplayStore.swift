import Foundation
import VigilCore

/// The `replays` table: each replay's request and progress, saved after every batch so a
/// replay interrupted by a restart resumes where it stopped.
public final class ReplayStore: Sendable {
    private let database: Database

    /// The replays kept in `database`.
    public init(database: Database) { self.database = database }

    /// Inserts or updates `progress`.
    public func save(_ progress: ReplayProgress) throws {
        let body = String(decoding: try VigilJSON.encode(progress), as: UTF8.self)
        try database.writeAndWait { transaction in
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

    /// Replays still `running` (after a restart: the ones to resume).
    public func running() throws -> [ReplayProgress] {
        try decode(database.read { try $0.connection.query("SELECT body FROM replays WHERE state = 'running' ORDER BY created_at") })
    }

    private func decode(_ rows: [SQLiteRow]) throws -> [ReplayProgress] {
        try rows.map { row in
            guard let body = row.text(0) else { throw StoreError.corrupt("a replay row without a body") }
            return try VigilJSON.decoder().decode(ReplayProgress.self, from: Data(body.utf8))
        }
    }
}
