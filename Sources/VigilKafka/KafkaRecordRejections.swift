import Synchronization

/// Records read from a Vigil topic that were refused as unreadable (damaged, forged, written
/// by something else, or carrying numbers out of range such as `created_at: 1e19`), counted
/// per topic for the metrics endpoint, each also logged as one line through `KafkaLog`.
///
/// A refused record is skipped, never trapped on: a hostile or broken producer cannot
/// take a process down by writing to a topic it can reach.
public enum KafkaRecordRejections {
    private static let counts = Mutex<[String: UInt64]>([:])

    /// Counts one refused record of `topic` and logs why (as a warning, with its position).
    public static func record(topic: String, partition: Int32, offset: Int64, reason: String) {
        counts.withLock { $0[topic, default: 0] &+= 1 }
        KafkaLog.emit(
            level: 4, facility: "VIGIL",
            message: "refused a record of \(topic) (partition \(partition), offset \(offset)): \(reason)")
    }

    /// Refused records so far, per topic, since the process started (for
    /// `vigil_kafka_records_refused_total{topic="…"}`).
    public static var byTopic: [String: UInt64] { counts.withLock { $0 } }

    /// Refused records so far, over every topic.
    public static var total: UInt64 { counts.withLock { $0.values.reduce(0, &+) } }
}
