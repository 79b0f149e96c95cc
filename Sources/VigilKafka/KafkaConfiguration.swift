import CRdKafka

/// Properties for a librdkafka client (`bootstrap.servers`, `acks`, …), checked by
/// librdkafka itself as they are set. See librdkafka's CONFIGURATION.md for the keys.
public struct KafkaConfiguration: Sendable {
    /// The properties, applied in order.
    public private(set) var properties: [(String, String)] = []

    /// No properties.
    public init() {}

    /// What every Vigil consumer sets: the brokers, a group id, no automatic commits, quiet
    /// logs, and a short wait for empty fetches. A real broker answers a fetch as soon as data
    /// arrives anyway; librdkafka's mock holds an empty one for the whole wait, which at the
    /// default 500 ms put up to half a second on every hop of an alert (log → router → worker).
    static func consumer(bootstrapServers: String, group: String) -> KafkaConfiguration {
        var configuration = KafkaConfiguration()
        configuration.set("bootstrap.servers", bootstrapServers)
        configuration.set("group.id", group)
        configuration.set("enable.auto.commit", "false")
        configuration.set("fetch.wait.max.ms", "10")
        configuration.set("log_level", "3")
        return configuration
    }

    /// Adds `key = value`.
    public mutating func set(_ key: String, _ value: String) { properties.append((key, value)) }

    /// Checks every property with librdkafka; the error names the first bad key.
    public func validate() throws(KafkaError) {
        rd_kafka_conf_destroy(try makeHandle())
    }

    /// A new `rd_kafka_conf_t` holding the properties, its clients' callbacks reaching
    /// `context` (made without one, for checking, they log nowhere); the caller owns it.
    func makeHandle(context: KafkaClientContext? = nil) throws(KafkaError) -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else { throw KafkaError("librdkafka could not allocate a configuration") }
        var errorText = [CChar](repeating: 0, count: 512)
        for (key, value) in properties {
            let result = rd_kafka_conf_set(conf, key, value, &errorText, errorText.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError("Kafka setting \(key): \(KafkaClientHandle.text(errorText))")
            }
        }
        context?.install(on: conf)
        return conf
    }
}
