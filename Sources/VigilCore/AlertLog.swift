import Synchronization

/// A position in the alert log. Offsets grow with every append and are never reused.
public typealias LogOffset = Int64

/// What the log answers once an append is durable.
public struct AppendReceipt: Sendable, Equatable, Codable {
    /// The alert's id.
    public let id: String
    /// Where it sits in the log.
    public let offset: LogOffset
    /// `true` when an earlier append with the same idempotency key already holds the alert.
    public let repeated: Bool

    /// A receipt for the alert `id` at `offset`.
    public init(id: String, offset: LogOffset, repeated: Bool) {
        self.id = id
        self.offset = offset
        self.repeated = repeated
    }
}

/// A producer's `Idempotency-Key`, scoped to its organisation, with a fingerprint of the
/// body it came with, so a retry returns the first answer and a reuse with another body is
/// refused.
public struct IdempotencyClaim: Sendable, Equatable {
    /// The organisation that sent the key; keys of different organisations never collide.
    public let organisation: String
    /// The key as the producer sent it.
    public let key: String
    /// A digest of the request body.
    public let fingerprint: String

    /// A claim of `key` by `organisation` for a body with `fingerprint`.
    public init(organisation: String, key: String, fingerprint: String) {
        self.organisation = organisation
        self.key = key
        self.fingerprint = fingerprint
    }
}

/// An alert with its position in the log.
public struct StoredAlert: Sendable, Equatable {
    /// The position in the log.
    public let offset: LogOffset
    /// The alert as appended.
    public let alert: Alert

    /// Pairs `alert` with its `offset`.
    public init(offset: LogOffset, alert: Alert) {
        self.offset = offset
        self.alert = alert
    }
}

/// A selection of alerts from the log; every criterion is optional and they combine.
public struct AlertQuery: Sendable, Equatable {
    /// Smallest offset, inclusive.
    public var fromOffset: LogOffset?
    /// Largest offset, inclusive.
    public var toOffset: LogOffset?
    /// Earliest reception time, inclusive.
    public var since: Timestamp?
    /// Latest reception time, exclusive.
    public var until: Timestamp?
    /// Only alerts in this country.
    public var country: CountryCode?
    /// Only alerts of this case.
    public var caseID: String?
    /// At most this many alerts, in offset order.
    public var limit: Int
    /// Only alerts after this cursor, stream by stream (what a reader following the log has
    /// not seen yet; see `AlertCursor`).
    public var after: AlertCursor?

    /// A query; with no arguments, the first 100 alerts of the log.
    public init(
        fromOffset: LogOffset? = nil, toOffset: LogOffset? = nil, since: Timestamp? = nil, until: Timestamp? = nil,
        country: CountryCode? = nil, caseID: String? = nil, limit: Int = 100, after: AlertCursor? = nil
    ) {
        self.after = after
        self.fromOffset = fromOffset
        self.toOffset = toOffset
        self.since = since
        self.until = until
        self.country = country
        self.caseID = caseID
        self.limit = limit
    }
}

/// Why the log could not take or give alerts.
public enum AlertLogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The idempotency key was used before with a different body.
    case idempotencyConflict(key: String)
    /// The log cannot write now (disk full, read-only, broker unreachable); try again later.
    case unavailable(String)
    /// The log was closed.
    case closed
    /// The alert is not in the log (as this process has read it) or was erased: there is no
    /// data key to seal its free text with.
    case noDataKey(alertID: String)

    public var description: String {
        switch self {
        case .idempotencyConflict(let key):
            "the Idempotency-Key '\(key)' was already used with a different body; use a new key for a new alert"
        case .unavailable(let reason): "the alert log cannot accept writes right now: \(reason)"
        case .closed: "the alert log is closed"
        case .noDataKey(let id):
            "the alert '\(id)' is unknown or erased, so no text can be sealed with its key; check the alert id"
        }
    }
}

/// The durable, ordered log of alerts (DESIGN §2): the embedded SQLite table or a Kafka
/// topic. The API, the router and replay see only this.
public protocol AlertLog: AnyObject, Sendable {
    /// Appends `alert` and calls `completion` once it is durable (or has failed).
    /// Concurrent appends may share one commit.
    func append(
        _ alert: Alert, idempotency: IdempotencyClaim?,
        completion: @escaping @Sendable (Result<AppendReceipt, AlertLogError>) -> Void)

    /// Appends `entries` in their order, in one durable write where the log can (one
    /// transaction on the embedded log; on Kafka every record is produced before any report
    /// is waited for), and calls `completion` once with one result per entry, in order. An
    /// entry refused on its own (its idempotency key used for another body) fails alone.
    func appendAll(
        _ entries: [(alert: Alert, idempotency: IdempotencyClaim?)],
        completion: @escaping @Sendable ([Result<AppendReceipt, AlertLogError>]) -> Void)

    /// The alert with `id`, or `nil`.
    func alert(id: String) throws -> StoredAlert?

