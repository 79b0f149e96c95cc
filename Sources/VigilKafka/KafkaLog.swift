import CRdKafka
import VigilObservability

/// What a librdkafka client's callbacks reach through its opaque pointer
/// (`rd_kafka_conf_set_opaque`): the `Logger` its own log lines go to, and whatever else a
/// callback of that client needs (a consumer's rebalance record).
///
/// librdkafka calls its log callback, a C function with no context, from its own threads;
/// the client's opaque pointer is the one context it carries. So each client is made with
/// one of these, and keeps it alive until `rd_kafka_destroy` has returned (the last
/// callback comes from inside it): there is no process-wide route.
final class KafkaClientContext: Sendable {
    /// Where the client's log lines go.
    let logger: Logger
    /// What a consumer's rebalance callback records into; `nil` for other clients.
    let rebalances: KafkaConsumer.Rebalances?

    init(logger: Logger, rebalances: KafkaConsumer.Rebalances? = nil) {
        self.logger = logger
        self.rebalances = rebalances
    }

    /// The context of the client `client`, whose opaque pointer `install(on:)` set.
    static func of(_ client: OpaquePointer?) -> KafkaClientContext? {
        guard let client, let opaque = rd_kafka_opaque(client) else { return nil }
        return Unmanaged<KafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
    }

    /// Makes `conf`'s clients reach this context and send librdkafka's log lines to its
    /// logger; the caller keeps the context alive as long as the client.
    func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { client, level, facility, message in
            guard let logger = KafkaClientContext.of(client)?.logger else { return }
            KafkaLog.write(
                level: Int(level), facility: facility.map { String(cString: $0) } ?? "", message: message.map { String(cString: $0) } ?? "",
                to: logger)
        }
    }
}

/// How librdkafka's log lines (and Vigil's own about refused records) read in the service's
/// log: message `librdkafka`, with the facility (`FAIL`, `REQTMOUT`, `VIGIL`, …) and the text.
enum KafkaLog {
    /// Writes one line at the level matching librdkafka's syslog `level` (3 or less error, 4
    /// warning, anything else info).
    static func write(level: Int, facility: String, message: String, to logger: Logger) {
        let fields = ["facility": facility, "detail": message]
        switch level {
        case ...3: logger.error("librdkafka", fields)
        case 4: logger.warning("librdkafka", fields)
        default: logger.info("librdkafka", fields)
        }
    }
}
