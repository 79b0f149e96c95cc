import Dispatch
import Foundation
import Synchronization
import VigilConcurrency
import VigilCore
import VigilObservability

/// The delivery queue of the Kafka backend (DESIGN §2): routers write deliveries to
/// `vigil.deliveries.webhook` and `vigil.deliveries.email`, keyed by subscriber; workers in
/// the consumer group `vigil-workers` read them with the retry topic, and record each
/// outcome in `vigil.deliveries.outcomes` (keyed by delivery id), which every process
/// materialises for the status API, the dead letters and case recipients.
///
/// A worker commits a delivery's record only after its outcome (and, for a retry, the next
/// attempt on `vigil.deliveries.retry`; for a death, the copy on `vigil.deliveries.dead`)
/// is acknowledged. A worker that dies mid-send hands its partitions over from the last
/// commit, and the next owner sends what was not recorded: at least once, never lost.
/// Partition ownership plays the part of the embedded queue's lease.
public final class KafkaDeliveryQueue: DeliveryQueue, Sendable {
    /// Deliveries to webhooks.
    public static let webhookTopic = "vigil.deliveries.webhook"
    /// Deliveries by email.
    public static let emailTopic = "vigil.deliveries.email"
    /// Attempts scheduled for later.
    public static let retryTopic = "vigil.deliveries.retry"
    /// Deliveries given up on (a copy; the outcome says it too).
    public static let deadTopic = "vigil.deliveries.dead"
    /// Every delivery's latest state, keyed by delivery id.
    public static let outcomesTopic = "vigil.deliveries.outcomes"
    /// The consumer group of the workers.
    public static let group = "vigil-workers"

    private let connection: KafkaConnection
    /// Whether `close()` shuts `connection` down too (it was made for this queue alone).
    private let ownsConnection: Bool
    private var producer: KafkaProducer { connection.producer }
    private let completing = DispatchGroup()
    private let state: Mutex<State>

    /// Everything that changes, behind `state`'s one lock.
    private struct State {
        /// Reads `vigil.deliveries.outcomes` into `view`; set once it was read to its end.
        var outcomes: KafkaTopicFollower?
        var view: [String: DeliveryRecord] = [:]
        var byAlert: [String: [String]] = [:]
        /// The alerts routed to each subscriber (skipped ones included), for its feed.
        var bySubscriber: [String: Set<String>] = [:]
        var stopped = false

        // The worker side, when this process runs workers.
        var working: KafkaThread?
        /// Runs the consumer's commits in the order `finish` asks for them.
        let commits = DispatchQueue(label: "vigil.kafka.delivery-commits")
        var consumer: KafkaConsumer?
        var ready: [String: Pending] = [:]
        var claimed: [String: Pending] = [:]
        var outstanding: [TopicPartition: Set<Int64>] = [:]  // offsets read, not yet done
        var doneThrough: [TopicPartition: Int64] = [:]
        var rebalancesSeen = 0
        var isReadable: @Sendable (String) -> Bool = { _ in true }

        /// Puts `record` in the materialised view unless the view has a later state.
        mutating func apply(_ record: DeliveryRecord) {
            if let known = view[record.id] {
                if known.updatedAt > record.updatedAt { return }
            } else {
                byAlert[record.alertID, default: []].append(record.id)
                bySubscriber[record.subscriberID, default: []].insert(record.alertID)
            }
            view[record.id] = record
        }

        /// Whether the view shows `record` settled since it was written: delivered, dead or
        /// cancelled, or failed at a later attempt (whose retry copy carries on). A delivery
        /// shown in flight is not settled: its worker may have died before sending.
        func isSettled(_ record: DeliveryRecord) -> Bool {
            guard let known = view[record.id], known.updatedAt > record.updatedAt else { return false }
            return [.delivered, .dead, .cancelled].contains(known.state) || (known.state == .failed && known.attempts > record.attempts)
        }

        /// The last answer of `dueReadyExceeds` that counted, and when.
        var dueCheck: (at: Int64, exceeds: Bool)?

