import Foundation
import Synchronization
import VigilCore

/// The alert log of the embedded backend: the `alerts` table, offset = rowid.
///
/// An append answers only after its group commit; idempotency keys are checked and stored
/// in the same transaction as the alert, so a retry can never append twice. The identity and
/// all free text (summary, public summary, region, links, tags) are sealed before they
/// reach the file (`IdentityVault`): the body column holds the `[erased]` view, and reads
/// put them back while the data key exists.
public final class EmbeddedAlertLog: AlertLog, Sendable {
    private let database: Database
    private let vault: IdentityVault
    private let state = Mutex(State())
    private static let recentCapacity = 512
    private let erasures = LogObservers<[String]>()
    private let appends = LogObservers<LogOffset>()

    private struct State {
        /// The newest appends as `alert(id:)` would read them back, kept as the `[erased]` view
        /// and the identity: the workers send each fresh alert right after its append, and
        /// reading it back meant a query, a JSON decode and an AES-GCM open on the critical
        /// path. Bounded, and an erasure drops its alerts from it.
        var recent: [String: (offset: LogOffset, view: Alert, identity: AlertIdentity)] = [:]
        var recentOrder: [String] = []
    }

    /// The log kept in `database`, sealing identities under data keys wrapped by
    /// `masterKey`. Throws `MasterKeyError.mismatch` when the store was sealed with
    /// another master key.
    public init(database: Database, masterKey: MasterKey) throws {
        self.database = database
        vault = try IdentityVault(database: database, masterKey: masterKey)
    }

    public func append(
        _ alert: Alert, idempotency: IdempotencyClaim?,
        completion: @escaping @Sendable (Result<AppendReceipt, AlertLogError>) -> Void
    ) {
        let sealed: (view: Alert, keyID: Int64, box: [UInt8])
        do {
            sealed = try vault.seal(alert)
        } catch {
            completion(.failure(.unavailable("the identity could not be sealed: \(error)")))
            return
        }
        let body = sealed.view.jsonBytes()
        let routing = RoutingColumn.encode(alert)
        database.write({ transaction in
            try EmbeddedAlertLog.insert(
                sealed.view, body: body, keyID: sealed.keyID, identity: sealed.box, routing: routing, claim: idempotency,
                into: transaction.connection)
        }) { [weak self] result in
            switch result {
            case .success(let receipt):
                if !receipt.repeated { self?.remember(receipt.offset, view: sealed.view, identity: alert.identity) }
                completion(.success(receipt))
                if !receipt.repeated { self?.notify(receipt.offset) }
            case .failure(let error):
                completion(.failure(Self.appendFailure(error)))
            }
        }
    }

    /// One transaction for the whole batch: each alert sealed under its own data key and
    /// inserted in order; an idempotency conflict refuses that alert alone (it is detected
    /// before anything of it is written), any other failure the whole batch.
    public func appendAll(
        _ entries: [(alert: Alert, idempotency: IdempotencyClaim?)],
        completion: @escaping @Sendable ([Result<AppendReceipt, AlertLogError>]) -> Void
    ) {
        guard !entries.isEmpty else { return completion([]) }
        var results = [Result<AppendReceipt, AlertLogError>?](repeating: nil, count: entries.count)
        var sealed: [(index: Int, view: Alert, identity: AlertIdentity, keyID: Int64, box: [UInt8], body: [UInt8], routing: String?, claim: IdempotencyClaim?)] = []
        for (index, entry) in entries.enumerated() {
            do {
                let (view, keyID, box) = try vault.seal(entry.alert)
                sealed.append((index, view, entry.alert.identity, keyID, box, view.jsonBytes(), RoutingColumn.encode(entry.alert), entry.idempotency))
            } catch {
                results[index] = .failure(.unavailable("the identity could not be sealed: \(error)"))
            }
        }
        let items = sealed, partial = results
        database.write({ transaction in
            try items.map { item -> Result<AppendReceipt, AlertLogError> in
                do {
                    return .success(try EmbeddedAlertLog.insert(
                        item.view, body: item.body, keyID: item.keyID, identity: item.box, routing: item.routing, claim: item.claim,
                        into: transaction.connection))
                } catch let refusal as AlertLogError {
                    return .failure(refusal)
                }
            }
        }) { [weak self] result in
            var answers = partial
            var newest: LogOffset = 0
            switch result {
            case .success(let receipts):
                for (item, receipt) in zip(items, receipts) {
                    answers[item.index] = receipt
                    if case .success(let stored) = receipt, !stored.repeated {
                        self?.remember(stored.offset, view: item.view, identity: item.identity)
                        newest = max(newest, stored.offset)
                    }
                }
            case .failure(let error):
                let failure = Self.appendFailure(error)
                for item in items { answers[item.index] = .failure(failure) }
            }
            completion(answers.map { $0 ?? .failure(.unavailable("no answer from the log")) })
            if newest > 0 { self?.notify(newest) }
        }
    }

