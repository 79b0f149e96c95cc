import CRdKafka
import Foundation
import Synchronization
import VigilObservability

/// One message read from Kafka.
public struct KafkaRecord: Sendable, Equatable {
    /// The topic it came from.
    public let topic: String
    /// Its partition.
    public let partition: Int32
    /// Its offset in the partition.
    public let offset: Int64
    /// Its key, if it has one.
    public let key: [UInt8]?
    /// Its value; `nil` for a tombstone.
    public let value: [UInt8]?
    /// The broker's or producer's timestamp, in milliseconds since 1970.
    public let timestamp: Int64
    /// Its `vigil-mac` header, if it has one (`KafkaRecordSigner` checks it).
    public let signature: [UInt8]?
    /// Whether its signature failed: a consumer hands such a record on, so its offset can be
    /// committed in order, but nothing may be applied from it (it was counted and logged).
    public internal(set) var refused = false

    /// The partition it came from.
    public var topicPartition: TopicPartition { TopicPartition(topic, partition) }
}

/// A member of a consumer group with explicit commits: a record counts as consumed only
/// when `commit` says so, after the work it asked for is durable elsewhere. On a rebalance
/// the partitions move to the other members from the last commit; `close` leaves the group
/// at once, so no partition waits out the session timeout after a clean stop.
public final class KafkaConsumer: Sendable {
    private let client: KafkaClientHandle
    private let rebalances: Rebalances
    private let signer: KafkaRecordSigner?
    private let logger: Logger

