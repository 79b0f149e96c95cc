import Dispatch
import Foundation
import Synchronization
import VigilCore
import VigilCrypto
import VigilObservability

/// The alert log of the Kafka backend (DESIGN §2): topic `vigil.alerts`, keyed by country
/// so each country keeps its order, with the data keys in the compacted topic `vigil.keys`.
///
/// Data keys are made ahead of use, in batches of 256 whose wrapped forms are acknowledged
/// on `vigil.keys` before any is used, so an acknowledged alert never points at a key that
/// was not written. An append seals the identity under a fresh key, writes the record
/// (`KafkaAlertRecord`, naming its key) to `vigil.alerts` and answers after its delivery
/// report (`acks=all`, idempotent producer): one round trip. Every process materialises both topics in memory
/// from the beginning, so reads, replays and erasures need no second database; the
/// process that appended sees its own alert at once.
///
/// Offsets: a Kafka position is a partition and an offset in it. The log's `LogOffset` for
/// partition `p`, offset `o` is `p << 40 | (o + 1)`, so offsets sort partition by
/// partition, keep each partition's order, and 0 still means "before everything".
///
/// Idempotency across ingest processes: each record carries its claim, and every process
/// indexes the claims it reads. A retry that reaches any process after the first record is
/// read gets the first answer. Two copies of one body filed at once through two processes
/// share a country, hence a partition, so every reader sees the same one first; the later
/// copy is never indexed, and the router skips it.
public final class KafkaAlertLog: AlertLog, Sendable {
    /// The log topic.
    public static let topic = "vigil.alerts"
    /// The compacted topic of wrapped data keys, keyed by key id; erasure writes tombstones.
    public static let keysTopic = "vigil.keys"
    /// Where records that fail validation go, with the reason.
    public static let invalidTopic = "vigil.alerts.invalid"
    /// Where outside producers write alert JSON (the only topic they may write to); the
    /// router validates each and appends it to `vigil.alerts` as a signed record.
    public static let submissionsTopic = KafkaRecordSigner.intakeTopic

    private let connection: KafkaConnection
    /// Whether `close()` shuts `connection` down too (it was made for this log alone).
    private let ownsConnection: Bool
    private var producer: KafkaProducer { connection.producer }
    private let cipher: IdentityCipher
    private let macKey: [UInt8]
    private let state = Mutex(State())
    /// How far the follower has read each partition of `vigil.alerts` (the router waits on it).
    private let progress = KafkaReadProgress()
    private let erasures = LogObservers<[String]>()
    private let appends = LogObservers<LogOffset>()

    /// The materialised log and everything else that changes, behind `state`'s one lock.
    private struct State {
        /// Reads both topics into memory; set once they were read to their end.
        var follower: KafkaTopicFollower?
        var entries: [LogOffset: KafkaAlertRecord] = [:]
        var order: [LogOffset] = []
        var byID: [String: LogOffset] = [:]
        /// The alert each data key seals, so a tombstone read on `vigil.keys` names its alert.
        var alertByKeyID: [String: String] = [:]
        var claims: [String: (fingerprint: String, receipt: AppendReceipt)] = [:]
        var pendingClaims: [String: [(fingerprint: String, completion: @Sendable (Result<AppendReceipt, AlertLogError>) -> Void)]] = [:]
        var keys: [String: [UInt8]] = [:]
        /// Whether a master-key check record was read that this process's key does not sign:
        /// the deployment runs with another master key.
        var foreignMasterCheck = false
        var readError: String?
        var stopped = false

