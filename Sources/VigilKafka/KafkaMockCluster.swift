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

    // MARK: Faults (issue 23, point 4)

    /// Disconnects broker `id` (or every broker, for `nil`) and refuses new connections; the
    /// partitions it leads keep it as leader (the mock does not elect another).
    public func setBrokerDown(_ id: Int32?) throws(KafkaError) {
        try check(rd_kafka_mock_broker_set_down(cluster, id ?? -1), "take broker \(id.map(String.init) ?? "all") down")
    }

    /// Lets broker `id` (or every broker, for `nil`) take connections again.
    public func setBrokerUp(_ id: Int32?) throws(KafkaError) {
        try check(rd_kafka_mock_broker_set_up(cluster, id ?? -1), "bring broker \(id.map(String.init) ?? "all") up")
    }

    /// Makes broker `broker` the leader of `partition` of `topic` (`nil`: no leader at all).
    public func setLeader(topic: String, partition: Int32, broker: Int32?) throws(KafkaError) {
        try check(rd_kafka_mock_partition_set_leader(cluster, topic, partition, broker ?? -1), "move the leader of \(topic)/\(partition)")
    }

    /// A Kafka protocol request the mock can be told to fail.
    public enum Request: Int16, Sendable {
        /// ProduceRequest.
        case produce = 0
        /// FetchRequest.
        case fetch = 1
    }

    /// An error the mock answers a request with.
    public enum InjectedError: Sendable, CustomStringConvertible {
        /// The broker is not the partition's leader (a leader moved).
        case notLeaderOrFollower
        /// The broker did not answer in time.
        case requestTimedOut
        /// Fewer in-sync replicas than `min.insync.replicas`.
        case notEnoughReplicas
        /// The connection drops.
        case disconnect

        public var description: String {
            switch self {
            case .notLeaderOrFollower: "NOT_LEADER_OR_FOLLOWER"
            case .requestTimedOut: "REQUEST_TIMED_OUT"
            case .notEnoughReplicas: "NOT_ENOUGH_REPLICAS"
            case .disconnect: "a dropped connection"
            }
        }

        var code: rd_kafka_resp_err_t {
            switch self {
            case .notLeaderOrFollower: RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION
            case .requestTimedOut: RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT
            case .notEnoughReplicas: RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS
            case .disconnect: RD_KAFKA_RESP_ERR__TRANSPORT
            }
        }
    }

    /// The next `errors.count` requests of kind `request`, on any broker, fail with `errors`, in order.
    public func failNext(_ request: Request, with errors: [InjectedError]) {
        var codes = errors.map(\.code)
        codes.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_mock_push_request_errors_array(cluster, request.rawValue, buffer.count, buffer.baseAddress)
        }
    }

    private func check(_ code: rd_kafka_resp_err_t, _ what: String) throws(KafkaError) {
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("cannot \(what) on the mock cluster: \(KafkaClientHandle.describe(code))") }
    }

    /// The librdkafka version linked in, for example `2.0.2`.
    public static var librdkafkaVersion: String { String(cString: rd_kafka_version_str()) }
}
