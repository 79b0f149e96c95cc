import CRdKafka
import Dispatch
import Foundation
import Synchronization
import VigilConcurrency
import VigilObservability

/// Where a produced message landed.
public struct KafkaRecordPosition: Sendable, Equatable {
    /// The partition the key chose.
    public let partition: Int32
    /// Its offset in that partition.
    public let offset: Int64
}

/// An idempotent producer with `acks=all`: a message is reported written only when every
/// in-sync replica has it, and librdkafka's retries never duplicate or reorder it.
///
/// `produce` answers through its completion when the delivery report arrives, which is when
/// a caller may acknowledge (`POST /v1/alerts` answers `202` then). A background thread
/// serves the reports.
public final class KafkaProducer: Sendable {
    private let client: KafkaClientHandle
    private let topics: TopicHandles
    private let signer: KafkaRecordSigner?

    /// A producer for `bootstrapServers`; `extra` adds or overrides librdkafka properties.
    /// With `signer` (every Vigil process's producer) each record carries its signature in
    /// the `vigil-mac` header; without, it writes as an outside producer would. librdkafka's
    /// log lines go to `logger`.
    public init(
        bootstrapServers: String, extra: [(String, String)] = [], signer: KafkaRecordSigner? = nil, logger: Logger = Logger(label: "kafka")
    ) throws(KafkaError) {
        self.signer = signer
        var configuration = KafkaConfiguration()
        configuration.set("bootstrap.servers", bootstrapServers)
        configuration.set("enable.idempotence", "true")
        configuration.set("acks", "all")
        configuration.set("linger.ms", "1")
        // librdkafka checks message timeouts from the broker threads; while they back off
        // between reconnects (up to 10 s by default) a write could overrun its timeout that long.
        configuration.set("reconnect.backoff.max.ms", "1000")
        configuration.set("log_level", "3")
        for (key, value) in extra { configuration.set(key, value) }
        let context = KafkaClientContext(logger: logger)
        let conf = try configuration.makeHandle(context: context)
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
            guard let message, let opaque = message.pointee._private else { return }
            let report = Unmanaged<DeliveryReport>.fromOpaque(opaque).takeRetainedValue()
            let m = message.pointee
            if m.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                report.completion(.success(KafkaRecordPosition(partition: m.partition, offset: m.offset)))
            } else {
                report.completion(.failure(KafkaError("the message was not written to Kafka: \(KafkaClientHandle.describe(m.err))")))
            }
        }
        let pointer = try KafkaClientHandle.make(RD_KAFKA_PRODUCER, conf, what: "Kafka producer", context: context)
        let shared = SharedPointer(pointer)
        let topics = TopicHandles()
        // The thread that serves delivery reports holds the raw client only, never this
        // producer, so dropping the producer shuts it down; the handle's destroy joins it
        // before the client is freed.
        let reports: KafkaThread
        do {
            reports = try KafkaThread(name: "vigil-kafka-dr") { thread in
                while !thread.isStopping { rd_kafka_poll(shared.pointer, 100) }
            }
        } catch {
            rd_kafka_destroy(pointer)
            throw error
        }
        self.topics = topics
        client = KafkaClientHandle(pointer, what: "Kafka producer") { _ in
            let free: @Sendable () -> Void = {
                let pointer = shared.pointer
                _ = rd_kafka_flush(pointer, 5000)
                reports.join()
                // What is still queued after the flush fails now, so no caller waits for a report that never comes.
                _ = rd_kafka_purge(pointer, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
                _ = rd_kafka_poll(pointer, 0)
                topics.destroyAll()
                // The log callback reaches `context` until the client is freed.
                withExtendedLifetime(context) { rd_kafka_destroy(pointer) }
            }
            // Dropped from a delivery report (the last holder let go there): the report
            // thread cannot join itself, and librdkafka may not be freed from its own callback.
            if reports.isCurrent { Thread.detachNewThread(free) } else { free() }
        }
    }

    /// Writes `value` under `key` to `topic` (the key picks the partition, so one key keeps
    /// its order) and calls `completion` with its position once every in-sync replica has it.
    /// A `nil` value is a tombstone: compaction then removes every record with that key.
    public func produce(
        topic: String, key: [UInt8]?, value: [UInt8]?, completion: @escaping @Sendable (Result<KafkaRecordPosition, KafkaError>) -> Void
    ) {
        let refused: KafkaError?
        do {
            refused = try client.withClient { client throws(KafkaError) -> KafkaError? in
                let handle = try topics.handle(topic, in: client)
                let opaque = Unmanaged.passRetained(DeliveryReport(completion)).toOpaque()
                let signature = signer?.signature(topic: topic, key: key, value: value)
                // librdkafka copies the value, the key and the header before it returns.
                let error = (value ?? []).withUnsafeBytes { payload in
                    (key ?? []).withUnsafeBytes { keyBytes in
                        (signature ?? []).withUnsafeBytes { mac in
                            KafkaRecordSigner.header.withCString { headerName in
                                var fields = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 7)
                                fields[0].vtype = RD_KAFKA_VTYPE_RKT
                                fields[0].u.rkt = handle
                                fields[1].vtype = RD_KAFKA_VTYPE_PARTITION
                                fields[1].u.i32 = RD_KAFKA_PARTITION_UA
                                fields[2].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                                fields[2].u.i = RD_KAFKA_MSG_F_COPY
                                fields[3].vtype = RD_KAFKA_VTYPE_VALUE
                                fields[3].u.mem.ptr = value == nil ? nil : UnsafeMutableRawPointer(mutating: payload.baseAddress)
                                fields[3].u.mem.size = value == nil ? 0 : payload.count
                                fields[4].vtype = RD_KAFKA_VTYPE_KEY
                                fields[4].u.mem.ptr = key == nil ? nil : UnsafeMutableRawPointer(mutating: keyBytes.baseAddress)
                                fields[4].u.mem.size = key == nil ? 0 : keyBytes.count
                                fields[5].vtype = RD_KAFKA_VTYPE_OPAQUE
                                fields[5].u.ptr = opaque
                                var count = 6
                                if signature != nil {
                                    fields[6].vtype = RD_KAFKA_VTYPE_HEADER
                                    fields[6].u.header.name = headerName
                                    fields[6].u.header.val = mac.baseAddress
                                    fields[6].u.header.size = mac.count
                                    count = 7
                                }
                                return rd_kafka_produceva(client, fields, count)
                            }
                        }
                    }
                }
                guard let error else { return nil }
                defer { rd_kafka_error_destroy(error) }
                Unmanaged<DeliveryReport>.fromOpaque(opaque).release()
                return KafkaError("Kafka refused the message: \(String(cString: rd_kafka_error_string(error)))")
            }
        } catch {
            refused = error
        }
        if let refused { completion(.failure(refused)) }
    }

    /// `produce`, waiting for the delivery report (at most `timeout` seconds). It blocks its
    /// thread (`BlockingPool.wait`): call it from a blocking pool's thread or a dedicated one.
    @discardableResult
    public func produceAndWait(topic: String, key: [UInt8]?, value: [UInt8]?, timeout: Double = 30) throws(KafkaError) -> KafkaRecordPosition {
        let outcome = BlockingPool.wait(timeout: timeout) { (reported: @escaping @Sendable (Result<KafkaRecordPosition, KafkaError>) -> Void) in
            produce(topic: topic, key: key, value: value, completion: reported)
        }
        guard let outcome else {
            throw KafkaError("no delivery report from Kafka for \(topic) within \(Int(timeout)) s")
        }
        return try outcome.get()
    }

    /// Writes every message and waits for all their delivery reports; throws the first failure.
    /// It blocks its thread, as `produceAndWait` does.
    public func produceAll(_ messages: [(topic: String, key: String, value: [UInt8]?)]) throws(KafkaError) {
        guard !messages.isEmpty else { return }
        let failure = BlockingPool.wait { (allReported: @escaping @Sendable (KafkaError?) -> Void) in
            let remaining = Mutex((count: messages.count, failure: KafkaError?.none))
            for message in messages {
                produce(topic: message.topic, key: Array(message.key.utf8), value: message.value) { result in
                    let last: (Bool, KafkaError?) = remaining.withLock { remaining in
                        if case .failure(let error) = result { remaining.failure = remaining.failure ?? error }
                        remaining.count -= 1
                        return (remaining.count == 0, remaining.failure)
                    }
                    if last.0 { allReported(last.1) }
                }
            }
        }
        if let failure { throw failure }
    }

    /// Waits up to `timeout` seconds for every message in flight to be reported.
    public func flush(timeout: Double = 10) throws(KafkaError) {
        let code = try client.withClient { rd_kafka_flush($0, Int32(timeout * 1000)) }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("messages still in flight after \(timeout) s: \(KafkaClientHandle.describe(code))") }
    }

    /// Refuses every later write, waits (up to 5 s) for the messages in flight, stops the
    /// delivery-report thread and frees the client; a write still in progress on another
    /// thread finishes first. Idempotent; dropping the producer does the same.
    public func shutdown() { client.shutdown() }

    /// The topic handles (`rd_kafka_topic_t`) a producer writes through, made on first use
    /// and freed with the client.
    private final class TopicHandles: Sendable {
        private let lock = Mutex<[String: SharedPointer]>([:])

        func handle(_ name: String, in client: OpaquePointer) throws(KafkaError) -> OpaquePointer {
            try lock.withLock { (topics: inout [String: SharedPointer]) throws(KafkaError) -> SharedPointer in
                if let handle = topics[name] { return handle }
                guard let handle = rd_kafka_topic_new(client, name, nil) else {
                    throw KafkaError("cannot open topic \(name): \(KafkaClientHandle.describe(rd_kafka_last_error()))")
                }
                topics[name] = SharedPointer(handle)
                return SharedPointer(handle)
            }.pointer
        }

        func destroyAll() {
            for handle in lock.withLock({ topics in defer { topics = [:] }; return Array(topics.values) }) { rd_kafka_topic_destroy(handle.pointer) }
        }
    }

    /// A librdkafka pointer (the client, a topic handle) shared by the producer's threads.
    private struct SharedPointer: @unchecked Sendable {
        // @unchecked: librdkafka's produce, poll and flush are thread-safe, and the destroy
        // action joins the report thread before it frees the topic handles and the client.
        let pointer: OpaquePointer
        init(_ pointer: OpaquePointer) { self.pointer = pointer }
    }

    /// The completion travelling with a message to its delivery report.
    private final class DeliveryReport {
        let completion: @Sendable (Result<KafkaRecordPosition, KafkaError>) -> Void
        init(_ completion: @escaping @Sendable (Result<KafkaRecordPosition, KafkaError>) -> Void) { self.completion = completion }
    }
}