        /// Whether more than `limit` deliveries read are due at `now` (back-pressure: the
        /// workers are behind). Follow-ups waiting for their due time (an escalation in an
        /// hour, a reminder tomorrow) do not count, or enough of them would stop the reading
        /// of work that is due. Counting walks what is read, so an answer is reused for 100 ms
        /// (the reading thread asks after every record).
        mutating func dueReadyExceeds(_ limit: Int, at now: Timestamp) -> Bool {
            guard ready.count > limit else { return false }
            if let check = dueCheck, now.milliseconds &- check.at < 100, now.milliseconds >= check.at { return check.exceeds }
            var due = 0
            for pending in ready.values where (pending.message.record.nextAttemptAt ?? now) <= now {
                due += 1
                if due > limit { break }
            }
            dueCheck = (now.milliseconds, due > limit)
            return due > limit
        }

        /// Marks `offset` of `partition` done and commits through the first offset still
        /// outstanding (queued here, under the lock, so commits keep their order).
        mutating func finish(_ partition: TopicPartition, _ offset: Int64) {
            outstanding[partition]?.remove(offset)
            doneThrough[partition] = max(doneThrough[partition] ?? -1, offset)
            let commitBefore = outstanding[partition]?.min() ?? DeliveryArithmetic.sum(doneThrough[partition]!, 1)
            guard let consumer else { return }
            commits.async { _ = try? consumer.commit(partition, before: commitBefore) }
        }
    }

    /// A delivery read from a work topic, with where it came from.
    private struct Pending {
        var message: KafkaDeliveryMessage
        let source: KafkaRecord
    }

    /// The queue on `bootstrapServers` with clients of its own (their records signed and
    /// checked by `signer`); returns once the outcomes are read to their end.
    public convenience init(bootstrapServers: String, signer: KafkaRecordSigner, writeTimeout: Double = 10, timeout: Double = 30) throws(KafkaError) {
        try self.init(
            connection: KafkaConnection(bootstrapServers: bootstrapServers, signer: signer, writeTimeout: writeTimeout), owning: true,
            timeout: timeout)
    }

    /// The queue on `connection` (its producer, a follower of the outcomes and, once
    /// `startWorking`, a member of `vigil-workers`; the connection's owner shuts it down).
    public convenience init(connection: KafkaConnection, timeout: Double = 30) throws(KafkaError) {
        try self.init(connection: connection, owning: false, timeout: timeout)
    }

    private init(connection: KafkaConnection, owning: Bool, timeout: Double) throws(KafkaError) {
        self.connection = connection
        ownsConnection = owning
        state = Mutex(State())
        do {
            let outcomes = try connection.follow(
                [Self.outcomesTopic], name: "outcomes", timeout: timeout,
                onRecord: { [weak self] record in
                    guard let self, let message = Self.message(in: record, logger: connection.logger) else { return }
                    state.withLock { $0.apply(message.record) }
                },
                onError: { _ in 0.1 })
            state.withLock { $0.outcomes = outcomes }
        } catch {
            close()
            throw error
        }
    }

    /// The delivery in `record`, or `nil` (counted and logged as refused, unless it is a
    /// tombstone) when it holds none.
    static func message(in record: KafkaRecord, logger: Logger) -> KafkaDeliveryMessage? {
        guard !record.refused, let value = record.value else { return nil }  // a refused record was counted as it was read
        switch KafkaDeliveryMessage.decode(value) {
        case .success(let message): return message
        case .failure(let refusal):
            KafkaRecordRejections.record(topic: record.topic, partition: record.partition, offset: record.offset, reason: refusal.reason, logger: logger)
            return nil
        }
    }

    /// Writes every message to its topic and waits for all the delivery reports.
    private func publish(_ messages: [(topic: String, key: String, value: [UInt8])]) throws {
        try producer.produceAll(messages.map { ($0.topic, $0.key, $0.value) })
    }

    private static func topic(for kind: Channel.Kind) -> String { kind == .webhook ? webhookTopic : emailTopic }

    // MARK: DeliveryRecorder, ReplayQueue, DeliveryLedger