        /// Records `record` at `offset` unless an alert with its id or its claim is indexed
        /// already (a duplicate from a concurrent ingest).
        mutating func index(_ record: KafkaAlertRecord, at offset: LogOffset) -> Bool {
            guard byID[record.view.id] == nil, entries[offset] == nil else { return false }
            if let claim = record.claim {
                let key = "\(claim.organisation)\u{0}\(claim.key)"
                guard claims[key] == nil else { return false }
                claims[key] = (claim.fingerprint, AppendReceipt(id: record.view.id, offset: offset, repeated: false))
            }
            entries[offset] = record
            byID[record.view.id] = offset
            alertByKeyID[record.keyID] = record.view.id
            if let last = order.last, last > offset {
                var low = 0, high = order.count
                while low < high {
                    let mid = (low + high) / 2
                    if order[mid] < offset { low = mid + 1 } else { high = mid }
                }
                order.insert(offset, at: low)
            } else {
                order.append(offset)
            }
            return true
        }

        /// The index in `order` of the first offset at least `offset`.
        func firstIndex(atLeast offset: LogOffset) -> Int {
            var low = 0, high = order.count
            while low < high {
                let mid = (low + high) / 2
                if order[mid] < offset { low = mid + 1 } else { high = mid }
            }
            return low
        }

        /// The offsets `query` selects, in order. A cursor is followed partition by partition:
        /// within each, the selection jumps to the first offset after it.
        func select(_ query: AlertQuery) -> [LogOffset] {
            var selected: [LogOffset] = []
            var i = query.fromOffset.map(firstIndex(atLeast:)) ?? 0
            while i < order.count && selected.count < query.limit {
                let offset = order[i]
                if let after = query.after, !after.admits(offset) {
                    i = max(i + 1, firstIndex(atLeast: after.firstAdmitted(in: AlertCursor.stream(of: offset))))
                    continue
                }
                i += 1
                if let to = query.toOffset, offset > to { break }
                let view = entries[offset]!.view
                if let since = query.since, view.receivedAt < since { continue }
                if let until = query.until, view.receivedAt >= until { continue }
                if let country = query.country, view.country != country { continue }
                if let caseID = query.caseID, view.caseID != caseID { continue }
                selected.append(offset)
            }
            return selected
        }
    }
    private let pool = DataKeyPool<String>(batchSize: KafkaAlertLog.batchSize)
    private static let batchSize = 256

    /// The log on `bootstrapServers` with clients of its own (their records signed and
    /// checked by `signer`), sealing identities with `cipher` and signing alerts with
    /// `macKey`; an append the brokers have not taken within `writeTimeout` seconds fails (the
    /// API answers 503). Returns once both topics have been read to their end, or throws after
    /// `timeout` seconds.
    public convenience init(
        bootstrapServers: String, signer: KafkaRecordSigner, cipher: IdentityCipher, macKey: [UInt8], writeTimeout: Double = 10,
        timeout: Double = 30
    ) throws(KafkaError) {
        try self.init(
            connection: KafkaConnection(bootstrapServers: bootstrapServers, signer: signer, writeTimeout: writeTimeout), owning: true,
            cipher: cipher,
            macKey: macKey, timeout: timeout)
    }

    /// The log on `connection` (its producer and a follower of both topics; the connection's
    /// owner shuts it down), as `init(bootstrapServers:…)`.
    public convenience init(connection: KafkaConnection, cipher: IdentityCipher, macKey: [UInt8], timeout: Double = 30) throws(KafkaError) {
        try self.init(connection: connection, owning: false, cipher: cipher, macKey: macKey, timeout: timeout)
    }

    private init(connection: KafkaConnection, owning: Bool, cipher: IdentityCipher, macKey: [UInt8], timeout: Double) throws(KafkaError) {
        self.connection = connection
        ownsConnection = owning
        self.cipher = cipher
        self.macKey = macKey
        do {
            let follower = try connection.follow(
                [Self.topic, Self.keysTopic], name: "log", timeout: timeout, onRecord: { [weak self] in self?.read($0) },
                onRefused: { [weak self] record in
                    guard record.topic == Self.keysTopic, record.key == Array(Self.masterCheckID.utf8) else { return }
                    self?.state.withLock { $0.foreignMasterCheck = true }
                },
                onError: { [weak self] error in
                    self?.state.withLock { $0.readError = error.description }
                    return 0.1
                })
            state.withLock { $0.follower = follower }
        } catch {
            close()
            throw error
        }
        try checkMasterKey()
        try refill()
    }

