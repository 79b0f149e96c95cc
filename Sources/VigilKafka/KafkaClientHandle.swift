import CRdKafka
import Foundation

/// Creating an `rd_kafka_t` from a configuration; the one place the error buffer is read.
enum KafkaClientHandle {
    /// A new producer or consumer client; on success librdkafka owns `conf`.
    static func make(_ type: rd_kafka_type_t, _ conf: OpaquePointer, what: String) throws(KafkaError) -> OpaquePointer {
        var errorText = [CChar](repeating: 0, count: 512)
        guard let client = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError("cannot create the \(what): \(text(errorText))")
        }
        return client
    }

    /// A NUL-terminated C buffer as text.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// What one consumer poll returned.
    enum Polled {
        /// A record.
        case record(KafkaRecord)
        /// The end of a partition was reached (only with `enable.partition.eof`).
        case endOfPartition(topic: String, partition: Int32)
        /// Nothing arrived in time.
        case nothing
    }

    /// Polls a consumer `client` once; the one place a consumed message is copied into Swift.
    static func poll(_ client: OpaquePointer, timeout: Double) throws(KafkaError) -> Polled {
        guard let message = rd_kafka_consumer_poll(client, Int32(timeout * 1000)) else { return .nothing }
        defer { rd_kafka_message_destroy(message) }
        let m = message.pointee
        let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return .endOfPartition(topic: topic, partition: m.partition) }
        guard m.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError("Kafka consumer: \(describe(m.err))")
        }
        let value = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) }
        let key = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &type)
        return .record(KafkaRecord(topic: topic, partition: m.partition, offset: m.offset, key: key, value: value, timestamp: timestamp))
    }

    /// librdkafka's words for `code`.
    static func describe(_ code: rd_kafka_resp_err_t) -> String { String(cString: rd_kafka_err2str(code)) }
}

extension KafkaClientHandle {
    /// How many partitions `topic` has, from the cluster's metadata; an error naming the
    /// topic when it does not exist.
    static func partitionCount(_ client: OpaquePointer, topic: String, timeout: Double = 10) throws(KafkaError) -> Int {
        guard let handle = rd_kafka_topic_new(client, topic, nil) else {
            throw KafkaError("cannot open topic \(topic): \(describe(rd_kafka_last_error()))")
        }
        defer { rd_kafka_topic_destroy(handle) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let code = rd_kafka_metadata(client, 0, handle, &metadata, Int32(timeout * 1000))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError("cannot read the metadata of \(topic): \(describe(code))")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        guard metadata.pointee.topic_cnt == 1, metadata.pointee.topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR,
            metadata.pointee.topics[0].partition_cnt > 0
        else {
            throw KafkaError("topic \(topic) does not exist on the cluster; create Vigil's topics with `vigil kafka init`")
        }
        return Int(metadata.pointee.topics[0].partition_cnt)
    }
}

/// A consumer client that leaves its group and is freed exactly once, by whichever comes
/// first: an explicit `close`, or the owner going away (also when the owner's initialiser
/// throws after the client was made).
final class ConsumerClient: @unchecked Sendable {
    /// The librdkafka handle; valid until `close`.
    let pointer: OpaquePointer
    private let lock = NSLock()
    private var closed = false

    /// Takes ownership of `pointer`, a consumer made by `KafkaClientHandle.make`.
    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    /// Leaves the group (partitions move to the other members at once) and frees the client.
    func close() {
        let first = lock.withLock { () -> Bool in
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        _ = rd_kafka_consumer_close(pointer)
        rd_kafka_destroy(pointer)
    }

    deinit { close() }
}
