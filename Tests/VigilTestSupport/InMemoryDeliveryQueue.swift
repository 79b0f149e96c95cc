import Dispatch
import Synchronization
import VigilCore
import VigilCrypto

/// A delivery queue kept in memory, for tests of the router, replays and workers
/// without SQLite or Kafka.
///
/// It keeps the rules the embedded queue keeps: deliveries have the stable ids of
/// `DeliveryID` and recording one that exists changes nothing; a follow-up waits until its
/// due time; a routing moves its
/// consumer's position in the same step (never backwards); a replay puts an existing
/// delivery back to `pending` with a fresh budget unless it is in flight, and its
/// deliveries are claimed after every live one; claims take due work critical first, within
/// `ClaimRequest`'s limits, then work whose lease expired; outcomes, dead letters and retries
/// of them move the states as the embedded queue does. Writes are durable at once; an
/// outcome's completion runs on another thread, after the state changed.
///
/// Tests can make writes fail (`failWrites`) and count routing writes (`routingWrites`).
public final class InMemoryDeliveryQueue: DeliveryQueue, RoutingLedger, Sendable {
    private struct Entry {
        var record: DeliveryRecord
        var leaseUntil: Timestamp?
        var firstAttempt: Timestamp?
        /// Order of insertion, for stable claims among equals.
        let sequence: Int
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var positions: [String: LogOffset] = [:]
        var nextSequence = 0
        var writeFailure: (any Error & Sendable)?
        var routingWrites = 0
    }

    private let state = Mutex(State())
    private let clock: @Sendable () -> Timestamp

    /// An empty queue; `clock` gives the time recorded on routings and replays.
    public init(clock: @escaping @Sendable () -> Timestamp = { Timestamp.now() }) {
        self.clock = clock
    }

    /// Makes every later write (routing, replay, claim, outcome, retry) fail with `error`
    /// (`nil`: writes work again).
    public func failWrites(with error: (any Error & Sendable)?) { state.withLock { $0.writeFailure = error } }

    /// How many routing writes succeeded.
    public var routingWrites: Int { state.withLock { $0.routingWrites } }

    /// Every delivery, in the order first recorded.
    public var all: [DeliveryRecord] { state.withLock { $0.entries.values.sorted { $0.sequence < $1.sequence }.map(\.record) } }

    /// The stable id of a routed delivery.
    public static func deliveryID(of d: RoutedDelivery) -> String {
        DeliveryID.make(alertID: d.alertID, subscriberID: d.subscriberID, channelID: d.channelID, followUp: d.followUp?.rawValue)
    }

    public func recordRouting(_ deliveries: [RoutedDelivery], through offset: LogOffset, consumer: String) throws {
        try record(deliveries) { state in state.positions[consumer] = max(state.positions[consumer] ?? 0, offset) }
    }

    /// Records `deliveries` as a Kafka router does: no position kept here.
    public func record(_ deliveries: [RoutedDelivery]) throws { try record(deliveries) { _ in } }

    private func record(_ deliveries: [RoutedDelivery], alsoDoing change: (inout State) -> Void) throws {
        let now = clock()
        try state.withLock { state in
            if let failure = state.writeFailure { throw failure }
            for d in deliveries where state.entries[Self.deliveryID(of: d)] == nil {
                Self.insert(d, state: d.initialState, reason: d.reason, replayID: nil, now: now, into: &state)
            }
            change(&state)
            state.routingWrites += 1
        }
    }

    public func position(of consumer: String) throws -> LogOffset { state.withLock { $0.positions[consumer] ?? 0 } }

    public func deliveries(ofAlert id: String) throws -> [DeliveryRecord] {
        state.withLock { state in
            state.entries.values.map(\.record).filter { $0.alertID == id }.sorted { ($0.subscriberID, $0.channelID) < ($1.subscriberID, $1.channelID) }
        }
    }

    public func alertIDs(routedTo subscriberID: String, limit: Int) throws -> [String] {
        let records = state.withLock { state in state.entries.values.map(\.record).filter { $0.subscriberID == subscriberID && $0.state != .skipped } }
        var newest: [String: LogOffset] = [:]
        for record in records { newest[record.alertID] = max(newest[record.alertID] ?? record.alertOffset, record.alertOffset) }
        return Array(newest.sorted { ($0.value, $0.key) > ($1.value, $1.key) }.map(\.key).prefix(max(0, limit)))
    }