    public func record(_ deliveries: [RoutedDelivery]) throws {
        let now = Timestamp.now()
        // A delivery already under way is left alone; one only recorded as pending is written
        // again, as its work record may be what a failed earlier attempt did not write (a
        // second copy is harmless: workers send once and skip what is settled). A digest
        // written again keeps the alert that opened it, and a gathered alert the window it was
        // gathered into: routed again later (after a crash, a refused commit), it is still
        // listed by that window's digest only, not by the later window's too.
        let fresh = state.withLock { state in
            deliveries.map { routed -> KafkaDeliveryMessage in
                let message = KafkaDeliveryMessage(routed: routed, now: now)
                guard routed.followUp?.isDigest == true, let known = state.view[message.record.id] else { return message }
                return KafkaDeliveryMessage(record: known, firstAttemptAt: nil)
            }.filter { (state.view[$0.record.id]?.state ?? .pending) == .pending }
        }
        var messages: [(topic: String, key: String, value: [UInt8])] = []
        for message in fresh {
            let bytes = message.encoded()
            messages.append((Self.outcomesTopic, message.record.id, bytes))
            if message.record.state == .pending { messages.append((Self.topic(for: message.record.channelType), message.record.subscriberID, bytes)) }
        }
        try publish(messages)
        state.withLock { state in for message in fresh { state.apply(message.record) } }
    }

    public func deliveries(ofAlert id: String) throws -> [DeliveryRecord] {
        state.withLock { state in (state.byAlert[id] ?? []).compactMap { state.view[$0] }.sorted { $0.id < $1.id } }
    }

    public func alertIDs(routedTo subscriberID: String, limit: Int) throws -> [String] {
        guard limit > 0 else { return [] }
        // Log offsets sort partition by partition on Kafka, so "newest" is by alert id: a
        // ULID of the time the alert was received.
        return state.withLock { state in
            let routed = (state.bySubscriber[subscriberID] ?? []).filter { alertID in
                (state.byAlert[alertID] ?? []).contains { state.view[$0].map { $0.subscriberID == subscriberID && $0.state != .skipped } ?? false }
            }
            return Array(routed.sorted(by: >).prefix(limit))
        }
    }

    public func recipients(ofAlerts ids: [String]) throws -> Set<String> {
        state.withLock { state in
            Set(ids.flatMap { state.byAlert[$0] ?? [] }.compactMap { state.view[$0] }.filter { $0.state != .skipped && $0.followUp?.isDigest != true }
                .map(\.subscriberID))
        }
    }

    public func recordReplay(_ deliveries: [RoutedDelivery], replayID: String) throws -> Int {
        let now = Timestamp.now()
        let messages = deliveries.map { KafkaDeliveryMessage(routed: $0, now: now, replayID: replayID) }
        try publish(messages.flatMap { message -> [(topic: String, key: String, value: [UInt8])] in
            let bytes = message.encoded()
            return [(Self.outcomesTopic, message.record.id, bytes), (Self.topic(for: message.record.channelType), message.record.subscriberID, bytes)]
        })
        state.withLock { state in for message in messages { state.apply(message.record) } }
        return messages.count
    }

    // MARK: DeliveryWorkQueue

    /// Joins `vigil-workers` and starts reading work; `onAvailable` is called when new work
    /// arrives (the worker pool's poke). Deliveries of alerts this process cannot read yet
    /// (`isReadable` says no) wait in memory until it can.
    public func startWorking(isReadable: @escaping @Sendable (String) -> Bool, onAvailable: @escaping @Sendable () -> Void) throws(KafkaError) {
        let consumer = try connection.consumer(group: Self.group, topics: [Self.webhookTopic, Self.emailTopic, Self.retryTopic])
        state.withLock { state in
            state.consumer = consumer
            state.isReadable = isReadable
        }
        let working = try KafkaThread(name: "vigil-kafka-work") { [weak self] thread in
            while !thread.isStopping, let self {
                if state.withLock({ $0.dueReadyExceeds(10_000, at: .now()) }) {
                    _ = thread.pause(0.05)  // back-pressure: the workers are behind
                    continue
                }
                let record: KafkaRecord?
                do {
                    record = try consumer.poll(timeout: 0.1)
                } catch {
                    _ = thread.pause(0.1)
                    continue
                }
                dropRevoked(consumer)
                guard let record else { continue }
                take(record)
                onAvailable()
            }
        }
        state.withLock { $0.working = working }
    }

