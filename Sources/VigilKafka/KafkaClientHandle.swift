import CRdKafka
import Foundation
import Synchronization

/// One librdkafka client (`rd_kafka_t`) with a lifecycle: every use goes through
/// `withClient`, which refuses once `shutdown()` has begun, and the handle is freed exactly
/// once, never under a caller: by `shutdown()` when no call is inside, or by the last call
/// to leave (`KafkaClientState`). Dropping the last reference shuts it down too.
///
/// The one type that holds a raw client pointer; the producer, the consumer and the topic
/// reader each own one.
final class KafkaClientHandle: @unchecked Sendable {
    // @unchecked: `pointer` is only handed out inside `withClient` while the state counts the
    // call in flight, and librdkafka's client calls are thread-safe; the rest is `let`s and a Mutex.
    private let pointer: OpaquePointer
    private let state = Mutex(KafkaClientState())
    /// What frees the client (a consumer first leaves its group; a producer flushes).
    private let destroy: @Sendable (OpaquePointer) -> Void
    /// What the client is, for errors ("Kafka producer", "Kafka topic reader", …).
    let what: String

    /// Takes ownership of `pointer`, freed by `destroy` when the handle shuts down.
    init(_ pointer: OpaquePointer, what: String, destroy: @escaping @Sendable (OpaquePointer) -> Void) {
        self.pointer = pointer
        self.what = what
        self.destroy = destroy
    }

    /// Runs `body` with the client; throws, without running it, once shutdown has begun.
    func withClient<T>(_ body: (OpaquePointer) throws(KafkaError) -> T) throws(KafkaError) -> T {
        guard state.withLock({ $0.enter() }) == .proceed else {
            throw KafkaError("the \(what) is shut down; this process is stopping")
        }
        defer {
            if state.withLock({ $0.leave() }) == .destroy { destroy(pointer) }
        }
        return try body(pointer)
    }

    /// Refuses every later call and frees the client: now, or when the last call inside
    /// returns. Idempotent.
    func shutdown() {
        if state.withLock({ $0.shutdown() }) == .destroy { destroy(pointer) }
    }

    /// Whether `shutdown()` has been called.
    var isShutDown: Bool {
        state.withLock { if case .running = $0.phase { false } else { true } }
    }

    deinit { shutdown() }  // no call can be inside: each holds a reference
}

extension KafkaClientHandle {
    /// A new producer or consumer client; on success librdkafka owns `conf`. `context` (what
    /// `conf`'s callbacks reach) is kept alive while librdkafka may log from a failed start.
    static func make(_ type: rd_kafka_type_t, _ conf: OpaquePointer, what: String, context: KafkaClientContext?) throws(KafkaError) -> OpaquePointer {
        var errorText = [CChar](repeating: 0, count: 512)
        let made = withExtendedLifetime(context) { rd_kafka_new(type, conf, &errorText, errorText.count) }
        guard let client = made else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError("cannot create the \(what): \(text(errorText))")
        }
        return client
    }

    /// A consumer client made from `conf` that, when shut down, leaves its group (partitions
    /// move to the other members at once) and is freed; `context` lives as long as it (what
    /// its callbacks' opaque pointer points at).
    static func consumer(_ conf: OpaquePointer, what: String, context: KafkaClientContext) throws(KafkaError) -> KafkaClientHandle {
        let pointer = try make(RD_KAFKA_CONSUMER, conf, what: what, context: context)
        return KafkaClientHandle(pointer, what: what) { pointer in
            withExtendedLifetime(context) {
                _ = rd_kafka_consumer_close(pointer)
                rd_kafka_destroy(pointer)
            }
        }
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
        case endOfPartition(TopicPartition)
        /// Nothing arrived in time.
        case nothing
    }

    /// Polls this consumer once; the one place a consumed message is copied into Swift.
    func poll(timeout: Double) throws(KafkaError) -> Polled {
        try withClient { client throws(KafkaError) in
            guard let message = rd_kafka_consumer_poll(client, Int32(timeout * 1000)) else { return .nothing }
            defer { rd_kafka_message_destroy(message) }
            let m = message.pointee
            let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
            if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return .endOfPartition(TopicPartition(topic, m.partition)) }
            guard m.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError("Kafka consumer: \(Self.describe(m.err))")
            }
            let value = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) }
            let key = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
            var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
            let timestamp = rd_kafka_message_timestamp(message, &type)
            var signature: [UInt8]?
            var headers: OpaquePointer?
            if rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers {
                var bytes: UnsafeRawPointer?
                var size = 0
                if rd_kafka_header_get_last(headers, KafkaRecordSigner.header, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR, let bytes {
                    // Only a signature's length is worth copying; anything longer cannot verify.
                    signature = Array(UnsafeRawBufferPointer(start: bytes, count: min(size, 65)))
                }
            }
            return .record(
                KafkaRecord(
                    topic: topic, partition: m.partition, offset: m.offset, key: key, value: value, timestamp: timestamp, signature: signature))
        }
    }

    /// librdkafka's words for `code`.
    static func describe(_ code: rd_kafka_resp_err_t) -> String { String(cString: rd_kafka_err2str(code)) }

    /// A partition list holding `partitions` (each with `offset`), for the length of `body`.
    static func withPartitionList<T>(
        _ partitions: [(TopicPartition, offset: Int64)], _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws(KafkaError) -> T
    ) throws(KafkaError) -> T {
        guard let list = rd_kafka_topic_partition_list_new(Int32(max(partitions.count, 1))) else { throw KafkaError("out of memory") }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (partition, offset) in partitions {
            rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition).pointee.offset = offset
        }
        return try body(list)
    }

    /// How many partitions `topic` has, from the cluster's metadata; an error naming the
    /// topic when it does not exist.
    func partitionCount(topic: String, timeout: Double = 10) throws(KafkaError) -> Int {
        try withClient { client throws(KafkaError) in
            guard let handle = rd_kafka_topic_new(client, topic, nil) else {
                throw KafkaError("cannot open topic \(topic): \(Self.describe(rd_kafka_last_error()))")
            }
            defer { rd_kafka_topic_destroy(handle) }
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let code = rd_kafka_metadata(client, 0, handle, &metadata, Int32(timeout * 1000))
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                throw KafkaError("cannot read the metadata of \(topic): \(Self.describe(code))")
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
}
