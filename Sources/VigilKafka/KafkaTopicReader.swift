import CRdKafka
import Foundation

/// A reader of whole topics, outside any consumer group: it is assigned every partition
/// from the beginning, never commits, and says when it has caught up. Every Vigil process
/// uses one to materialise the log, the data keys and the other compacted topics in memory.
public final class KafkaTopicReader: @unchecked Sendable {
    private let handle: ConsumerClient
    private var client: OpaquePointer { handle.pointer }
    private let lock = NSLock()
    private var partitionCount: [String: Int] = [:]
    private var atEnd: Set<String> = []

    /// Reads every partition of `topics` on `bootstrapServers` from the start; fails when a
    /// topic does not exist (run `vigil kafka init`, or `vigil dev kafka` for the mock).
    public init(bootstrapServers: String, topics: [String], extra: [(String, String)] = []) throws(KafkaError) {
        // A group id is required by the consumer API; nothing is ever committed under it.
        var configuration = KafkaConfiguration.consumer(bootstrapServers: bootstrapServers, group: "vigil-reader")
        configuration.set("enable.partition.eof", "true")
        for (key, value) in extra { configuration.set(key, value) }
        handle = ConsumerClient(try KafkaClientHandle.make(RD_KAFKA_CONSUMER, try configuration.makeHandle(), what: "Kafka topic reader"))
        rd_kafka_poll_set_consumer(client)
        guard let list = rd_kafka_topic_partition_list_new(16) else { throw KafkaError("out of memory") }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics {
            let count = try KafkaClientHandle.partitionCount(client, topic: topic)
            partitionCount[topic] = count
            for partition in 0..<count {
                rd_kafka_topic_partition_list_add(list, topic, Int32(partition)).pointee.offset = Int64(RD_KAFKA_OFFSET_BEGINNING)
            }
        }
        let code = rd_kafka_assign(client, list)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError("cannot read \(topics.joined(separator: ", ")): \(KafkaClientHandle.describe(code))")
        }
    }

    /// The number of partitions of `topic` as found at start.
    public func partitions(of topic: String) -> Int { lock.withLock { partitionCount[topic] ?? 0 } }

    /// `true` once every partition has been read to the end at least once.
    public var caughtUp: Bool { lock.withLock { atEnd.count >= partitionCount.values.reduce(0, +) } }

    /// The next record, or `nil` when none arrived within `timeout` seconds.
    public func poll(timeout: Double) throws(KafkaError) -> KafkaRecord? {
        switch try KafkaClientHandle.poll(client, timeout: timeout) {
        case .record(let record): return record
        case .endOfPartition(let topic, let partition):
            lock.withLock { _ = atEnd.insert("\(topic)/\(partition)") }
            return nil
        case .nothing: return nil
        }
    }

    /// Stops reading and frees the client.
    public func close() { handle.close() }
}