    /// Forgets buffered work of partitions this worker no longer owns; their next owner
    /// reads it from the group's commit.
    private func dropRevoked(_ consumer: KafkaConsumer) {
        let (owned, rebalances) = consumer.assignment
        state.withLock { state in
            guard rebalances != state.rebalancesSeen else { return }
            state.rebalancesSeen = rebalances
            let keep = Set(owned)
            state.ready = state.ready.filter { keep.contains($0.value.source.topicPartition) }
            state.outstanding = state.outstanding.filter { keep.contains($0.key) }
            state.doneThrough = state.doneThrough.filter { keep.contains($0.key) }
        }
    }

    private func take(_ record: KafkaRecord) {
        let partitionKey = record.topicPartition
        state.withLock { state in
            guard let message = Self.message(in: record, logger: connection.logger) else {
                state.finish(partitionKey, record.offset)  // not a delivery: nothing to do
                return
            }
            if state.isSettled(message.record) {
                state.finish(partitionKey, record.offset)
                return
            }
            state.outstanding[partitionKey, default: []].insert(record.offset)
            if let earlier = state.ready[message.record.id] {
                // A newer copy of a delivery not yet sent (a replay, a retry set off by hand): one send serves both.
                state.finish(earlier.source.topicPartition, earlier.source.offset)
            }
            state.ready[message.record.id] = Pending(message: message, source: record)
        }
    }

    public func claimDue(_ claim: ClaimRequest, now: Timestamp) throws -> [DeliveryRecord] {
        let producer = producer
        return state.withLock { state in
            // A copy read again (after a rebalance) while its first copy was being sent is
            // settled by now if that send was recorded: finish it instead of sending twice.
            for (id, pending) in state.ready where state.isSettled(pending.message.record) {
                state.ready.removeValue(forKey: id)
                state.finish(pending.source.topicPartition, pending.source.offset)
            }
            let candidates = state.ready.values.filter {
                ($0.message.record.nextAttemptAt ?? now) <= now && claim.admits(channelID: $0.message.record.channelID, severity: $0.message.record.severity)
                    && state.claimed[$0.message.record.id] == nil && state.isReadable($0.message.record.alertID)
            }.sorted { a, b in
                let (x, y) = (a.message.record, b.message.record)
                if (x.replayID == nil) != (y.replayID == nil) { return x.replayID == nil }  // live before replays
                if x.severity.rank != y.severity.rank { return x.severity.rank > y.severity.rank }
                return (x.nextAttemptAt ?? now) < (y.nextAttemptAt ?? now)
            }
            let due = claim.selecting(candidates, channelID: \.message.record.channelID, severity: \.message.record.severity)
            return due.map { pending in
                var taken = pending
                taken.message.record.attempts = DeliveryArithmetic.incremented(taken.message.record.attempts)
                taken.message.record.state = .inFlight
                taken.message.record.updatedAt = now
                if taken.message.firstAttemptAt == nil { taken.message.firstAttemptAt = now }
                state.ready.removeValue(forKey: pending.message.record.id)
                state.claimed[pending.message.record.id] = taken
                state.apply(taken.message.record)
                // Shown as in flight by every process; not waited for (the outcome that follows
                // goes through the same producer, so it cannot overtake this).
                producer.produce(topic: Self.outcomesTopic, key: Array(taken.message.record.id.utf8), value: taken.message.encoded()) { _ in }
                return taken.message.record
            }
        }
    }

