import CRdKafka
import Dispatch
import Foundation
import Synchronization
import VigilConcurrency
import VigilObservability

/// A reader of whole topics, outside any consumer group: it is assigned every partition
/// from the beginning, never commits, and says when it has caught up. Every Vigil process
/// uses one to materialise the log, the data keys and the other compacted topics in memory.
public final class KafkaTopicReader: Sendable {
    private let client: KafkaClientHandle
    private let partitionCount: [String: Int]
    private let signer: KafkaRecordSigner?
    private let logger: Logger
    /// The partitions read to their end at least once, and the completions of the callers
    /// waiting until all are (see `waitUntilCaughtUp`).
    private let atEnd = Mutex(CatchingUp())

    private struct CatchingUp {
        var partitions: Set<TopicPartition> = []
        var waiters: [UInt64: @Sendable () -> Void] = [:]
        var nextWaiter: UInt64 = 0
    }

    /// Reads every partition of `topics` on `bootstrapServers` from the start; fails when a
    /// topic does not exist (run `vigil kafka init`, or `vigil dev kafka` for the mock).
    /// librdkafka's log lines go to `logger`.
    /// With `signer`, a record it does not verify comes back `refused` (counted in
    /// `KafkaRecordRejections` and logged to `logger`).
    public init(
        bootstrapServers: String, topics: [String], extra: [(String, String)] = [], signer: KafkaRecordSigner? = nil, logger: Logger = Logger(label: "kafka")
    ) throws(KafkaError) {
        self.signer = signer
        self.logger = logger
        // A group id is required by the consumer API; nothing is ever committed under it.
        var configuration = KafkaConfiguration.consumer(bootstrapServers: bootstrapServers, group: "vigil-reader")
        configuration.set("enable.partition.eof", "true")
        for (key, value) in extra { configuration.set(key, value) }
        let context = KafkaClientContext(logger: logger)
        let client = try KafkaClientHandle.consumer(try configuration.makeHandle(context: context), what: "Kafka topic reader", context: context)
        self.client = client
        var counts: [String: Int] = [:]
        var assigned: [(TopicPartition, offset: Int64)] = []
        for topic in topics {
            let count = try client.partitionCount(topic: topic)
            counts[topic] = count
            for partition in 0..<count { assigned.append((TopicPartition(topic, Int32(partition)), offset: Int64(RD_KAFKA_OFFSET_BEGINNING))) }
        }
        partitionCount = counts
        try client.withClient { client throws(KafkaError) in
            rd_kafka_poll_set_consumer(client)
            let code = try KafkaClientHandle.withPartitionList(assigned) { rd_kafka_assign(client, $0) }
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError("cannot read \(topics.joined(separator: ", ")): \(KafkaClientHandle.describe(code))")
            }
        }
    }

    /// The number of partitions of `topic` as found at start.
    public func partitions(of topic: String) -> Int { partitionCount[topic] ?? 0 }

    private var totalPartitions: Int { partitionCount.values.reduce(0, +) }

    /// `true` once every partition has been read to the end at least once.
    public var caughtUp: Bool { atEnd.withLock { $0.partitions.count } >= totalPartitions }

    /// Waits until every partition has been read to its end at least once (another thread
    /// polls); `false` when `timeout` seconds passed first. It blocks its thread
    /// (`BlockingPool.wait`): call it where a thread may block (starting a process, a test).
    public func waitUntilCaughtUp(timeout: Double) -> Bool {
        let total = totalPartitions
        var id: UInt64 = 0
        let reached = BlockingPool.wait(timeout: timeout) { (reached: @escaping @Sendable () -> Void) in
            let done = atEnd.withLock { state in
                guard state.partitions.count < total else { return true }
                id = state.nextWaiter
                state.nextWaiter += 1
                state.waiters[id] = reached
                return false
            }
            if done { reached() }
        }
        guard !reached else { return true }
        return atEnd.withLock { state in
            state.waiters[id] = nil
            return state.partitions.count >= total
        }
    }

    /// The next record, or `nil` when none arrived within `timeout` seconds. One that fails
    /// its signature is counted in `KafkaRecordRejections`, logged, and returned `refused`.
    public func poll(timeout: Double) throws(KafkaError) -> KafkaRecord? {
        switch try client.poll(timeout: timeout) {
        case .record(var record):
            if let signer, !signer.verifies(record) {
                KafkaRecordRejections.record(
                    topic: record.topic, partition: record.partition, offset: record.offset, reason: KafkaRecordSigner.refusal(of: record),
                    logger: logger)
                record.refused = true
            }
            return record
        case .endOfPartition(let partition):
            let total = totalPartitions
            let reached: [@Sendable () -> Void] = atEnd.withLock { state in
                guard state.partitions.insert(partition).inserted, state.partitions.count == total else { return [] }
                defer { state.waiters = [:] }
                return Array(state.waiters.values)
            }
            for waiter in reached { waiter() }
            return nil
        case .nothing: return nil
        }
    }

    /// Stops reading and frees the client (once a poll in progress has returned); a later
    /// poll throws. Idempotent.
    public func close() { client.shutdown() }
}
