import Dispatch
import Foundation
import VigilKafka
import VigilStore

/// What every process of the Kafka backend keeps of `vigil.subscribers`, `vigil.tokens`,
/// `vigil.audit` and `vigil.replays`:
/// it empties its local tables, reads both compacted topics from the start into them, and
/// keeps following, so a subscriber or token created through any process is known to all
/// within moments. The tables are a cache; the topics are the truth.
final class KafkaStateReplica: @unchecked Sendable {
    static let subscribersTopic = "vigil.subscribers"
    static let tokensTopic = "vigil.tokens"
    static let auditTopic = "vigil.audit"
    static let replaysTopic = "vigil.replays"

    private let reader: KafkaTopicReader
    private let subscribers: SubscriberRegistry?
    private let tokens: TokenStore
    private let audit: AuditTrail?
    private let replays: ReplayStore?
    private let logger: Logger
    private let queue = DispatchQueue(label: "vigil.kafka.state-replica")
    private let running = DispatchGroup()
    private let lock = NSLock()
    private var stopped = false

    /// Empties the local tables and reads the topics to their end (at most `timeout` seconds);
    /// without `subscribers` and `audit`, only the tokens (the `vigil tokens` command).
    init(
        bootstrapServers: String, subscribers: SubscriberRegistry?, tokens: TokenStore, audit: AuditTrail? = nil, replays: ReplayStore? = nil,
        logger: Logger, timeout: Double = 30
    ) throws {
        self.subscribers = subscribers
        self.tokens = tokens
        self.audit = audit
        self.replays = replays
        self.logger = logger
        var topics = [Self.tokensTopic]
        if subscribers != nil { topics.append(Self.subscribersTopic) }
        if audit != nil { topics.append(Self.auditTopic) }
        if replays != nil { topics.append(Self.replaysTopic) }
        reader = try KafkaTopicReader(bootstrapServers: bootstrapServers, topics: topics)
        try subscribers?.clearReplica()
        try audit?.clearReplica()
        try replays?.clearReplica()
        try tokens.clearReplica()
        running.enter()
        queue.async { [self] in
            defer { running.leave() }
            while !lock.withLock({ stopped }) { applyNext() }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while !reader.caughtUp {
            guard Date() < deadline else {
                stop()
                throw KafkaError("could not read \(Self.subscribersTopic) and \(Self.tokensTopic) to their end within \(Int(timeout)) s")
            }
            usleep(10_000)
        }
        try audit?.waitForReplica()
    }

    private func applyNext() {
        let record: KafkaRecord?
        do {
            record = try reader.poll(timeout: 0.1)
        } catch {
            logger.error("cannot read the shared state; retrying", ["error": error.description])
            usleep(500_000)
            return
        }
        guard let record, let key = record.key else { return }
        let id = String(decoding: key, as: UTF8.self)
        // Subscriber and token records hold only whole numbers, which their stores convert
        // to Int64: one out of range (`created_at: 1e19`) would trap there, so it is refused here.
        if record.topic == Self.subscribersTopic || record.topic == Self.tokensTopic, let value = record.value,
            let problem = KafkaRecordRejections.numberOutOfRange(in: value) {
            return refuse(record, problem)
        }
        do {
            if record.topic == Self.subscribersTopic {
                try subscribers?.applyReplica(id: id, snapshot: record.value)
            } else if record.topic == Self.replaysTopic {
                try replays?.applyReplica(id: id, value: record.value)
            } else if record.topic == Self.auditTopic {
                if let value = record.value { try audit?.applyReplica(value) }
            } else {
                try tokens.applyReplica(id: id, row: record.value)
            }
        } catch {
            refuse(record, String(describing: error))
        }
    }

    /// Skips `record`, with a log line and a count in `KafkaRecordRejections`.
    private func refuse(_ record: KafkaRecord, _ reason: String) {
        logger.error("cannot apply a shared-state record; it is skipped", [
            "topic": record.topic, "partition": String(record.partition), "offset": String(record.offset), "error": reason,
        ])
        KafkaRecordRejections.count(topic: record.topic)
    }

    /// Stops following the topics.
    func stop() {
        lock.withLock { stopped = true }
        running.wait()
        reader.close()
    }
}