    /// Joins `group` on `bootstrapServers` and subscribes to `topics`, reading from the
    /// beginning where the group has no commit yet. With `signer`, a record it does not
    /// verify comes back `refused`. librdkafka's log lines, and refused records', go to `logger`.
    public init(
        bootstrapServers: String, group: String, topics: [String], extra: [(String, String)] = [], signer: KafkaRecordSigner? = nil,
        logger: Logger = Logger(label: "kafka")
    ) throws(KafkaError) {
        self.signer = signer
        self.logger = logger
        var configuration = KafkaConfiguration.consumer(bootstrapServers: bootstrapServers, group: group)
        configuration.set("auto.offset.reset", "earliest")
        configuration.set("session.timeout.ms", "6000")
        configuration.set("heartbeat.interval.ms", "500")
        for (key, value) in extra { configuration.set(key, value) }
        let rebalances = Rebalances()
        let context = KafkaClientContext(logger: logger, rebalances: rebalances)
        let conf = try configuration.makeHandle(context: context)
        rd_kafka_conf_set_rebalance_cb(conf) { client, code, partitions, _ in
            // Commits are made per record as work completes, so a revocation needs no
            // extra commit: hand the partitions back and record what happened.
            if code == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
                rd_kafka_assign(client, partitions)
            } else {
                rd_kafka_assign(client, nil)
            }
            guard let rebalances = KafkaClientContext.of(client)?.rebalances else { return }
            var owned: [TopicPartition] = []
            if let list = partitions?.pointee, code == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
                for i in 0..<Int(list.cnt) { owned.append(TopicPartition(String(cString: list.elems[i].topic), list.elems[i].partition)) }
            }
            rebalances.record(owned)
        }
        self.rebalances = rebalances
        // The callbacks' opaque pointer is `context`: it lives as long as the client.
        client = try KafkaClientHandle.consumer(conf, what: "Kafka consumer", context: context)
        let subscribe = topics.map { (TopicPartition($0, RD_KAFKA_PARTITION_UA), offset: Int64(RD_KAFKA_OFFSET_INVALID)) }
        try client.withClient { client throws(KafkaError) in
            rd_kafka_poll_set_consumer(client)
            let code = try KafkaClientHandle.withPartitionList(subscribe) { rd_kafka_subscribe(client, $0) }
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError("cannot subscribe to \(topics.joined(separator: ", ")): \(KafkaClientHandle.describe(code))")
            }
        }
    }

    /// The next record, or `nil` when none arrived within `timeout` seconds. One that fails
    /// its signature is counted in `KafkaRecordRejections`, logged, and returned `refused`.
    public func poll(timeout: Double) throws(KafkaError) -> KafkaRecord? {
        guard case .record(var record) = try client.poll(timeout: timeout) else { return nil }
        if let signer, !signer.verifies(record) {
            KafkaRecordRejections.record(
                topic: record.topic, partition: record.partition, offset: record.offset, reason: KafkaRecordSigner.refusal(of: record), logger: logger)
            record.refused = true
        }
        return record
    }

    /// Commits `record` and everything before it in its partition, synchronously. Returns
    /// `false` when the group was rebalancing and the commit was refused: the partition may
    /// have moved, and its next owner reads the record again (at least once, never lost).
    @discardableResult
    public func commit(_ record: KafkaRecord) throws(KafkaError) -> Bool {
        try commit(record.topicPartition, before: record.offset + 1)
    }

    /// Commits every record of `partition` before offset `next` (the next to read),
    /// synchronously; `false` when a rebalance refused it, as `commit(_:)`.
    @discardableResult
    public func commit(_ partition: TopicPartition, before next: Int64) throws(KafkaError) -> Bool {
        let code = try client.withClient { client throws(KafkaError) in
            try KafkaClientHandle.withPartitionList([(partition, offset: next)]) { rd_kafka_commit(client, $0, 0) }
        }
        if [RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION, RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID].contains(code) {
            return false
        }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError("cannot commit \(partition) before offset \(next): \(KafkaClientHandle.describe(code))")
        }
        return true
    }

    /// How many records of `topic`'s partitions `0..<partitions` the whole group has not
    /// committed yet: the sum of each partition's high watermark minus the group's commit
    /// (or the low watermark where it has none), asked of the brokers, not from a cache.
    public func groupLag(topic: String, partitions: Int, timeout: Double = 2) throws(KafkaError) -> Int64 {
        let asked = (0..<partitions).map { (TopicPartition(topic, Int32($0)), offset: Int64(RD_KAFKA_OFFSET_INVALID)) }
        return try client.withClient { client throws(KafkaError) in
            try KafkaClientHandle.withPartitionList(asked) { list throws(KafkaError) in
                let code = rd_kafka_committed(client, list, Int32(timeout * 1000))
                guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    throw KafkaError("cannot read the group's commits on \(topic): \(KafkaClientHandle.describe(code))")
                }
                var lag: Int64 = 0
                for i in 0..<Int(list.pointee.cnt) {
                    let element = list.pointee.elems[i]
                    var low: Int64 = 0, high: Int64 = 0
                    let watermarks = rd_kafka_query_watermark_offsets(client, topic, element.partition, &low, &high, Int32(timeout * 1000))
                    guard watermarks == RD_KAFKA_RESP_ERR_NO_ERROR else {
                        throw KafkaError("cannot read the end of \(topic)/\(element.partition): \(KafkaClientHandle.describe(watermarks))")
                    }
                    lag += max(0, high - (element.offset >= 0 ? element.offset : low))
                }
                return lag
            }
        }
    }

    /// The partitions this member owns now, and how many rebalances it has seen.
    public var assignment: (partitions: [TopicPartition], rebalances: Int) { rebalances.current }

    /// Leaves the group now (the partitions move to the other members at once) and frees
    /// the client, or, while another thread is inside a call, as that call returns. Any call
    /// after this throws. Idempotent.
    public func close() { client.shutdown() }

    /// What the rebalance callback saw, read by `assignment`.
    final class Rebalances: Sendable {
        private let state = Mutex<(owned: [TopicPartition], count: Int)>(([], 0))
        func record(_ partitions: [TopicPartition]) { state.withLock { $0 = (partitions.sorted(), $0.count + 1) } }
        var current: ([TopicPartition], Int) { state.withLock { ($0.owned, $0.count) } }
    }
}
