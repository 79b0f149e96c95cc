import VigilCore

/// A compacted topic as a `ReplicationFeed`: each change is a record under the changed
/// thing's id (a tombstone deletes it), written with `acks=all` before the change is
/// confirmed. `vigil.subscribers` and `vigil.tokens` are two of these; the append-only
/// `vigil.audit` uses one too (its keys are tokens' ids, never compacted away).
public final class KafkaReplicationFeed: ReplicationFeed, Sendable {
    /// The topic written to.
    public let topic: String
    private let producer: KafkaProducer
    private let timeout: Double

    /// A feed writing to `topic` through `connection`'s shared producer (whose write timeout
    /// should be `timeout`), waiting at most `timeout` seconds per change.
    public init(connection: KafkaConnection, topic: String, timeout: Double = 10) {
        self.topic = topic
        self.timeout = timeout
        producer = connection.producer
    }

    public func publish(key: String, value: [UInt8]?) throws {
        try producer.produceAndWait(topic: topic, key: Array(key.utf8), value: value, timeout: timeout + 5)
    }

    public func publish(_ records: [(key: String, value: [UInt8]?)]) throws {
        try producer.produceAll(records.map { (topic, $0.key, $0.value) })
    }
}
