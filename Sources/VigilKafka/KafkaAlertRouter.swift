import Dispatch
import Foundation
import Synchronization
import VigilConcurrency
import VigilCore
import VigilObservability
import VigilStore

/// The router of the Kafka backend: a member of the consumer group `vigil-router` on
/// `vigil.alerts` and `vigil.submissions`. Any number of them share the partitions; each record is committed only
/// after what it asked for is durable, so a router killed mid-stream hands its partitions
/// over from the last commit and nothing is lost (a record may be routed twice; the
/// deliveries' stable ids make the second time change nothing).
///
/// Signed alerts are routed. Alert JSON an outside Kafka producer wrote to `vigil.submissions` is validated
/// exactly as `POST /v1/alerts` would, then appended as a signed record (its position is the
/// idempotency key, so a crash between the append and the commit cannot file it twice) and
/// routed when it comes round. Anything else goes to `vigil.alerts.invalid` with the reason.
public final class KafkaAlertRouter: AlertRouting, Sendable {
    /// The consumer group every router joins.
    public static let group = "vigil-router"

    private let connection: KafkaConnection
    private let log: KafkaAlertLog
    private let recorder: any DeliveryRecorder
    private let routing: BatchRouting
    /// The ingest path outside alert JSON is filed through, as `POST /v1/alerts` files.
    private let intake: AlertIntake
    private let metrics: Metrics
    private let logger: Logger
    private let state = Mutex(State())

    /// What the routing loop shares with `start`, `stop` and the readers of its progress.
    private struct State {
        var consumer: KafkaConsumer?
        /// The routing loop's own thread (it polls and waits for acks: a dedicated thread may block).
        var loop: KafkaThread?
        var routed: LogOffset = 0
        var routedListeners: [@Sendable (LogOffset) -> Void] = []
    }

    /// A router reading `log`'s topic into `recorder` through a consumer of `connection`;
    /// case reminders come `eventReminderSeconds` before a case's next event.
    public init(
        connection: KafkaConnection, log: KafkaAlertLog, recorder: any DeliveryRecorder, subscribers: SubscriberRegistry, intake: AlertIntake,
        metrics: Metrics, logger: Logger, eventReminderSeconds: Int64 = BatchRouting.defaultEventReminderSeconds
    ) {
        self.connection = connection
        self.log = log
        self.recorder = recorder
        self.routing = BatchRouting(
            log: log, recipients: recorder, subscribers: subscribers, metrics: metrics, eventReminderSeconds: eventReminderSeconds)
        self.intake = intake
        self.metrics = metrics
        self.logger = logger
    }

    public func onRouted(_ listener: @escaping @Sendable (LogOffset) -> Void) { state.withLock { $0.routedListeners.append(listener) } }

    public var routedOffset: LogOffset { state.withLock { $0.routed } }

    public var lag: Int64? {
        guard let consumer = state.withLock({ $0.consumer }) else { return nil }
        return try? consumer.groupLag(topic: KafkaAlertLog.topic, partitions: log.partitions)
    }

    public func start() throws {
        let consumer = try connection.consumer(group: Self.group, topics: [KafkaAlertLog.topic, KafkaAlertLog.submissionsTopic])
        state.withLock { $0.consumer = consumer }
        let loop = try KafkaThread(name: "vigil-router") { [self] thread in
            var pending: [KafkaRecord] = []
            while !thread.isStopping {
                do {
                    // Take what has arrived (up to 256 records), do each, then commit each
                    // partition once: a commit per record cost a coordinator round trip each.
                    if pending.isEmpty {
                        while pending.count < 256, let record = try consumer.poll(timeout: pending.isEmpty ? 0.1 : 0) { pending.append(record) }
                    }
                    guard !pending.isEmpty else { continue }
                    var done: [TopicPartition: KafkaRecord] = [:]
                    defer { commit(done, consumer) }
                    // Signed alerts are routed together, one write for the batch's deliveries;
                    // anything else is done alone, in order.
                    var alerts: [(StoredAlert, KafkaRecord)] = []
                    func flush() throws {
                        guard !alerts.isEmpty else { return }
                        try route(alerts.map(\.0))
                        for (_, record) in alerts { done[record.topicPartition] = record }
                        pending.removeFirst(alerts.count)
                        alerts.removeAll()
                    }
                    for record in pending {
                        let intake = try log.intake(record)
                        if case .alert(let stored) = intake {
                            alerts.append((stored, record))
                            continue
                        }
                        try flush()
                        try take(intake, record)
                        done[record.topicPartition] = record
                        pending.removeFirst()
                    }
                    try flush()
                } catch {
                    logger.error("router cannot take a record; retrying in 1 s", ["error": String(describing: error)])
                    _ = thread.pause(1)
                }
            }
        }
        state.withLock { $0.loop = loop }
        logger.info("router joined the Kafka group", ["group": Self.group, "topics": "\(KafkaAlertLog.topic),\(KafkaAlertLog.submissionsTopic)"])
    }

