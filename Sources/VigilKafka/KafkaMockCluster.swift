import CRdKafka
import VigilObservability

/// librdkafka's in-process mock cluster (`rdkafka_mock.h`): real Kafka brokers speaking the
/// wire protocol on loopback ports, for tests and `vigil dev kafka`.
///
/// Limits worth knowing: it keeps a small in-memory log, offers no timestamp index for
/// `offsetsForTimes`, and lives only as long as this object.
public final class KafkaMockCluster: @unchecked Sendable {
    // @unchecked: the two pointers are set once, only read by librdkafka's thread-safe mock
    // calls, and freed in deinit, when no one else holds the cluster.
    private let client: OpaquePointer
    private let cluster: OpaquePointer
    /// What the hosting client's log callback reaches; released after `deinit` frees the client.
    private let context: KafkaClientContext
    /// The `bootstrap.servers` string of the mock brokers, for example `127.0.0.1:39235`.
    public let bootstrapServers: String

    /// Starts `brokers` mock brokers on free loopback ports; their client's log lines go to `logger`.
    public init(brokers: Int = 1, logger: Logger = Logger(label: "kafka")) throws(KafkaError) {
        var configuration = KafkaConfiguration()
        configuration.set("log_level", "3")
        // The mock cluster needs a client instance to own its threads; a producer is the lightest.
        let context = KafkaClientContext(logger: logger)
        let client = try KafkaClientHandle.make(RD_KAFKA_PRODUCER, try configuration.makeHandle(context: context), what: "client that hosts the mock cluster", context: context)
        guard let cluster = rd_kafka_mock_cluster_new(client, Int32(brokers)) else {
            withExtendedLifetime(context) { rd_kafka_destroy(client) }
            throw KafkaError("librdkafka could not start a mock cluster")
        }
        self.client = client
        self.cluster = cluster
        self.context = context
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(client)
    }

    /// Creates `topic` with `partitions` partitions and the given replication factor.
    public func createTopic(_ topic: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        let code = rd_kafka_mock_topic_create(cluster, topic, Int32(partitions), Int32(replicationFactor))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError("cannot create topic \(topic) on the mock cluster: \(KafkaClientHandle.describe(code))")
        }
    }

    /// A mock cluster with every topic of `KafkaTopics.all`, each with `partitions`
    /// partitions (the mock has no admin API, so topic settings such as compaction do not apply).
    public static func withVigilTopics(brokers: Int = 1, partitions: Int = 4) throws(KafkaError) -> KafkaMockCluster {
        let cluster = try KafkaMockCluster(brokers: brokers)
        for topic in KafkaTopics.all(partitions: partitions, replicationFactor: min(brokers, 3)) {
            try cluster.createTopic(topic.name, partitions: partitions, replicationFactor: min(brokers, 3))
        }
        return cluster
    }

    /// The librdkafka version linked in, for example `2.0.2`.
    public static var librdkafkaVersion: String { String(cString: rd_kafka_version_str()) }
}
