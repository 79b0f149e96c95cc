import CRdKafka
import Dispatch
import Foundation

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
public final class KafkaProducer: @unchecked Sendable {
    private let client: OpaquePointer
    private let lock = NSLock()
    private var topics: [String: OpaquePointer] = [:]
    private var polling = true
    private let poller = DispatchGroup()

    /// A producer for `bootstrapServers`; `extra` adds or overrides librdkafka properties.
    public init(bootstrapServers: String, extra: [(String, String)] = []) throws(KafkaError) {
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
        let conf = try configuration.makeHandle()
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
        client = try KafkaClientHandle.make(RD_KAFKA_PRODUCER, conf, what: "Kafka producer")
        poller.enter()
        Thread { [self] in
            while lock.withLock({ polling }) { rd_kafka_poll(client, 100) }
            poller.leave()
        }.start()
    }

    /// Writes `value` under `key` to `topic` (the key picks the partition, so one key keeps
    /// its order) and calls `completion` with its position once every in-sync replica has it.
    /// A `nil` value is a tombstone: compaction then removes every record with that key.
    public func produce(
        topic: String, key: [UInt8]?, value: [UInt8]?, completion: @escaping @Sendable (Result<KafkaRecordPosition, KafkaError>) -> Void
    ) {
        let handle: OpaquePointer
        do {
            handle = try topicHandle(topic)
        } catch {
            return completion(.failure(error))
        }
        let opaque = Unmanaged.passRetained(DeliveryReport(completion)).toOpaque()
        let status = (value ?? []).withUnsafeBytes { payload in
            (key ?? []).withUnsafeBytes { keyBytes in
                rd_kafka_produce(
                    handle, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                    value == nil ? nil : UnsafeMutableRawPointer(mutating: payload.baseAddress), value == nil ? 0 : payload.count,
                    key == nil ? nil : keyBytes.baseAddress, key == nil ? 0 : keyBytes.count, opaque)
            }
        }
        if status != 0 {
            Unmanaged<DeliveryReport>.fromOpaque(opaque).release()
            completion(.failure(KafkaError("Kafka refused the message: \(KafkaClientHandle.describe(rd_kafka_last_error()))")))
        }
    }

    /// `produce`, waiting for the delivery report (at most `timeout` seconds).
    @discardableResult
    public func produceAndWait(topic: String, key: [UInt8]?, value: [UInt8]?, timeout: Double = 30) throws(KafkaError) -> KafkaRecordPosition {
        let done = DispatchSemaphore(value: 0)
        let outcome = ReportBox()
        produce(topic: topic, key: key, value: value) { result in
            outcome.result = result
            done.signal()
        }
        guard done.wait(timeout: .now() + timeout) == .success, let result = outcome.result else {
            throw KafkaError("no delivery report from Kafka for \(topic) within \(Int(timeout)) s")
        }
        return try result.get()
    }

    /// Writes every message and waits for all their delivery reports; throws the first failure.
    public func produceAll(_ messages: [(topic: String, key: String, value: [UInt8]?)]) throws(KafkaError) {
        guard !messages.isEmpty else { return }
        let group = DispatchGroup()
        let failed = FirstFailure()
        for message in messages {
            group.enter()
            produce(topic: message.topic, key: Array(message.key.utf8), value: message.value) { result in
                if case .failure(let error) = result { failed.set(error) }
                group.leave()
            }
        }
        group.wait()
        if let error = failed.error { throw error }
    }

    /// Waits up to `timeout` seconds for every message in flight to be reported.
    public func flush(timeout: Double = 10) throws(KafkaError) {
        let code = rd_kafka_flush(client, Int32(timeout * 1000))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("messages still in flight after \(timeout) s: \(KafkaClientHandle.describe(code))") }
    }

    deinit {
        _ = rd_kafka_flush(client, 5000)
        lock.withLock { polling = false }
        poller.wait()
        for handle in topics.values { rd_kafka_topic_destroy(handle) }
        rd_kafka_destroy(client)
    }

    private func topicHandle(_ name: String) throws(KafkaError) -> OpaquePointer {
        lock.lock()
        defer { lock.unlock() }
        if let handle = topics[name] { return handle }
        guard let handle = rd_kafka_topic_new(client, name, nil) else {
            throw KafkaError("cannot open topic \(name): \(KafkaClientHandle.describe(rd_kafka_last_error()))")
        }
        topics[name] = handle
        return handle
    }

    /// A delivery report handed from librdkafka's thread to a waiting caller.
    private final class ReportBox: @unchecked Sendable {
        var result: Result<KafkaRecordPosition, KafkaError>?
    }

    /// The completion travelling with a message to its delivery report.
    private final class DeliveryReport {
        let completion: @Sendable (Result<KafkaRecordPosition, KafkaError>) -> Void
        init(_ completion: @escaping @Sendable (Result<KafkaRecordPosition, KafkaError>) -> Void) { self.completion = completion }
    }
}
