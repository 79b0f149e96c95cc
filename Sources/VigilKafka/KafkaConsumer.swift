import CRdKafka
import Foundation

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
}

/// A member of a consumer group with explicit commits: a record counts as consumed only
/// when `commit` says so, after the work it asked for is durable elsewhere. On a rebalance
/// the partitions move to the other members from the last commit; `close` leaves the group
/// at once, so no partition waits out the session timeout after a clean stop.
public final class KafkaConsumer: @unchecked Sendable {
    private let handle: ConsumerClient
    private var client: OpaquePointer { handle.pointer }
    private let rebalances: Rebalances

    /// Joins `group` on `bootstrapServers` and subscribes to `topics`, reading from the
    /// beginning where the group has no commit yet.
    public init(bootstrapServers: String, group: String, topics: [String], extra: [(String, String)] = []) throws(KafkaError) {
        var configuration = KafkaConfiguration.consumer(bootstrapServers: bootstrapServers, group: group)
        configuration.set("auto.offset.reset", "earliest")
        configuration.set("session.timeout.ms", "6000")
        configuration.set("heartbeat.interval.ms", "500")
        for (key, value) in extra { configuration.set(key, value) }
        let conf = try configuration.makeHandle()
        let rebalances = Rebalances()
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(rebalances).toOpaque())
        rd_kafka_conf_set_rebalance_cb(conf) { client, code, partitions, opaque in
            // Commits are made per record as work completes, so a revocation needs no
            // extra commit: hand the partitions back and record what happened.
            if code == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
                rd_kafka_assign(client, partitions)
            } else {
                rd_kafka_assign(client, nil)
            }
            guard let opaque else { return }
            var owned: [String] = []
            if let list = partitions?.pointee, code == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
                for i in 0..<Int(list.cnt) { owned.append("\(String(cString: list.elems[i].topic))/\(list.elems[i].partition)") }
            }
            Unmanaged<Rebalances>.fromOpaque(opaque).takeUnretainedValue().record(owned)
        }
        self.rebalances = rebalances
        handle = ConsumerClient(try KafkaClientHandle.make(RD_KAFKA_CONSUMER, conf, what: "Kafka consumer"))
        rd_kafka_poll_set_consumer(client)
        guard let list = rd_kafka_topic_partition_list_new(Int32(topics.count)) else { throw KafkaError("out of memory") }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics { rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA) }
        let code = rd_kafka_subscribe(client, list)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError("cannot subscribe to \(topics.joined(separator: ", ")): \(KafkaClientHandle.describe(code))")
        }
    }

    /// The next record, or `nil` when none arrived within `timeout` seconds.
    public func poll(timeout: Double) throws(KafkaError) -> KafkaRecord? {
        if case .record(let record) = try KafkaClientHandle.poll(client, timeout: timeout) { return record }
        return nil
    }

    /// Commits `record` and everything before it in its partition, synchronously. Returns
    /// `false` when the group was rebalancing and the commit was refused: the partition may
    /// have moved, and its next owner reads the record again (at least once, never lost).
    @discardableResult
    public func commit(_ record: KafkaRecord) throws(KafkaError) -> Bool {
        try commit(topic: record.topic, partition: record.partition, before: record.offset + 1)
    }

    /// Commits every record of `topic`/`partition` before offset `next` (the next to read),
    /// synchronously; `false` when a rebalance refused it, as `commit(_:)`.
    @discardableResult
    public func commit(topic: String, partition: Int32, before next: Int64) throws(KafkaError) -> Bool {
        guard let list = rd_kafka_topic_partition_list_new(1) else { throw KafkaError("out of memory") }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        rd_kafka_topic_partition_list_add(list, topic, partition).pointee.offset = next
        let code = rd_kafka_commit(client, list, 0)
        if [RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION, RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID].contains(code) {
            return false
        }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError("cannot commit \(topic)/\(partition) before offset \(next): \(KafkaClientHandle.describe(code))")
        }
        return true
    }

    /// How many records of `topic`'s partitions `0..<partitions` the whole group has not
    /// committed yet: the sum of each partition's high watermark minus the group's commit
    /// (or the low watermark where it has none), asked of the brokers, not from a cache.
    public func groupLag(topic: String, partitions: Int, timeout: Double = 2) throws(KafkaError) -> Int64 {
        guard let list = rd_kafka_topic_partition_list_new(Int32(partitions)) else { throw KafkaError("out of memory") }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in 0..<partitions { rd_kafka_topic_partition_list_add(list, topic, Int32(partition)) }
        let code = rd_kafka_committed(client, list, Int32(timeout * 1000))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("cannot read the group's commits on \(topic): \(KafkaClientHandle.describe(code))") }
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

    /// The partitions this member owns now, as `topic/partition`, and how many rebalances
    /// it has seen.
    public var assignment: (partitions: [String], rebalances: Int) { rebalances.current }

    /// Leaves the group now (the partitions move to the other members at once) and frees
    /// the client. Polling after this is an error.
    public func close() { handle.close() }

    /// What the rebalance callback saw, read by `assignment`.
    private final class Rebalances: @unchecked Sendable {
        private let lock = NSLock()
        private var owned: [String] = []
        private var count = 0
        func record(_ partitions: [String]) { lock.withLock { owned = partitions.sorted(); count += 1 } }
        var current: ([String], Int) { lock.withLock { (owned, count) } }
    }
}
