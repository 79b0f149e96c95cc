import CRdKafka
import VigilObservability

/// A topic to create: its name, partition count, replication factor and topic-level
/// settings (`cleanup.policy`, `retention.ms`, …).
public struct KafkaTopicSpec: Sendable, Equatable {
    /// The topic's name.
    public let name: String
    /// Its partition count.
    public let partitions: Int
    /// Copies of each partition.
    public let replicationFactor: Int
    /// Topic-level settings.
    public let settings: [String: String]

    /// A topic specification.
    public init(name: String, partitions: Int, replicationFactor: Int, settings: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.settings = settings
    }
}

/// Vigil's topics (DESIGN §2) and creating them through Kafka's admin API.
public enum KafkaTopics {
    /// Hours within which an erased data key leaves `vigil.keys`: its segment rolls within
    /// `segment.ms` (1 h) and is compacted within `max.compaction.lag.ms` (24 h).
    public static let keyErasureBoundHours = 25

    /// Every topic Vigil uses, with the settings that make each one do its job.
    public static func all(partitions: Int, replicationFactor: Int) -> [KafkaTopicSpec] {
        let compacted = ["cleanup.policy": "compact", "min.insync.replicas": String(min(2, replicationFactor))]
        let durable = ["min.insync.replicas": String(min(2, replicationFactor))]
        let week = String(7 * 86_400_000)
        func topic(_ name: String, _ settings: [String: String]) -> KafkaTopicSpec {
            KafkaTopicSpec(name: name, partitions: partitions, replicationFactor: replicationFactor, settings: settings)
        }
        return [
            // The log of record: kept until an operator decides otherwise.
            topic("vigil.alerts", durable.merging(["retention.ms": "-1"]) { $1 }),
            topic("vigil.alerts.invalid", durable.merging(["retention.ms": String(30 * 86_400_000)]) { $1 }),
            // The one topic outside producers write to: alert JSON the router validates and
            // appends to vigil.alerts as a signed record. It may name defenders in the clear,
            // so it is kept only a week (the router takes each record within seconds).
            topic(KafkaRecordSigner.intakeTopic, durable.merging(["retention.ms": week]) { $1 }),
            topic("vigil.deliveries.webhook", durable.merging(["retention.ms": week]) { $1 }),
            topic("vigil.deliveries.email", durable.merging(["retention.ms": week]) { $1 }),
            topic("vigil.deliveries.retry", durable.merging(["retention.ms": week]) { $1 }),
            topic("vigil.deliveries.dead", durable.merging(["retention.ms": String(90 * 86_400_000)]) { $1 }),
            topic("vigil.deliveries.outcomes", durable.merging(["retention.ms": String(90 * 86_400_000)]) { $1 }),
            topic("vigil.subscribers", compacted),
            topic("vigil.tokens", compacted),
            // Console accounts and invitations (`account/<id>`, `invitation/<id>`), secrets sealed or hashed.
            topic("vigil.accounts", compacted),
            // Subscribers' feed tokens by subscriber id, each only as its SHA-256 (issue 21).
            topic("vigil.feeds", compacted),
            // Who did what: append-only, kept as long as the alert log.
            topic("vigil.audit", durable.merging(["retention.ms": "-1"]) { $1 }),
            // Each replay's request, progress and the process that runs it, by replay id.
            topic("vigil.replays", compacted),
            // Acknowledgements by `<alert>/<subscriber>`, the latest answer of each (notes sealed).
            topic("vigil.acks", compacted),
            // Wrapped data keys: an erasure's tombstone must make the old key disappear within
            // a stated bound, so segments roll hourly and compaction may not lag past a day.
            topic("vigil.keys", compacted.merging([
                "segment.ms": "3600000", "max.compaction.lag.ms": "86400000", "min.cleanable.dirty.ratio": "0.01",
                "delete.retention.ms": "3600000",
            ]) { $1 }),
        ]
    }

