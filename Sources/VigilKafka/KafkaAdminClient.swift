import CRdKafka
import VigilObservability

/// A short-lived client for Kafka's admin API (`vigil kafka init`: topics and ACLs; `vigil
/// check`: metadata): made, used for one request, and freed.
enum KafkaAdminClient {
    /// Runs `request` with a client of `bootstrapServers` (with `extra` properties, such as the
    /// deployment's SASL and TLS settings), its admin options for `operation` (operation
    /// timeout `timeout` seconds) and a queue, then hands the result event, which must arrive
    /// within `timeout` + 5 seconds, to `result`.
    static func run<T>(
        bootstrapServers: String, extra: [(String, String)], timeout: Double, logger: Logger, operation: rd_kafka_admin_op_t, what: String,
        request: (OpaquePointer, OpaquePointer, OpaquePointer) throws(KafkaError) -> Void, result: (OpaquePointer) throws(KafkaError) -> T
    ) throws(KafkaError) -> T {
        try withClient(bootstrapServers: bootstrapServers, extra: extra, logger: logger, what: "Kafka admin client") { client throws(KafkaError) in
            try run(client, bootstrapServers: bootstrapServers, timeout: timeout, operation: operation, what: what, request: request, result: result)
        }
    }

    /// Runs `body` with a short-lived client of `bootstrapServers` (with `extra` properties),
    /// freed when it returns; `what` names it in errors.
    static func withClient<T>(
        bootstrapServers: String, extra: [(String, String)], logger: Logger, what: String, _ body: (OpaquePointer) throws(KafkaError) -> T
    ) throws(KafkaError) -> T {
        var configuration = KafkaConfiguration()
        configuration.set("bootstrap.servers", bootstrapServers)
        configuration.set("log_level", "3")
        for (key, value) in extra { configuration.set(key, value) }
        let context = KafkaClientContext(logger: logger)
        let client = try KafkaClientHandle.make(RD_KAFKA_PRODUCER, try configuration.makeHandle(context: context), what: what, context: context)
        defer { withExtendedLifetime(context) { rd_kafka_destroy(client) } }
        return try body(client)
    }

    private static func run<T>(
        _ client: OpaquePointer, bootstrapServers: String, timeout: Double, operation: rd_kafka_admin_op_t, what: String,
        request: (OpaquePointer, OpaquePointer, OpaquePointer) throws(KafkaError) -> Void, result: (OpaquePointer) throws(KafkaError) -> T
    ) throws(KafkaError) -> T {
        guard let queue = rd_kafka_queue_new(client) else { throw KafkaError("out of memory") }
        defer { rd_kafka_queue_destroy(queue) }
        guard let options = rd_kafka_AdminOptions_new(client, operation) else { throw KafkaError("out of memory") }
        defer { rd_kafka_AdminOptions_destroy(options) }
        var errorText = [CChar](repeating: 0, count: 512)
        _ = rd_kafka_AdminOptions_set_operation_timeout(options, Int32(timeout * 1000), &errorText, errorText.count)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, Int32(timeout * 1000), &errorText, errorText.count)
        try request(client, options, queue)
        guard let event = rd_kafka_queue_poll(queue, Int32((timeout + 5) * 1000)) else {
            throw KafkaError("the cluster at \(bootstrapServers) did not answer \(what) within \(Int(timeout)) s")
        }
        defer { rd_kafka_event_destroy(event) }
        if rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError("\(what) failed: \(String(cString: rd_kafka_event_error_string(event)))")
        }
        return try result(event)
    }
}
