import VigilKafka

/// The Kafka cluster a benchmark run uses: a fresh librdkafka mock cluster in this process
/// with Vigil's topics (so runs do not inherit each other's log), or a given cluster.
struct BenchCluster {
    /// Its `bootstrap.servers`.
    let bootstrapServers: String
    private let mock: KafkaMockCluster?

    /// `address` nil or empty: a new mock cluster; otherwise the cluster at that address.
    init(address: String?) throws {
        if let address, !address.isEmpty {
            bootstrapServers = address
            mock = nil
        } else {
            let cluster = try KafkaMockCluster.withVigilTopics()
            bootstrapServers = cluster.bootstrapServers
            mock = cluster
        }
    }

    /// The service's `log` setting for this cluster.
    var logSetting: String { "kafka://\(bootstrapServers)" }

    /// Keeps a mock cluster alive until here.
    func release() { withExtendedLifetime(mock) {} }
}