    /// What a failed write means to the one who appended.
    static func appendFailure(_ error: any Error) -> AlertLogError {
        switch error {
        case let error as AlertLogError: error
        case let error as SQLiteError:
            .unavailable(error.isStorageUnavailable ? "the data directory cannot be written (\(error.message))" : error.description)
        default: .unavailable(String(describing: error))
        }
    }

    static func insert(
        _ alert: Alert, body: [UInt8], keyID: Int64, identity: [UInt8], routing: String? = nil, claim: IdempotencyClaim?,
        into db: SQLiteConnection
    ) throws -> AppendReceipt {
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
            INSERT INTO alerts(id, case_id, country, severity, threat, kind, status, received_at, body, key_id, identity, routing)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(alert.id), .text(alert.caseID), .text(alert.country.code), .text(alert.severity.rawValue),
                .text(alert.threat.rawValue), .text(alert.kind.rawValue), .text(alert.status.rawValue),
                .integer(alert.receivedAt.milliseconds), .blob(body), .integer(keyID), .blob(identity), routing.map { .text($0) } ?? .null,
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
        if let kept = state.withLock({ $0.recent[id] }) { return StoredAlert(offset: kept.offset, alert: kept.view.restoring(kept.identity)) }
        return try database.read { try decode($0.connection.query(Self.selection + " WHERE a.id = ?", [.text(id)])) }.first
    }

    public func alerts(matching query: AlertQuery) throws -> [StoredAlert] {
        let (filter, parameters) = Self.filter(query)
        let sql = Self.selection + filter + " ORDER BY a.log_offset LIMIT ?"
        return try database.read { try decode($0.connection.query(sql, parameters)) }
    }

    public func routingViews(matching query: AlertQuery) throws -> [StoredAlert] {
        let (filter, parameters) = Self.filter(query)
        let sql = "SELECT a.log_offset, a.id, a.case_id, a.country, a.severity, a.threat, a.kind, a.status, a.received_at, a.routing FROM alerts a"
            + filter + " ORDER BY a.log_offset LIMIT ?"
        return try database.read { transaction in
            try transaction.connection.query(sql, parameters).map { row in
                guard let offset = row.int(0), let id = row.text(1), let country = row.text(3).flatMap(CountryCode.init),
                    let severity = row.text(4).flatMap(Severity.init(rawValue:)), let threat = row.text(5).flatMap(Threat.init(rawValue:)),
                    let kind = row.text(6).flatMap(AlertKind.init(rawValue:)), let status = row.text(7).flatMap(AlertStatus.init(rawValue:)),
                    let receivedAt = row.int(8)
                else { throw StoreError.corrupt("an alert row whose routing columns do not read") }
                var view = Alert(
                    id: id, caseID: row.text(2), kind: kind, status: status, receivedAt: Timestamp(milliseconds: receivedAt), country: country,
                    threat: threat, severity: severity, certainty: .unknown, defender: Defender(name: ""), summary: "",
                    source: AlertSource(organisation: ""))
                if let routing = row.text(9) { try RoutingColumn.apply(routing, to: &view) }
                return StoredAlert(offset: offset, alert: view)
            }
        }
    }