    public func complete(
        _ id: String, outcome: DeliveryOutcome, settling gathered: [String], at now: Timestamp, completion: @escaping @Sendable (Error?) -> Void
    ) {
        guard let pending = state.withLock({ $0.claimed[id] }) else { return completion(KafkaError("delivery \(id) is not claimed by this worker")) }
        var next = pending.message
        next.record.updatedAt = now
        var messages: [(topic: String, key: String, value: [UInt8])] = []
        var settled: [DeliveryRecord] = []
        switch outcome {
        case .delivered:
            next.record.state = .delivered
            next.record.nextAttemptAt = nil
            next.record.lastError = nil
            // The alerts the digest listed are delivered with it; their own copies, waiting in
            // this worker for their fallback time (same subscriber key, same partition), are
            // dropped as settled at the next claim.
            settled = state.withLock { state in
                gathered.compactMap { state.view[$0] }.filter { $0.state == .pending || $0.state == .failed }.map { member in
                    var member = member
                    member.state = .delivered
                    member.nextAttemptAt = nil
                    member.lastError = nil
                    member.updatedAt = now
                    return member
                }
            }
            messages += settled.map { (Self.outcomesTopic, $0.id, KafkaDeliveryMessage(record: $0, firstAttemptAt: nil).encoded()) }
        case .retry(let at, let error):
            next.record.state = .failed
            next.record.nextAttemptAt = at
            next.record.lastError = error
            messages.append((Self.retryTopic, next.record.subscriberID, next.encoded()))
        case .dead(let error):
            next.record.state = .dead
            next.record.nextAttemptAt = nil
            next.record.lastError = error
            messages.append((Self.deadTopic, next.record.subscriberID, next.encoded()))
        case .cancelled(let reason):
            next.record.state = .cancelled
            next.record.nextAttemptAt = nil
            next.record.lastError = reason
        }
        messages.append((Self.outcomesTopic, next.record.id, next.encoded()))
        let finished = next, writes = messages, settledMembers = settled
        completing.enter()
        DispatchQueue.global().async { [self] in
            defer { completing.leave() }
            do {
                try publish(writes)
            } catch {
                // Left claimed: the record stays uncommitted, and the partition's next owner sends it again.
                return completion(error)
            }
            state.withLock { state in
                state.claimed.removeValue(forKey: id)
                for member in settledMembers { state.apply(member) }
                state.apply(finished.record)
                state.finish(pending.source.topicPartition, pending.source.offset)
            }
            completion(nil)
        }
    }

    public func gathered(into digest: DeliveryRecord) throws -> [DeliveryRecord] {
        state.withLock { state in
            (state.bySubscriber[digest.subscriberID] ?? []).flatMap { state.byAlert[$0] ?? [] }.compactMap { state.view[$0] }
                .filter { $0.isGathered(into: digest) }
        }
    }

    public func firstAttempt(of id: String) throws -> Timestamp? { state.withLock { $0.claimed[id]?.message.firstAttemptAt } }

    public func nextDueTime() throws -> Timestamp? { state.withLock { $0.ready.values.compactMap(\.message.record.nextAttemptAt).min() } }

    public func deadLetters(limit: Int) throws -> [DeliveryRecord] {
        state.withLock { Array($0.view.values.filter { $0.state == .dead }.sorted { $0.updatedAt > $1.updatedAt }.prefix(limit)) }
    }

    public func retryDead(_ id: String, at now: Timestamp) throws -> Bool {
        guard var record = state.withLock({ $0.view[id] }), record.state == .dead else { return false }
        record.state = .pending
        record.attempts = 0
        record.nextAttemptAt = now
        record.lastError = nil
        record.updatedAt = now
        let bytes = KafkaDeliveryMessage(record: record, firstAttemptAt: nil).encoded()
        try publish([(Self.outcomesTopic, id, bytes), (Self.retryTopic, record.subscriberID, bytes)])
        state.withLock { $0.apply(record) }
        return true
    }

    public func countsByState() throws -> [DeliveryState: Int] {
        state.withLock { $0.view.values.reduce(into: [:]) { $0[$1.state, default: 0] += 1 } }
    }

    /// Leaves the workers' group and stops reading; outcomes in flight are flushed.
    public func close() {
        let first = state.withLock { state in
            defer { state.stopped = true }
            return !state.stopped
        }
        guard first else { return }
        // Outcomes being recorded, then their commits (`BlockingPool.wait`: close is called
        // from a thread that may block, the service's shutdown or a test).
        _ = BlockingPool.wait(for: completing, timeout: 15)
        state.withLock { $0.working }?.join()
        state.withLock { $0.outcomes }?.stop()
        let commits = state.withLock { $0.commits }
        BlockingPool.wait { (done: @escaping @Sendable () -> Void) in commits.async { done() } }
        state.withLock { $0.consumer }?.close()
        if ownsConnection {
            connection.shutdown()
        } else {
            try? producer.flush(timeout: 5)
        }
    }
}