    public func recipients(ofAlerts ids: [String]) throws -> Set<String> {
        let wanted = Set(ids)
        return state.withLock { state in
            Set(state.entries.values.map(\.record).filter { wanted.contains($0.alertID) && $0.state != .skipped && $0.followUp?.isDigest != true }.map(\.subscriberID))
        }
    }

    public func recordReplay(_ deliveries: [RoutedDelivery], replayID: String) throws -> Int {
        let now = clock()
        return try state.withLock { state in
            if let failure = state.writeFailure { throw failure }
            var queued = 0
            for d in deliveries {
                let id = Self.deliveryID(of: d)
                guard var entry = state.entries[id] else {
                    Self.insert(d, state: .pending, reason: .replay, replayID: replayID, now: now, into: &state)
                    queued += 1
                    continue
                }
                guard entry.record.state != .inFlight else { continue }
                let old = entry.record
                entry.record = DeliveryRecord(
                    id: id, alertID: old.alertID, alertOffset: old.alertOffset, subscriberID: old.subscriberID, channelID: old.channelID,
                    channelType: old.channelType, reason: .replay, clearance: d.clearance, severity: d.severity, state: .pending, attempts: 0,
                    nextAttemptAt: now, lastError: nil, createdAt: old.createdAt, updatedAt: now, replayID: replayID, followUp: old.followUp)
                entry.leaseUntil = nil
                entry.firstAttempt = nil
                state.entries[id] = entry
                queued += 1
            }
            return queued
        }
    }

    public func claimDue(_ claim: ClaimRequest, now: Timestamp) throws -> [DeliveryRecord] {
        try state.withLock { state in
            if let failure = state.writeFailure { throw failure }
            guard claim.limit > 0 else { return [] }
            // Due work: live before replays, critical first, pending before failed, then by due time.
            let due = state.entries.values.filter { entry in
                (entry.record.state == .pending || entry.record.state == .failed)
                    && (entry.record.nextAttemptAt.map { $0.milliseconds <= now.milliseconds } ?? false)
            }.sorted { a, b in
                let ka = (a.record.replayID != nil ? 1 : 0, -a.record.severity.rank, a.record.state == .failed ? 1 : 0, a.record.nextAttemptAt?.milliseconds ?? 0, a.sequence)
                let kb = (b.record.replayID != nil ? 1 : 0, -b.record.severity.rank, b.record.state == .failed ? 1 : 0, b.record.nextAttemptAt?.milliseconds ?? 0, b.sequence)
                return ka < kb
            }
            var taken = claim.selecting(due, channelID: \.record.channelID, severity: \.record.severity)
            // Work whose worker died holding the lease, held channels or not.
            let left = ClaimRequest(
                limit: claim.limit, leaseMilliseconds: claim.leaseMilliseconds, perChannel: claim.perChannel, windows: claim.windows, inFlight: claim.inFlight,
                onlyChannels: claim.onlyChannels
            ).taking(taken.map(\.record.channelID))
            let expired = state.entries.values.filter { entry in
                entry.record.state == .inFlight && (entry.leaseUntil.map { $0.milliseconds <= now.milliseconds } ?? false)
            }.sorted { ($0.record.severity.rank, -$0.sequence) > ($1.record.severity.rank, -$1.sequence) }
            taken += left.selecting(expired, channelID: \.record.channelID, severity: \.record.severity)
            let leaseUntil = DeliveryArithmetic.time(now, plus: claim.leaseMilliseconds)
            var records: [DeliveryRecord] = []
            for var entry in taken {
                entry.record.state = .inFlight
                entry.record.attempts = DeliveryArithmetic.incremented(entry.record.attempts)
                entry.record.updatedAt = now
                entry.leaseUntil = leaseUntil
                entry.firstAttempt = entry.firstAttempt ?? now
                state.entries[entry.record.id] = entry
                records.append(entry.record)
            }
            return records.sorted {
                ($0.severity.rank, -($0.nextAttemptAt?.milliseconds ?? 0)) > ($1.severity.rank, -($1.nextAttemptAt?.milliseconds ?? 0))
            }
        }
    }