    /// The WHERE clause and parameters (the LIMIT's last) of `query`.
    private static func filter(_ query: AlertQuery) -> (String, [SQLiteValue]) {
        var clauses: [String] = []
        var parameters: [SQLiteValue] = []
        if let from = query.fromOffset { clauses.append("a.log_offset >= ?"); parameters.append(.integer(from)) }
        // One stream: the cursor's only bound is the first offset after it.
        if let after = query.after { clauses.append("a.log_offset >= ?"); parameters.append(.integer(after.firstAdmitted(in: 0))) }
        if let to = query.toOffset { clauses.append("a.log_offset <= ?"); parameters.append(.integer(to)) }
        if let since = query.since { clauses.append("a.received_at >= ?"); parameters.append(.integer(since.milliseconds)) }
        if let until = query.until { clauses.append("a.received_at < ?"); parameters.append(.integer(until.milliseconds)) }
        if let country = query.country { clauses.append("a.country = ?"); parameters.append(.text(country.code)) }
        if let caseID = query.caseID { clauses.append("a.case_id = ?"); parameters.append(.text(caseID)) }
        parameters.append(.integer(Int64(max(0, query.limit))))
        return (clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND "), parameters)
    }

    public func lastOffset() throws -> LogOffset {
        try database.read { try $0.connection.query("SELECT COALESCE(MAX(log_offset), 0) FROM alerts").first?.int(0) ?? 0 }
    }

    public func observeAppends(_ handler: @escaping @Sendable (LogOffset) -> Void) -> AppendObservation { appends.add(handler) }

    private func remember(_ offset: LogOffset, view: Alert, identity: AlertIdentity) {
        state.withLock { state in
            if state.recentOrder.count >= Self.recentCapacity {
                let dropped = state.recentOrder.prefix(Self.recentCapacity / 2)
                for id in dropped { state.recent.removeValue(forKey: id) }
                state.recentOrder.removeFirst(dropped.count)
            }
            state.recent[view.id] = (offset, view, identity)
            state.recentOrder.append(view.id)
        }
    }

    private func notify(_ offset: LogOffset) { appends.notify(offset) }

    public func erase(_ target: ErasureTarget) throws -> [String] {
        let (column, value) = switch target {
        case .alert(let id): ("id", id)
        case .caseID(let id): ("case_id", id)
        }
        let erased = try database.writeAndWait { transaction in
            let rows = try transaction.connection.query("SELECT id, key_id FROM alerts WHERE \(column) = ? ORDER BY log_offset", [.text(value)])
            for row in rows {
                if let keyID = row.int(1) { try transaction.connection.run("DELETE FROM keys.data_keys WHERE key_id = ?", [.integer(keyID)]) }
            }
            return rows.compactMap { $0.text(0) }
        }
        let erasedSet = Set(erased)
        state.withLock { state in
            for id in erased { state.recent.removeValue(forKey: id) }
            state.recentOrder.removeAll { erasedSet.contains($0) }
        }
        // The keys are deleted and the caches dropped whatever happens next; observers hear
        // of it even if the checkpoint fails, and a retried erasure finds nothing to delete
        // but checkpoints again.
        erasures.notifyErased(erased)
        try database.checkpointKeys()
        return erased
    }

    public func observeErasures(_ handler: @escaping @Sendable (_ alertIDs: [String]) -> Void) -> AppendObservation {
        erasures.add(handler)
    }

    public func sealNote(_ text: String, forAlert id: String) throws -> [UInt8] {
        guard let wrapped = try wrappedKey(ofAlert: id), let sealed = try vault.sealNote(text, wrappedKey: wrapped, alertID: id) else {
            throw AlertLogError.noDataKey(alertID: id)
        }
        return sealed
    }

    public func openNote(_ sealed: [UInt8], forAlert id: String) -> String? {
        guard let wrapped = try? wrappedKey(ofAlert: id) else { return nil }
        return vault.openNote(sealed, wrappedKey: wrapped, alertID: id)
    }

    /// The wrapped data key of the alert `id`; `nil` when the alert is unknown or erased.
    private func wrappedKey(ofAlert id: String) throws -> [UInt8]? {
        try database.read { transaction in
            try transaction.connection.query(
                "SELECT k.wrapped FROM alerts a JOIN keys.data_keys k ON k.key_id = a.key_id WHERE a.id = ?", [.text(id)]
            ).first?.blob(0)
        }
    }

    private static let selection =
        "SELECT a.log_offset, a.body, a.identity, k.wrapped FROM alerts a LEFT JOIN keys.data_keys k ON k.key_id = a.key_id"

    private func decode(_ rows: [SQLiteRow]) throws -> [StoredAlert] {
        let decoder = VigilJSON.decoder()
        return try rows.map { row in
            guard let offset = row.int(0), let body = row.blob(1) else { throw StoreError.corrupt("an alert row without offset or body") }
            let view = try decoder.decode(Alert.self, from: Data(body))
            return StoredAlert(offset: offset, alert: vault.open(view, box: row.blob(2), wrappedKey: row.blob(3)))
        }
    }
}