    /// The partition count of every topic on the cluster at `bootstrapServers`, from one
    /// metadata request for all topics (which, unlike asking for one by name, never makes a
    /// broker create a missing topic), so `vigil check` can hold them against `all`. Throws
    /// when no broker answers within `timeout` seconds.
    public static func partitionCounts(
        bootstrapServers: String, security: KafkaSecurity = .plaintext, timeout: Double = 10, logger: Logger = Logger(label: "kafka")
    ) throws(KafkaError) -> [String: Int] {
        try KafkaAdminClient.withClient(
            bootstrapServers: bootstrapServers, extra: security.properties, logger: logger, what: "Kafka metadata client"
        ) { client throws(KafkaError) in
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let code = rd_kafka_metadata(client, 1, nil, &metadata, Int32(timeout * 1000))
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                throw KafkaError("the cluster at \(bootstrapServers) gave no metadata within \(Int(timeout)) s: \(KafkaClientHandle.describe(code))")
            }
            defer { rd_kafka_metadata_destroy(metadata) }
            var counts: [String: Int] = [:]
            for index in 0..<Int(max(0, metadata.pointee.topic_cnt)) {
                let topic = metadata.pointee.topics[index]
                guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR, let name = topic.topic else { continue }
                counts[String(cString: name)] = Int(max(0, topic.partition_cnt))
            }
            return counts
        }
    }

    /// Creates `topics` on the cluster at `bootstrapServers` (with `extra` client properties,
    /// such as the deployment's SASL and TLS settings), waiting up to `timeout` seconds; a
    /// topic that already exists is left as it is. Returns what happened to each. The admin
    /// client's log lines go to `logger`.
    public static func create(
        _ topics: [KafkaTopicSpec], bootstrapServers: String, extra: [(String, String)] = [], timeout: Double = 30,
        logger: Logger = Logger(label: "kafka")
    ) throws(KafkaError) -> [String: String] {
        var errorText = [CChar](repeating: 0, count: 512)
        var newTopics: [OpaquePointer?] = []
        defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
        for spec in topics {
            guard let topic = rd_kafka_NewTopic_new(spec.name, Int32(spec.partitions), Int32(spec.replicationFactor), &errorText, errorText.count) else {
                throw KafkaError("topic \(spec.name): \(KafkaClientHandle.text(errorText))")
            }
            newTopics.append(topic)
            for (key, value) in spec.settings.sorted(by: { $0.key < $1.key }) {
                let code = rd_kafka_NewTopic_set_config(topic, key, value)
                guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("topic \(spec.name) setting \(key): \(KafkaClientHandle.describe(code))") }
            }
        }
        return try KafkaAdminClient.run(
            bootstrapServers: bootstrapServers, extra: extra, timeout: timeout, logger: logger, operation: RD_KAFKA_ADMIN_OP_CREATETOPICS,
            what: "CreateTopics",
            request: { client, options, queue in
                newTopics.withUnsafeMutableBufferPointer { rd_kafka_CreateTopics(client, $0.baseAddress, $0.count, options, queue) }
            },
            result: { event throws(KafkaError) in
                guard let result = rd_kafka_event_CreateTopics_result(event) else { throw KafkaError("CreateTopics gave no result") }
                var count = 0
                guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return [:] }
                var outcome: [String: String] = [:]
                for i in 0..<count {
                    guard let item = results[i] else { continue }
                    let name = String(cString: rd_kafka_topic_result_name(item))
                    let code = rd_kafka_topic_result_error(item)
                    switch code {
                    case RD_KAFKA_RESP_ERR_NO_ERROR: outcome[name] = "created"
                    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: outcome[name] = "exists"
                    default:
                        throw KafkaError("topic \(name): \(rd_kafka_topic_result_error_string(item).map { String(cString: $0) } ?? KafkaClientHandle.describe(code))")
                    }
                }
                return outcome
            })
    }
}