    /// Commits the last record done in each partition.
    private func commit(_ done: [TopicPartition: KafkaRecord], _ consumer: KafkaConsumer) {
        for record in done.values {
            do {
                if try !consumer.commit(record) {
                    logger.info("commit refused during a rebalance; the partition's next owner reads its records again", [
                        "partition": String(record.partition), "offset": String(record.offset),
                    ])
                }
            } catch {
                logger.error("cannot commit; the records are routed again after a restart", ["error": error.description])
            }
        }
    }

    /// Routes `batch` and records its deliveries in one write.
    private func route(_ batch: [StoredAlert]) throws {
        guard let last = batch.last else { return }
        let deliveries = try routing.deliveries(for: batch)
        try recorder.record(deliveries)
        routing.counted(batch, deliveries: deliveries.count)
        let listeners = state.withLock { state in
            state.routed = max(state.routed, batch.map(\.offset).max() ?? 0)
            return state.routedListeners
        }
        for listener in listeners { listener(last.offset) }
    }

    /// Does what a record that is not a routable alert asks, and returns once it is durable.
    private func take(_ intake: KafkaAlertLog.Intake, _ record: KafkaRecord) throws {
        switch intake {
        case .alert(let stored):
            try route([stored])
        case .duplicate:
            logger.info("skipped a second copy of an alert filed twice at once", ["partition": String(record.partition), "offset": String(record.offset)])
        case .invalid(let reason):
            try quarantine(record, reason)
        case .refused:
            return
        case .submission(let body):
            try file(body, from: record)
        }
    }

    /// Validates alert JSON an outside producer wrote and appends it as a signed record.
    private func file(_ body: [UInt8], from record: KafkaRecord) throws {
        // Its position is the idempotency key: a crash between the append and the commit cannot file it twice.
        let claim = intake.claim(organisation: "kafka:\(record.topic)", key: "\(record.partition):\(record.offset)", body: body)
        // On the routing thread, a dedicated one: it may wait for the append's acknowledgement.
        let outcome = BlockingPool.wait { (filed: @escaping @Sendable (AlertIntake.Outcome) -> Void) in
            intake.file(body, by: .body, claim: claim, completion: filed)
        }
        switch outcome {
        case .invalid(let failure):
            try quarantine(record, failure.description)
        case .refused(_, let refusal):
            metrics.increment("vigil_alerts_rejected_total", labels: "reason=\"\(refusal == .notFiler ? "forbidden" : "validation")\"")
            try quarantine(record, refusal.description)
        case .unreadable(let error):
            throw error
        case .notStored(let error):
            throw error
        case .accepted(_, let receipt):
            logger.info("filed an alert written straight to Kafka", [
                "alert": receipt.id, "partition": String(record.partition), "offset": String(record.offset),
            ])
        }
    }

    private func quarantine(_ record: KafkaRecord, _ reason: String) throws {
        try log.quarantine(record, reason: reason)
        logger.warning("record sent to \(KafkaAlertLog.invalidTopic)", [
            "partition": String(record.partition), "offset": String(record.offset), "reason": reason,
        ])
    }

    /// Leaves the group after the record in hand; its partitions move to the other routers at once.
    public func stop() {
        let loop = state.withLock { $0.loop }
        loop?.stop()
        loop?.join()
        state.withLock { $0.consumer }?.close()
    }
}