    /// Makes a batch of data keys, writes their wrapped forms to `vigil.keys` and waits for
    /// every delivery report before the keys may be used.
    private func refill() throws(KafkaError) {
        var made: [(id: String, key: [UInt8], wrapped: [UInt8])] = []
        do {
            for _ in 0..<Self.batchSize {
                let dataKey = try cipher.makeDataKey()
                made.append(("key_" + ULID().description.lowercased(), dataKey.key, dataKey.wrapped))
            }
        } catch {
            throw KafkaError("cannot make data keys: \(error)")
        }
        try producer.produceAll(made.map { (Self.keysTopic, $0.id, $0.wrapped) })
        state.withLock { state in for item in made { state.keys[item.id] = item.wrapped } }
        pool.add(made.map { ($0.id, $0.key) })
    }

    /// A data key written to `vigil.keys` and never used; refills in the background when the
    /// pool runs low, and in the caller when it is empty.
    private func takeKey() throws(KafkaError) -> (id: String, key: [UInt8]) {
        let background: () -> Void = { [self] in
            DispatchQueue.global().async { [self] in
                try? refill()
                pool.backgroundRefillEnded()
            }
        }
        guard let key = try pool.take(refillInBackground: background, refillNow: refill) else {
            throw KafkaError("no data key could be made for a new alert")
        }
        return key
    }

    /// The `vigil.keys` record that tells which master key a deployment uses.
    static let masterCheckID = "vigil-master-check"

    /// Refuses to run with a master key other than the one the deployment's first process
    /// recorded: such a process could open no identity and would take every signed record
    /// for a forgery. The first process records a data key wrapped by its master key.
    private func checkMasterKey() throws(KafkaError) {
        let (recorded, foreign) = state.withLock { ($0.keys[Self.masterCheckID], $0.foreignMasterCheck) }
        // Under another master key even the check record's signature fails: it never reaches `keys`.
        if recorded == nil && foreign {
            close()
            throw KafkaError(
                "master key: this process's master key is not the one \(Self.keysTopic) was started with (its records do not verify under it); give every Vigil process of a deployment the same VIGIL_MASTER_KEY (or master_key_file)")
        }
        if let recorded {
            guard cipher.unwraps(recorded) else {
                close()
                throw KafkaError(
                    "master key: this process's master key is not the one \(Self.keysTopic) was started with; give every Vigil process of a deployment the same VIGIL_MASTER_KEY (or master_key_file)")
            }
            return
        }
        let wrapped: [UInt8]
        do {
            wrapped = try cipher.makeDataKey().wrapped
        } catch {
            throw KafkaError("master key: cannot make the check value: \(error)")
        }
        try producer.produceAndWait(topic: Self.keysTopic, key: Array(Self.masterCheckID.utf8), value: wrapped)
        state.withLock { $0.keys[Self.masterCheckID] = wrapped }
    }

    /// The number of partitions of `vigil.alerts`.
    public var partitions: Int { state.withLock { $0.follower }?.partitions(of: Self.topic) ?? 0 }

    /// The log offset of `offset` in `partition`.
    public static func logOffset(partition: Int32, offset: Int64) -> LogOffset { LogOffset(partition) << 40 | (offset + 1) }

    /// The partition and Kafka offset of a log offset.
    public static func position(of logOffset: LogOffset) -> (partition: Int32, offset: Int64) {
        (Int32(logOffset >> 40), (logOffset & (1 << 40 - 1)) - 1)
    }

    // MARK: Appending

