import Synchronization
import VigilCore
import VigilCrypto

/// An `AlertLog` kept in memory, for tests of what reads and writes the log (routers,
/// replays, handlers) without SQLite or Kafka.
///
/// Faithful to the protocol where callers can tell: offsets grow with every append and are
/// never reused (with `offsetStride` above 1 they leave gaps, as Kafka's do); an
/// idempotency claim answers the first receipt to a retry with the same fingerprint and
/// refuses another body; an append's completion runs before the append observers hear of
/// it; routing views carry the routing fields only; an erasure turns the identity and free
/// text of the alerts it names into `[erased]` for every later read and tells the erasure
/// observers. Appends are durable at once: the completion runs on the caller's thread.
///
/// Tests can make appends or reads fail (`failAppends`, `failReads`) to drive retry paths.
public final class InMemoryAlertLog: AlertLog, Sendable {
    private struct State {
        var entries: [StoredAlert] = []
        var byID: [String: Int] = [:]
        var claims: [String: (fingerprint: String, receipt: AppendReceipt)] = [:]
        var erased: Set<String> = []
        /// Each alert's key for notes, made at its first note and dropped by its erasure.
        var noteKeys: [String: [UInt8]] = [:]
        var lastOffset: LogOffset = 0
        var appendFailure: AlertLogError?
        var readFailure: AlertLogError?
        var closed = false
    }

    private let state = Mutex(State())
    private let erasures = LogObservers<[String]>()
    private let appends = LogObservers<LogOffset>()
    private let offsetStride: LogOffset

    /// An empty log whose offsets go `offsetStride`, `2 × offsetStride`, … (1, 2, 3, … by default).
    public init(offsetStride: LogOffset = 1) {
        self.offsetStride = max(1, offsetStride)
    }

    /// Makes every later append fail with `error` (`nil`: appends work again).
    public func failAppends(with error: AlertLogError?) { state.withLock { $0.appendFailure = error } }

    /// Makes every later read (`alert(id:)`, `alerts`, `routingViews`, `lastOffset`) throw
    /// `error` (`nil`: reads work again).
    public func failReads(with error: AlertLogError?) { state.withLock { $0.readFailure = error } }

    /// Refuses every later append and read with `AlertLogError.closed`.
    public func close() { state.withLock { $0.closed = true } }

    /// How many alerts the log holds.
    public var count: Int { state.withLock { $0.entries.count } }

    /// Whether `id` has been erased.
    public func isErased(_ id: String) -> Bool { state.withLock { $0.erased.contains(id) } }

    public func append(
        _ alert: Alert, idempotency: IdempotencyClaim?,
        completion: @escaping @Sendable (Result<AppendReceipt, AlertLogError>) -> Void
    ) {
        let outcome: Result<AppendReceipt, AlertLogError> = state.withLock { state in
            if state.closed { return .failure(.closed) }
            if let failure = state.appendFailure { return .failure(failure) }
            let claimKey = idempotency.map { "\($0.organisation)\u{0}\($0.key)" }
            if let claimKey, let idempotency, let earlier = state.claims[claimKey] {
                guard earlier.fingerprint == idempotency.fingerprint else { return .failure(.idempotencyConflict(key: idempotency.key)) }
                return .success(AppendReceipt(id: earlier.receipt.id, offset: earlier.receipt.offset, repeated: true))
            }
            let (offset, overflow) = state.lastOffset.addingReportingOverflow(offsetStride)
            guard !overflow else { return .failure(.unavailable("the in-memory log has run out of offsets")) }
            state.lastOffset = offset
            state.byID[alert.id] = state.entries.count
            state.entries.append(StoredAlert(offset: offset, alert: alert))
            let receipt = AppendReceipt(id: alert.id, offset: offset, repeated: false)
            if let claimKey, let idempotency { state.claims[claimKey] = (idempotency.fingerprint, receipt) }
            return .success(receipt)
        }
        completion(outcome)
        if case .success(let receipt) = outcome, !receipt.repeated {
            appends.notify(receipt.offset)
        }
    }

    /// Appends `alert` and returns its receipt (appends here are durable at once).
    @discardableResult
    public func appendNow(_ alert: Alert, idempotency: IdempotencyClaim? = nil) throws -> AppendReceipt {
        let result = Mutex<Result<AppendReceipt, AlertLogError>?>(nil)
        append(alert, idempotency: idempotency) { outcome in result.withLock { $0 = outcome } }
        return try result.withLock { $0 ?? .failure(.closed) }.get()
    }