    /// Alerts matching `query`, in offset order.
    func alerts(matching query: AlertQuery) throws -> [StoredAlert]

    /// The alerts `query` selects with only what routing reads filled in (id, case, kind,
    /// status, reception time, country, threat, severity, the filing organisation, case
    /// status, next event's type and time, handling instructions without their note);
    /// identity and free text are empty. Replays route from these without decoding bodies
    /// or opening identities; the workers read the whole alert when they send.
    func routingViews(matching query: AlertQuery) throws -> [StoredAlert]

    /// The offset of the newest alert, or 0 when the log is empty.
    func lastOffset() throws -> LogOffset

    /// The cursor after every alert of the log as this process has read it, stream by
    /// stream: where `vigil tail` starts (`after=end`).
    func endCursor() throws -> AlertCursor

    /// Calls `handler` with the newest offset after every durable append, until the
    /// returned observation is cancelled.
    func observeAppends(_ handler: @escaping @Sendable (LogOffset) -> Void) -> AppendObservation

    /// Deletes the data keys of the alerts `target` names, so their identities and free
    /// text read as `[erased]` everywhere from now on; returns the ids of the alerts erased,
    /// in log order. The log itself is not rewritten (it never held them in the clear).
    /// Throws when the erasure cannot be made complete (the key file's write-ahead log could
    /// not be truncated, the tombstone could not be written); the erasure may then be
    /// retried.
    func erase(_ target: ErasureTarget) throws -> [String]

    /// Calls `handler` with the ids of alerts erased, whoever erased them: on the embedded
    /// backend after each erasure through this log; on Kafka also whenever this process
    /// reads an alert's key tombstone on `vigil.keys` (an erasure made through any process,
    /// this one's included, so a handler may hear of an alert twice). Anything outside the
    /// log that keeps opened alerts must drop them here (the workers keep none: they read
    /// every alert through the log). Runs on the log's
    /// thread: keep it short. Stops when the returned observation is cancelled.
    func observeErasures(_ handler: @escaping @Sendable (_ alertIDs: [String]) -> Void) -> AppendObservation

    /// `text` (an acknowledgement's note) sealed with the data key of the alert `id`, so
    /// erasing the alert erases it too. Throws `AlertLogError.noDataKey` when the alert is
    /// unknown or already erased.
    func sealNote(_ text: String, forAlert id: String) throws -> [UInt8]

    /// The text `sealNote` sealed in `sealed` for the alert `id`, or `nil` once the alert is
    /// erased (or when the box is not a note of that alert).
    func openNote(_ sealed: [UInt8], forAlert id: String) -> String?
}

extension AlertLog {
    /// One stream: the cursor after the newest alert.
    public func endCursor() throws -> AlertCursor { AlertCursor(after: try lastOffset()) }

    /// `appendAll` as concurrent `append`s, answered when the last is: a log whose appends
    /// do not wait for one another (Kafka's produce, a test double) writes them together.
    public func appendAll(
        _ entries: [(alert: Alert, idempotency: IdempotencyClaim?)],
        completion: @escaping @Sendable ([Result<AppendReceipt, AlertLogError>]) -> Void
    ) {
        guard !entries.isEmpty else { return completion([]) }
        let gathered = Mutex<(results: [Result<AppendReceipt, AlertLogError>?], left: Int)>((Array(repeating: nil, count: entries.count), entries.count))
        for (index, entry) in entries.enumerated() {
            append(entry.alert, idempotency: entry.idempotency) { result in
                let finished: [Result<AppendReceipt, AlertLogError>]? = gathered.withLock { state in
                    state.results[index] = result
                    state.left -= 1
                    return state.left == 0 ? state.results.map { $0 ?? .failure(.unavailable("no answer from the log")) } : nil
                }
                if let finished { completion(finished) }
            }
        }
    }

    /// A log that holds no opened alert and is never erased from elsewhere (a test double)
    /// has nothing to report: the handler is never called.
    public func observeErasures(_ handler: @escaping @Sendable (_ alertIDs: [String]) -> Void) -> AppendObservation {
        AppendObservation {}
    }

    /// A log that keeps no data keys (a test double) has nothing to seal a note with.
    public func sealNote(_ text: String, forAlert id: String) throws -> [UInt8] { throw AlertLogError.noDataKey(alertID: id) }

    /// A log that keeps no data keys opens no note.
    public func openNote(_ sealed: [UInt8], forAlert id: String) -> String? { nil }
}

/// What an erasure covers: one alert, or every alert of a case.
public enum ErasureTarget: Sendable, Equatable {
    /// The alert with this id.
    case alert(String)
    /// Every alert whose `case_id` is this.
    case caseID(String)
}

/// A registration for append notifications; cancel it to stop them.
public final class AppendObservation: Sendable {
    private let onCancel: @Sendable () -> Void

    /// An observation that runs `onCancel` when cancelled.
    public init(onCancel: @escaping @Sendable () -> Void) { self.onCancel = onCancel }

    /// Stops the notifications.
    public func cancel() { onCancel() }
}