    public func append(
        _ alert: Alert, idempotency: IdempotencyClaim?,
        completion: @escaping @Sendable (Result<AppendReceipt, AlertLogError>) -> Void
    ) {
        let claimKey = idempotency.map { "\($0.organisation)\u{0}\($0.key)" }
        if let claimKey, let claim = idempotency {
            let answer: Result<AppendReceipt, AlertLogError>? = state.withLock { state in
                if let held = state.claims[claimKey] {
                    return held.fingerprint == claim.fingerprint
                        ? .success(AppendReceipt(id: held.receipt.id, offset: held.receipt.offset, repeated: true))
                        : .failure(.idempotencyConflict(key: claim.key))
                }
                if let waiting = state.pendingClaims[claimKey] {
                    if waiting.first?.fingerprint != claim.fingerprint { return .failure(.idempotencyConflict(key: claim.key)) }
                    state.pendingClaims[claimKey]?.append((claim.fingerprint, completion))
                    return .some(.success(AppendReceipt(id: "", offset: -1, repeated: true)))
                }
                state.pendingClaims[claimKey] = [(claim.fingerprint, completion)]
                return nil
            }
            if let answer {
                if case .success(let receipt) = answer, receipt.offset == -1 { return }  // answered when the first lands
                return completion(answer)
            }
        }
        let record: KafkaAlertRecord
        do {
            let dataKey = try takeKey()
            record = KafkaAlertRecord(
                view: alert.sealedView, sealedIdentity: try cipher.seal(alert.identity.jsonBytes, dataKey: dataKey.key, alertID: alert.id),
                keyID: dataKey.id, claim: idempotency)
        } catch {
            return finish(claimKey, .failure(.unavailable("the identity could not be sealed: \(error)")), fallback: completion)
        }
        producer.produce(topic: Self.topic, key: Array(alert.country.code.utf8), value: record.encoded(macKey: macKey)) { [self] result in
            switch result {
            case .failure(let error):
                finish(claimKey, .failure(.unavailable(error.description)), fallback: completion)
            case .success(let position):
                let offset = Self.logOffset(partition: position.partition, offset: position.offset)
                let inserted = state.withLock { $0.index(record, at: offset) }
                finish(claimKey, .success(AppendReceipt(id: alert.id, offset: offset, repeated: false)), fallback: completion)
                if inserted { notify(offset) }
            }
        }
    }

    /// Answers the append holding `claimKey` and any retry that waited for it.
    private func finish(
        _ claimKey: String?, _ result: Result<AppendReceipt, AlertLogError>,
        fallback: @escaping @Sendable (Result<AppendReceipt, AlertLogError>) -> Void
    ) {
        guard let claimKey else { return fallback(result) }
        let waiting = state.withLock { $0.pendingClaims.removeValue(forKey: claimKey) ?? [] }
        for (index, waiter) in waiting.enumerated() {
            if index == 0 { waiter.completion(result); continue }
            waiter.completion(result.map { AppendReceipt(id: $0.id, offset: $0.offset, repeated: true) })
        }
        if waiting.isEmpty { fallback(result) }
    }

    // MARK: Materialising

    /// Takes one record the follower read.
    private func read(_ record: KafkaRecord) {
        if record.topic == Self.keysTopic {
            let id = String(decoding: record.key ?? [], as: UTF8.self)
            let erased: String? = state.withLock { state in
                state.readError = nil
                if id == Self.masterCheckID, state.keys[id] != nil {
                    // The first check record decides; a later one (a racing first start) is ignored.
                } else if let wrapped = record.value {
                    state.keys[id] = wrapped
                } else {
                    // A tombstone: an erasure, made through this process or any other.
                    state.keys.removeValue(forKey: id)
                    return state.alertByKeyID[id]
                }
                return nil
            }
            if let erased { erasures.notifyErased([erased]) }
            return
        }
        let offset = Self.logOffset(partition: record.partition, offset: record.offset)
        // This process's own appends are indexed already; only others' records are decoded,
        // and outside the lock, so appends and reads never wait for JSON decoding.
        let known = state.withLock { $0.entries[offset] != nil }
        var decoded: KafkaAlertRecord?
        if !known, let value = record.value {
            do {
                decoded = try KafkaAlertRecord(decoding: value, macKey: macKey)
            } catch {
                // Unsigned records are submissions, which the router validates (and
                // quarantines); a record that claims to be Vigil's and fails is refused here.
                if KafkaAlertRecord.looksSigned(value) {
                    KafkaRecordRejections.record(
                        topic: record.topic, partition: record.partition, offset: record.offset, reason: error.description, logger: connection.logger)
                }
            }
        }
        let inserted: LogOffset? = state.withLock { state in
            state.readError = nil
            guard let decoded, state.index(decoded, at: offset) else { return nil }
            return offset
        }
        progress.advance(record.partition, past: record.offset)  // after indexing: a waiter then finds the record
        if let inserted { notify(inserted) }
    }

