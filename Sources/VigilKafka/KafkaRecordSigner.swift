import VigilCrypto
import VigilStore

/// Signs every record Vigil writes to Kafka and checks every record it reads (issue 23): an
/// HMAC-SHA256 in the record's `vigil-mac` header, under a key derived for the record's topic
/// from one key the master key gives (`masterKey.derivedKey("vigil/kafka-record-signing")`),
/// over the record's key and value (or the mark of a tombstone).
///
/// Bound to the topic and the record key, a signature cannot be moved: a wrapped data key
/// written under one key id does not verify under another, a subscriber record does not pass
/// as a token, a tombstone does not pass as a value. Anyone who can write to the cluster but
/// does not hold the master key can therefore change nothing Vigil applies; outside producers
/// write only to the intake topic, `vigil.submissions`, whose records are validated as
/// `POST /v1/alerts` bodies instead. (A genuine record copied back verbatim still verifies:
/// reading Vigil's topics is what the ACLs `vigil kafka init` prints keep from partners.)
public struct KafkaRecordSigner: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The header that carries a record's signature, as 64 lower-case hex digits.
    public static let header = "vigil-mac"
    /// The one topic whose records are not Vigil's own: outside producers' submissions.
    public static let intakeTopic = "vigil.submissions"

    private let key: [UInt8]
    /// Each topic's signing key, derived once for the topics Vigil knows.
    private let topicKeys: [String: [UInt8]]

    /// A signer whose topic keys derive from `key` (32 bytes the master key gives for this purpose).
    public init(key: [UInt8]) {
        self.key = key
        var keys: [String: [UInt8]] = [:]
        for topic in KafkaTopics.all(partitions: 1, replicationFactor: 1) { keys[topic.name] = Self.topicKey(key, topic.name) }
        topicKeys = keys
    }

    /// Names the signer without its keys, wherever it is printed (a log line, a failed test).
    public var description: String { "KafkaRecordSigner(keys withheld)" }
    public var debugDescription: String { description }

    /// The signer of every process holding `masterKey`.
    public init(masterKey: MasterKey) { self.init(key: masterKey.derivedKey("vigil/kafka-record-signing")) }

    private static func topicKey(_ key: [UInt8], _ topic: String) -> [UInt8] { HMAC.sha256(key: key, message: Array("topic:\(topic)".utf8)) }

    /// The signature of a record of `topic` with `recordKey` and `value` (`nil`: a tombstone),
    /// as the header carries it.
    public func signature(topic: String, key recordKey: [UInt8]?, value: [UInt8]?) -> [UInt8] {
        Array(Hex.encode(HMAC.sha256(key: topicKeys[topic] ?? Self.topicKey(key, topic), message: Self.signed(key: recordKey, value: value))).utf8)
    }

    /// Whether `record` carries a signature this signer made for its topic, key and value;
    /// always true on the intake topic, whose records nobody signs.
    public func verifies(_ record: KafkaRecord) -> Bool {
        guard record.topic != Self.intakeTopic else { return true }
        guard let mac = record.signature, mac.count == 64, let raw = Hex.decode(String(decoding: mac, as: UTF8.self)) else { return false }
        return HMAC.verify(
            raw, key: topicKeys[record.topic] ?? Self.topicKey(key, record.topic), message: Self.signed(key: record.key, value: record.value))
    }

    /// Why `record` is refused, for the log line: missing or wrong.
    public static func refusal(of record: KafkaRecord) -> String {
        record.signature == nil
            ? "it carries no \(header) header: only Vigil writes to \(record.topic) (outside producers write to \(intakeTopic))"
            : "its \(header) does not verify (forged, altered, moved from another topic or key, or written under another master key)"
    }

    /// What is signed: the key's length and bytes (none: length 0xFFFFFFFF), then 0 for a
    /// tombstone or 1 and the value, so no two different records share a message.
    private static func signed(key: [UInt8]?, value: [UInt8]?) -> [UInt8] {
        var message: [UInt8] = []
        message.reserveCapacity(5 + (key?.count ?? 0) + 1 + (value?.count ?? 0))
        let length = key.map { UInt32(truncatingIfNeeded: $0.count) } ?? UInt32.max
        message += [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
        if let key { message += key }
        if let value {
            message.append(1)
            message += value
        } else {
            message.append(0)
        }
        return message
    }
}