    public func alert(id: String) throws -> StoredAlert? {
        try state.withLock { state in
            try Self.check(state)
            return state.byID[id].map { Self.read(state.entries[$0], in: state) }
        }
    }

    public func alerts(matching query: AlertQuery) throws -> [StoredAlert] {
        try state.withLock { state in
            try Self.check(state)
            return Self.select(query, in: state).map { Self.read($0, in: state) }
        }
    }

    public func routingViews(matching query: AlertQuery) throws -> [StoredAlert] {
        try state.withLock { state in
            try Self.check(state)
            return Self.select(query, in: state).map { stored in
                let a = stored.alert
                return StoredAlert(offset: stored.offset, alert: Alert(
                    id: a.id, caseID: a.caseID, kind: a.kind, status: a.status, receivedAt: a.receivedAt, country: a.country,
                    threat: a.threat, severity: a.severity, certainty: .unknown, defender: Defender(name: ""), summary: "",
                    source: AlertSource(organisation: a.source.organisation), caseStatus: a.caseStatus,
                    nextEvent: a.nextEvent.map { CaseEvent(type: $0.type, at: $0.at) }, handling: a.handling?.withoutNote))
            }
        }
    }

    public func lastOffset() throws -> LogOffset {
        try state.withLock { state in
            try Self.check(state)
            return state.entries.last?.offset ?? 0
        }
    }

    public func observeAppends(_ handler: @escaping @Sendable (LogOffset) -> Void) -> AppendObservation { appends.add(handler) }

    public func erase(_ target: ErasureTarget) throws -> [String] {
        let erased = try state.withLock { state in
            try Self.check(state)
            let ids = state.entries.filter { stored in
                switch target {
                case .alert(let id): stored.alert.id == id
                case .caseID(let caseID): stored.alert.caseID == caseID
                }
            }.map(\.alert.id)
            state.erased.formUnion(ids)
            for id in ids { state.noteKeys.removeValue(forKey: id) }
            return ids
        }
        erasures.notifyErased(erased)
        return erased
    }

    public func observeErasures(_ handler: @escaping @Sendable (_ alertIDs: [String]) -> Void) -> AppendObservation {
        erasures.add(handler)
    }

    /// Seals `text` with AES-GCM under a key of the alert's own, kept in memory until the
    /// alert is erased.
    public func sealNote(_ text: String, forAlert id: String) throws -> [UInt8] {
        let key: [UInt8] = try state.withLock { state in
            try Self.check(state)
            guard state.byID[id] != nil, !state.erased.contains(id) else { throw AlertLogError.noDataKey(alertID: id) }
            if let key = state.noteKeys[id] { return key }
            let key = SecureRandom.bytes(AESGCM.keyLength)
            state.noteKeys[id] = key
            return key
        }
        return try AESGCM.seal(Array(text.utf8), key: key, associatedData: Array(id.utf8))
    }

    public func openNote(_ sealed: [UInt8], forAlert id: String) -> String? {
        guard let key = state.withLock({ $0.noteKeys[id] }), let text = try? AESGCM.open(sealed, key: key, associatedData: Array(id.utf8))
        else { return nil }
        return String(decoding: text, as: UTF8.self)
    }

    private static func check(_ state: State) throws {
        if state.closed { throw AlertLogError.closed }
        if let failure = state.readFailure { throw failure }
    }

    /// The alerts `query` selects, in offset order, at most `query.limit`.
    private static func select(_ query: AlertQuery, in state: State) -> [StoredAlert] {
        var selected: [StoredAlert] = []
        let limit = max(0, query.limit)
        for stored in state.entries where selected.count < limit {
            let alert = stored.alert
            if let from = query.fromOffset, stored.offset < from { continue }
            if let after = query.after, !after.admits(stored.offset) { continue }
            if let to = query.toOffset, stored.offset > to { break }
            if let since = query.since, alert.receivedAt < since { continue }
            if let until = query.until, alert.receivedAt >= until { continue }
            if let country = query.country, alert.country != country { continue }
            if let caseID = query.caseID, alert.caseID != caseID { continue }
            selected.append(stored)
        }
        return selected
    }

    /// `stored` as a reader sees it: `[erased]` once erased.
    private static func read(_ stored: StoredAlert, in state: State) -> StoredAlert {
        state.erased.contains(stored.alert.id) ? StoredAlert(offset: stored.offset, alert: stored.alert.sealedView) : stored
    }
}