    /// What a record of `vigil.alerts` is, as the router sees it.
    public enum Intake: Sendable {
        /// An alert Vigil validated and signed; route it.
        case alert(StoredAlert)
        /// A signed alert already in the log under an earlier record (a concurrent duplicate).
        case duplicate
        /// Alert JSON from an outside producer, to validate and append as a signed record.
        case submission([UInt8])
        /// A record that cannot be taken, and why; it goes to `vigil.alerts.invalid`.
        case invalid(String)
        /// A record whose signature failed: counted and logged as it was read; nothing to do.
        case refused
    }

    /// Classifies `record`, first waiting (up to `timeout` seconds) until this process has
    /// materialised the log through it, so an alert the router takes can be read by id.
    /// Records of `vigil.submissions` are outside producers' alert JSON; on `vigil.alerts`
    /// only Vigil's own signed records are taken.
    public func intake(_ record: KafkaRecord, timeout: Double = 10) throws(KafkaError) -> Intake {
        guard !record.refused else { return .refused }
        guard let value = record.value, !value.isEmpty else { return .invalid("the record has no value") }
        if record.topic == Self.submissionsTopic { return .submission(value) }
        guard KafkaAlertRecord.looksSigned(value) else { return .invalid("a record of \(Self.topic) that is not a Vigil alert record") }
        let offset = Self.logOffset(partition: record.partition, offset: record.offset)
        let reached = state.withLock { $0.entries[offset] != nil }
            || progress.wait(until: record.partition, record.offset, deadline: .now() + timeout)
        let stored: StoredAlert?? = reached
            ? .some(state.withLock { state in state.entries[offset].map { StoredAlert(offset: offset, alert: open($0, keys: state.keys)) } }) : .none
        guard let stored else { throw KafkaError("this process has not read \(Self.topic) up to partition \(record.partition) offset \(record.offset) within \(Int(timeout)) s") }
        if let stored { return .alert(stored) }  // indexed, so its MAC was checked (or this process wrote it)
        do {
            _ = try KafkaAlertRecord(decoding: value, macKey: macKey)
        } catch {
            return .invalid(error.description)
        }
        return .duplicate
    }

    /// Writes a notice of `record` to `vigil.alerts.invalid` with `reason`, as JSON an
    /// operator can read: where the record is (topic, partition, offset), its length and
    /// SHA-256, never its bytes. A refused submission is alert JSON that may name a
    /// defender in the clear; copying it to a topic kept for 30 days would put it beyond
    /// any erasure. The record itself stays readable at its position until `vigil.alerts`'
    /// retention removes it. The reason keeps field names and what is wrong, not the values
    /// it quotes, and is cut to `maxReasonBytes`.
    public func quarantine(_ record: KafkaRecord, reason: String) throws(KafkaError) {
        try producer.produceAndWait(topic: Self.invalidTopic, key: record.key, value: Self.quarantineNotice(record, reason: reason))
    }

    /// `reason` with every value it quotes ('…', as validation messages quote what the
    /// filer wrote: "'Tomasz Nowak' is not one of …") replaced by '…': the field names and
    /// what is wrong stay, the record's text does not.
    static func withoutQuotedValues(_ reason: String) -> String {
        var result = ""
        var quoting = false
        for character in reason {
            if character == "'" {
                result.append(quoting ? "…'" : "'")
                quoting.toggle()
            } else if !quoting {
                result.append(character)
            }
        }
        if quoting { result.append("…") }
        return result
    }