    public func complete(
        _ id: String, outcome: DeliveryOutcome, settling gathered: [String], at now: Timestamp, completion: @escaping @Sendable (Error?) -> Void
    ) {
        let failure: (any Error)? = state.withLock { state in
            if let failure = state.writeFailure { return failure }
            guard var entry = state.entries[id] else { return nil }  // as an UPDATE of no row
            if case .delivered = outcome {
                for member in gathered {
                    guard var settled = state.entries[member], [.pending, .failed].contains(settled.record.state) else { continue }
                    (settled.record.state, settled.record.nextAttemptAt, settled.record.lastError, settled.record.updatedAt) = (.delivered, nil, nil, now)
                    state.entries[member] = settled
                }
            }
            (entry.record.state, entry.record.nextAttemptAt, entry.record.lastError) = switch outcome {
            case .delivered: (.delivered, nil, nil)
            case .retry(let at, let error): (.failed, at, error)
            case .dead(let error): (.dead, nil, error)
            case .cancelled(let reason): (.cancelled, nil, reason)
            }
            entry.leaseUntil = nil
            entry.record.updatedAt = now
            state.entries[id] = entry
            return nil
        }
        DispatchQueue.global().async { completion(failure) }
    }

    public func firstAttempt(of id: String) throws -> Timestamp? { state.withLock { $0.entries[id]?.firstAttempt } }

    public func gathered(into digest: DeliveryRecord) throws -> [DeliveryRecord] {
        state.withLock { state in state.entries.values.map(\.record).filter { $0.isGathered(into: digest) }.sorted { $0.id < $1.id } }
    }

    public func nextDueTime() throws -> Timestamp? {
        state.withLock { state in
            state.entries.values.compactMap { entry -> Int64? in
                switch entry.record.state {
                case .pending, .failed: entry.record.nextAttemptAt?.milliseconds
                case .inFlight: entry.leaseUntil?.milliseconds
                default: nil
                }
            }.min().map { Timestamp(milliseconds: $0) }
        }
    }

    public func deadLetters(limit: Int) throws -> [DeliveryRecord] {
        state.withLock { state in
            Array(state.entries.values.map(\.record).filter { $0.state == .dead }.sorted { $0.updatedAt.milliseconds > $1.updatedAt.milliseconds }.prefix(max(0, limit)))
        }
    }

    public func retryDead(_ id: String, at now: Timestamp) throws -> Bool {
        try state.withLock { state in
            if let failure = state.writeFailure { throw failure }
            guard var entry = state.entries[id], entry.record.state == .dead else { return false }
            entry.record.state = .pending
            entry.record.nextAttemptAt = now
            entry.record.updatedAt = now
            entry.firstAttempt = nil
            state.entries[id] = entry
            return true
        }
    }

    public func countsByState() throws -> [DeliveryState: Int] {
        state.withLock { state in
            var counts: [DeliveryState: Int] = [:]
            for entry in state.entries.values { counts[entry.record.state, default: 0] += 1 }
            return counts
        }
    }

    private static func insert(
        _ d: RoutedDelivery, state deliveryState: DeliveryState, reason: RoutingReason, replayID: String?, now: Timestamp, into state: inout State
    ) {
        let id = deliveryID(of: d)
        state.nextSequence += 1
        state.entries[id] = Entry(
            record: DeliveryRecord(
                id: id, alertID: d.alertID, alertOffset: d.alertOffset, subscriberID: d.subscriberID, channelID: d.channelID,
                channelType: d.channelType, reason: reason, clearance: d.clearance, severity: d.severity, state: deliveryState, attempts: 0,
                nextAttemptAt: deliveryState == .pending ? (d.dueAt ?? now) : nil, lastError: nil, createdAt: now, updatedAt: now, replayID: replayID,
                followUp: d.followUp),
            leaseUntil: nil, firstAttempt: nil, sequence: state.nextSequence)
    }
}
