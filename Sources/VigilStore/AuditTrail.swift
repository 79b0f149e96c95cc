import Foundation
import Synchronization
import VigilConcurrency
import VigilCore

/// The audit trail in the embedded store: an append-only table read by `GET /v1/audit`.
///
/// `record` buffers entries and stores everything buffered as one job of the next group
/// commit: auditing every filing and every sensitive read costs neither an fsync nor a
/// write job (with its savepoint) of its own.
public final class AuditTrail: Sendable {
    private typealias Pending = (entries: [AuditEntry], completion: @Sendable (Error?) -> Void)

    private let database: Database
    private let feed: (any ReplicationFeed)?
    private let publishing = DispatchQueue(label: "vigil.audit.publish")
    private let state = Mutex(Buffer())

    /// Entries recorded and not yet taken by a flush.
    private struct Buffer {
        var pending: [Pending] = []
        var flushScheduled = false

        /// What is buffered, leaving the buffer empty for the next flush to schedule.
        mutating func take() -> [Pending] {
            flushScheduled = false
            defer { pending.removeAll() }
            return pending
        }
    }

    /// The trail kept in `database`; with `feed` (the Kafka backend's `vigil.audit`), entries
    /// are published there instead, and every process fills its table from the feed with
    /// `applyReplica`, so each one shows the whole deployment's trail.
    public init(database: Database, feed: (any ReplicationFeed)? = nil) {
        self.database = database
        self.feed = feed
    }

    /// Stores `entries` in the next commit; `completion` hears whether they were stored.
    ///
    /// With `withNextWrite`, for the entries every filing and read makes, they wait up to
    /// 50 ms for another write to ride with instead of costing a commit of their own.
    public func record(_ entries: [AuditEntry], withNextWrite: Bool = false, completion: @escaping @Sendable (Error?) -> Void = { _ in }) {
        guard !entries.isEmpty else { return completion(nil) }
        let schedule = state.withLock { state in
            state.pending.append((entries, completion))
            defer { state.flushScheduled = true }
            return !state.flushScheduled
        }
        guard schedule else { return }
        if let feed {
            publishing.async { [self] in
                let taken = state.withLock { $0.take() }
                let records = taken.flatMap(\.entries).map { (key: $0.tokenID, value: Optional(Array(Self.encode($0)))) }
                do {
                    try feed.publish(records)
                    for pending in taken { pending.completion(nil) }
                } catch {
                    for pending in taken { pending.completion(error) }
                }
            }
            return
        }
        // The callers waiting on this flush, set by the job and told after its commit.
        let waiting = Mutex<[@Sendable (Error?) -> Void]>([])
        let job: @Sendable (WriteTransaction) throws -> Void = { [self] transaction in
            // What was buffered until this job ran; later entries schedule the next job.
            let taken = state.withLock { $0.take() }
            waiting.withLock { $0 = taken.map(\.completion) }
            for entry in taken.flatMap(\.entries) { try AuditTrail.insert(entry, into: transaction) }
        }
        let told: @Sendable (Result<Void, Error>) -> Void = { result in
            let error: Error? = if case .failure(let error) = result { error } else { nil }
            for completion in waiting.withLock({ $0 }) { completion(error) }
        }
        if withNextWrite {
            database.writeWithNextBatch(within: 0.05, job, completion: told)
        } else {
            database.write(job, completion: told)
        }
    }

    /// Stores `entry` inside a write the caller is already making, so the change and its
    /// audit line commit together.
    public static func insert(_ entry: AuditEntry, into transaction: WriteTransaction) throws {
        try transaction.connection.run(
            "INSERT INTO audit(at, token_id, organisation, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
            [
                .integer(entry.at.milliseconds), .text(entry.tokenID), .text(entry.organisation), .text(entry.action.rawValue),
                .text(entry.target), .text(entry.detail),
            ])
    }

    /// An entry as the feed carries it (JSON; `seq` is each reader's own).
    static func encode(_ entry: AuditEntry) -> Data { (try? JSONEncoder().encode(entry)) ?? Data() }

    /// Appends an entry another process published (as `encode` wrote it) to this table, in
    /// the next group commit (entries keep the order they are applied in).
    public func applyReplica(_ value: [UInt8]) throws {
        let entry = try JSONDecoder().decode(AuditEntry.self, from: Data(value))
        database.write({ try AuditTrail.insert(entry, into: $0) }) { _ in }
    }

    /// Returns once every entry recorded so far has been published (with a feed); call
    /// before the process exits.
    public func waitForPublished() {
        BlockingPool.wait { (done: @escaping @Sendable () -> Void) in publishing.async { done() } }
    }

    /// Returns once every entry applied so far is committed.
    public func waitForReplica() throws { _ = try database.writeAndWait { _ in } }

    /// Empties the table before it is filled again from the feed.
    public func clearReplica() throws {
        _ = try database.writeAndWait { try $0.connection.run("DELETE FROM audit") }
    }

    /// Entries after `seq` (exclusive), oldest first, optionally of one `action`.
    public func entries(after seq: Int64 = 0, action: AuditAction? = nil, limit: Int = 100) throws -> [AuditEntry] {
        var sql = "SELECT seq, at, token_id, organisation, action, target, detail FROM audit WHERE seq > ?"
        var parameters: [SQLiteValue] = [.integer(seq)]
        if let action {
            sql += " AND action = ?"
            parameters.append(.text(action.rawValue))
        }
        sql += " ORDER BY seq LIMIT ?"
        parameters.append(.integer(Int64(max(0, limit))))
        return try read(sql, parameters)
    }

    /// Entries before `seq` (exclusive; `nil` for the newest), newest first, optionally of
    /// one `action`: the console's audit page reads the trail backwards.
    public func entries(before seq: Int64?, action: AuditAction? = nil, limit: Int = 100) throws -> [AuditEntry] {
        var sql = "SELECT seq, at, token_id, organisation, action, target, detail FROM audit WHERE seq < ?"
        var parameters: [SQLiteValue] = [.integer(seq ?? .max)]
        if let action {
            sql += " AND action = ?"
            parameters.append(.text(action.rawValue))
        }
        sql += " ORDER BY seq DESC LIMIT ?"
        parameters.append(.integer(Int64(max(0, limit))))
        return try read(sql, parameters)
    }

    private func read(_ sql: String, _ parameters: [SQLiteValue]) throws -> [AuditEntry] {
        try database.read { transaction in
            try transaction.connection.query(sql, parameters).map { row in
                guard let seq = row.int(0), let at = row.int(1), let actionText = row.text(4), let action = AuditAction(rawValue: actionText)
                else { throw StoreError.corrupt("an audit row this version cannot read") }
                return AuditEntry(
                    seq: seq, at: Timestamp(milliseconds: at), tokenID: row.text(2) ?? "", organisation: row.text(3) ?? "",
                    action: action, target: row.text(5) ?? "", detail: row.text(6) ?? "")
            }
        }
    }
}