    /// The longest reason a quarantine notice keeps, in UTF-8 bytes.
    public static let maxReasonBytes = 4096

    /// The JSON `quarantine` writes for `record`.
    public static func quarantineNotice(_ record: KafkaRecord, reason: String) -> [UInt8] {
        let value = record.value ?? []
        var cut = withoutQuotedValues(reason)
        if cut.utf8.count > maxReasonBytes {
            cut = String(decoding: cut.utf8.prefix(maxReasonBytes), as: UTF8.self) + "…"
        }
        var w = JSONWriter()
        w.beginObject()
        w.key("offset")
        w.integer(record.offset)
        w.key("partition")
        w.integer(Int64(record.partition))
        w.field("reason", cut)
        w.key("record_bytes")
        w.integer(Int64(value.count))
        w.field("record_sha256", Hex.encode(SHA256.digest(value)))
        w.field("topic", record.topic)
        w.endObject()
        return w.bytes
    }

    /// Why the reader last failed, while it keeps failing (for `/readyz` and logs).
    public var readProblem: String? { state.withLock { $0.readError } }

    // MARK: Reading

    /// The alert with its identity and free text opened, or its view marked `[erased]`
    /// (again, for records written before free text was sealed) once the key is gone.
    private func open(_ record: KafkaAlertRecord, keys: [String: [UInt8]]) -> Alert {
        guard let plaintext = cipher.open(record.sealedIdentity, wrappedKey: keys[record.keyID], alertID: record.view.id),
            let identity = AlertIdentity(json: plaintext)
        else { return record.view.sealedView }
        return record.view.restoring(identity)
    }

    public func sealNote(_ text: String, forAlert id: String) throws -> [UInt8] {
        guard let wrapped = wrappedKey(ofAlert: id),
            let sealed = try cipher.seal(Array(text.utf8), wrappedKey: wrapped, alertID: id, purpose: Self.notePurpose)
        else { throw AlertLogError.noDataKey(alertID: id) }
        return sealed
    }

    public func openNote(_ sealed: [UInt8], forAlert id: String) -> String? {
        cipher.open(sealed, wrappedKey: wrappedKey(ofAlert: id), alertID: id, purpose: Self.notePurpose).map { String(decoding: $0, as: UTF8.self) }
    }

    private static let notePurpose = "ack-note"

    /// The wrapped data key of the alert `id` as this process has read it; `nil` when the
    /// alert is not read yet or its key was erased.
    private func wrappedKey(ofAlert id: String) -> [UInt8]? {
        state.withLock { state in state.byID[id].flatMap { state.entries[$0] }.flatMap { state.keys[$0.keyID] } }
    }

    /// Whether this process has read the alert `id` (cheaper than `alert(id:)`: opens nothing).
    public func contains(_ id: String) -> Bool { state.withLock { $0.byID[id] != nil } }

    public func alert(id: String) throws -> StoredAlert? {
        state.withLock { state in
            guard let offset = state.byID[id], let record = state.entries[offset] else { return nil }
            return StoredAlert(offset: offset, alert: open(record, keys: state.keys))
        }
    }

    public func alerts(matching query: AlertQuery) throws -> [StoredAlert] {
        state.withLock { state in state.select(query).map { StoredAlert(offset: $0, alert: open(state.entries[$0]!, keys: state.keys)) } }
    }

    public func routingViews(matching query: AlertQuery) throws -> [StoredAlert] {
        state.withLock { state in
            state.select(query).map { offset in
                // The view is sealed already; routing views carry no free text at all, not even its marks.
                var view = state.entries[offset]!.view
                view.handling?.note = nil
                view.nextEvent?.place = nil
                return StoredAlert(offset: offset, alert: view)
            }
        }
    }

