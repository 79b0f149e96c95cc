import Synchronization
import VigilCore
import VigilObservability

/// Records read from a Vigil topic that were refused as unreadable (damaged, forged, written
/// by something else, or carrying numbers out of range such as `created_at: 1e19`), counted
/// per topic for the metrics endpoint, each also logged as one line through the reading client's `Logger`.
///
/// A refused record is skipped, never trapped on: a hostile or broken producer cannot
/// take a process down by writing to a topic it can reach.
public enum KafkaRecordRejections {
    private static let counts = Mutex<[String: UInt64]>([:])

    /// Counts one refused record of `topic` and logs why to `logger` (as a warning, with its position).
    public static func record(topic: String, partition: Int32, offset: Int64, reason: String, logger: Logger) {
        counts.withLock { $0[topic, default: 0] &+= 1 }
        KafkaLog.write(
            level: 4, facility: "VIGIL",
            message: "refused a record of \(topic) (partition \(partition), offset \(offset)): \(reason)", to: logger)
    }

    /// Counts one refused record of `topic` whose log line the caller wrote itself.
    public static func count(topic: String) { counts.withLock { $0[topic, default: 0] &+= 1 } }

    /// Refused records so far, per topic, since the process started (for
    /// `vigil_kafka_records_refused_total{topic="…"}`).
    public static var byTopic: [String: UInt64] { counts.withLock { $0 } }

    /// Refused records so far, over every topic.
    public static var total: UInt64 { counts.withLock { $0.values.reduce(0, &+) } }

    /// Why `value` must be refused for a topic whose records hold only whole numbers
    /// (`vigil.subscribers`, `vigil.tokens`, `vigil.acks`, `vigil.accounts`): the path of the first number that is not a
    /// whole number of magnitude at most 2^53 (`created_at: 1e19`, `1.5`); `nil` when every
    /// number is one, or when the value is not JSON at all (its reader says why then).
    public static func numberOutOfRange(in value: [UInt8]) -> String? {
        guard let document = try? JSONParser.parse(value) else { return nil }
        return numberOutOfRange(in: document, path: "$")
    }

    private static func numberOutOfRange(in value: JSONValue, path: String) -> String? {
        switch value {
        case .number: return value.exactInt64 == nil ? "\(path) is not a whole number within ±2^53" : nil
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let problem = numberOutOfRange(in: item, path: "\(path)[\(index)]") { return problem }
            }
            return nil
        case .object(let fields):
            for key in fields.keys.sorted() {
                if let problem = numberOutOfRange(in: fields[key]!, path: "\(path).\(key)") { return problem }
            }
            return nil
        default: return nil
        }
    }
}
