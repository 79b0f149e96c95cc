import Foundation
import VigilCore

/// The alert log of the embedded backend: the `alerts` table, offset = rowid.
///
/// An append answers only after its group commit; idempotency keys are checked and stored
/// in the same transaction as the alert, so a retry can never append twice.
public final class EmbeddedAlertLog: AlertLog, @unchecked Sendable {
    private let database: Database
    private let lock = NSLock()
    private var observers: [UInt64: @Sendable (LogOffset) -> Void] = [:]
    private var nextObserverID: UInt64 = 0

    /// The log kept in `database`.
    public init(database: Database) { self.database = database }

    public func append(
        _ alert: Alert, idempotency: IdempotencyClaim?,
        completion: @escaping @Sendable (Result<AppendReceipt, AlertLogError>) -> Void
    ) {
        let body = alert.jsonBytes()
        database.write({ transaction in
            try EmbeddedAlertLog.insert(alert, body: body, claim: idempotency, into: transaction.connection)
        }) { [weak self] result in
            switch result {
            case .success(let receipt):
                completion(.success(receipt))
                if !receipt.repeated { self?.notify(receipt.offset) }
            case .failure(let error as AlertLogError):
                completion(.failure(error))
            case .failure(let error as SQLiteError):
                completion(.failure(.unavailable(error.isStorageUnavailable ? "the data directory cannot be written (\(error.message))" : error.description)))
            case .failure(let error):
                completion(.failure(.unavailable(String(describing: error))))
            }
        }
    }

    static func insert(_ alert: Alert, body: [UInt8], claim: IdempotencyClaim?, into db: SQLiteConnection) throws -> AppendReceipt {
        if let claim {
            let rows = try db.query(
                "SELECT fingerprint, alert_id, log_offset FROM idempotency_keys WHERE organisation = ? AND key = ?",
                [.text(claim.organisation), .text(claim.key)])
            if let row = rows.first {
                guard row.text(0) == claim.fingerprint else { throw AlertLogError.idempotencyConflict(key: claim.key) }
                return AppendReceipt(id: row.text(1) ?? "", offset: row.int(2) ?? 0, repeated: true)
            }
        }
        try db.run(
            """
            INSERT INTO alerts(id, case_id, country, severity, threat, kind, status, received_at, body)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(alert.id), .text(alert.caseID), .text(alert.country.code), .text(alert.severity.rawValue),
                .text(alert.threat.rawValue), .text(alert.kind.rawValue), .text(alert.status.rawValue),
                .integer(alert.receivedAt.milliseconds), .blob(body),
            ])
        let offset = db.lastInsertRowID
        if let claim {
            try db.run(
                "INSERT INTO idempotency_keys(organisation, key, fingerprint, alert_id, log_offset, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [.text(claim.organisation), .text(claim.key), .text(claim.fingerprint), .text(alert.id), .integer(offset),
                 .integer(alert.receivedAt.milliseconds)])
        }
        return AppendReceipt(id: alert.id, offset: offset, repeated: false)
    }

    public func alert(id: String) throws -> StoredAlert? {
        try database.read { try Self.decode($0.connection.query("SELECT log_offset, body FROM alerts WHERE id = ?", [.text(id)])) }.first
    }

    public func alerts(matching query: AlertQuery) throws -> [StoredAlert] {
        var clauses: [String] = []
        var parameters: [SQLiteValue] = []
        if let from = query.fromOffset { clauses.append("log_offset >= ?"); parameters.append(.integer(from)) }
        if let to = query.toOffset { clauses.append("log_offset <= ?"); parameters.append(.integer(to)) }
        if let since = query.since { clauses.append("received_at >= ?"); parameters.append(.integer(since.milliseconds)) }
        if let until = query.until { clauses.append("received_at < ?"); parameters.append(.integer(until.milliseconds)) }
        if let country = query.country { clauses.append("country = ?"); parameters.append(.text(country.code)) }
        if let caseID = query.caseID { clauses.append("case_id = ?"); parameters.append(.text(caseID)) }
        let filter = clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
        parameters.append(.integer(Int64(max(0, query.limit))))
        let sql = "SELECT log_offset, body FROM alerts\(filter) ORDER BY log_offset LIMIT ?"
        return try database.read { try Self.decode($0.connection.query(sql, parameters)) }
    }

    public func lastOffset() throws -> LogOffset {
        try database.read { try $0.connection.query("SELECT COALESCE(MAX(log_offset), 0) FROM alerts").first?.int(0) ?? 0 }
    }

    public func observeAppends(_ handler: @escaping @Sendable (LogOffset) -> Void) -> AppendObservation {
        let id = lock.withLock {
            nextObserverID += 1
            observers[nextObserverID] = handler
            return nextObserverID
        }
        return AppendObservation { [weak self] in
            guard let self else { return }
            _ = self.lock.withLock { self.observers.removeValue(forKey: id) }
        }
    }

    private func notify(_ offset: LogOffset) {
        let handlers = lock.withLock { Array(observers.values) }
        for handler in handlers { handler(offset) }
    }

    private static func decode(_ rows: [SQLiteRow]) throws -> [StoredAlert] {
        let decoder = VigilJSON.decoder()
        return try rows.map { row in
            guard let offset = row.int(0), let body = row.blob(1) else { throw StoreError.corrupt("an alert row without offset or body") }
            return StoredAlert(offset: offset, alert: try decoder.decode(Alert.self, from: Data(body)))
        }
    }
}