    public func lastOffset() throws -> LogOffset { state.withLock { $0.order.last ?? 0 } }

    /// Partition by partition, the last alert this process has read.
    public func endCursor() throws -> AlertCursor {
        state.withLock { state in
            var cursor = AlertCursor.start
            var i = state.order.count
            // From the newest partition down: each partition's last offset, then jump below the partition.
            while i > 0 {
                let last = state.order[i - 1]
                cursor.advance(past: last)
                i = state.firstIndex(atLeast: AlertCursor.stream(of: last) << AlertCursor.streamShift)
            }
            return cursor
        }
    }

    public func observeAppends(_ handler: @escaping @Sendable (LogOffset) -> Void) -> AppendObservation { appends.add(handler) }

    private func notify(_ offset: LogOffset) { appends.notify(offset) }

    // MARK: Erasure

    public func erase(_ target: ErasureTarget) throws -> [String] {
        let erased: [(id: String, keyID: String)] = state.withLock { state in
            switch target {
            case .alert(let id): return state.byID[id].flatMap { state.entries[$0] }.map { [($0.view.id, $0.keyID)] } ?? []
            case .caseID(let caseID):
                return state.order.compactMap { state.entries[$0]!.view.caseID == caseID ? (state.entries[$0]!.view.id, state.entries[$0]!.keyID) : nil }
            }
        }
        for (id, keyID) in erased {
            do {
                try producer.produceAndWait(topic: Self.keysTopic, key: Array(keyID.utf8), value: nil)
            } catch {
                throw AlertLogError.unavailable("the erasure of \(id) could not be written to \(Self.keysTopic): \(error)")
            }
            _ = state.withLock { $0.keys.removeValue(forKey: keyID) }
        }
        erasures.notifyErased(erased.map(\.id))
        return erased.map(\.id)
    }

    public func observeErasures(_ handler: @escaping @Sendable (_ alertIDs: [String]) -> Void) -> AppendObservation {
        erasures.add(handler)
    }

    /// Stops materialising and frees the Kafka clients; waits for messages in flight.
    public func close() {
        let first = state.withLock { state in
            defer { state.stopped = true }
            return !state.stopped
        }
        guard first else { return }
        state.withLock { $0.follower }?.stop()
        if ownsConnection {
            connection.shutdown()
        } else {
            try? producer.flush(timeout: 5)
        }
    }
}

extension KafkaAlertLog {
    /// Whether `cipher`'s master key is the one the deployment on `bootstrapServers` records
    /// in `vigil.keys` (the question each process asks at start, `checkMasterKey`), asked
    /// from outside: the topic is read from its start, in no group and without writing.
    /// `nil` when no process has recorded a key yet; it reads until the first check record
    /// (the first decides) or the end of every partition, at most `timeout` seconds.
    public static func masterKeyMatches(
        _ cipher: IdentityCipher, signer: KafkaRecordSigner, bootstrapServers: String, security: KafkaSecurity = .plaintext, timeout: Double = 30,
        logger: Logger = Logger(label: "kafka")
    ) throws(KafkaError) -> Bool? {
        let reader = try KafkaTopicReader(
            bootstrapServers: bootstrapServers, topics: [keysTopic], extra: security.properties, signer: signer, logger: logger)
        defer { reader.close() }
        let deadline = Date().addingTimeInterval(timeout)
        var foreign = false
        while Date() < deadline {
            if let record = try reader.poll(timeout: 0.2) {
                guard record.key.map({ String(decoding: $0, as: UTF8.self) }) == masterCheckID, let recorded = record.value else { continue }
                // A check record this key did not sign: another master key's, unless a signed one follows.
                if record.refused { foreign = true; continue }
                return cipher.unwraps(recorded)
            }
            if reader.caughtUp { return foreign ? false : nil }
        }
        throw KafkaError("\(keysTopic) was not read to its end within \(Int(timeout)) s")
    }
}
