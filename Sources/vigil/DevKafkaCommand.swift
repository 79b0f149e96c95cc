import Foundation
import VigilKafka
import VigilServer

/// `vigil dev kafka`: runs librdkafka's mock cluster in this process for development and
/// prints its bootstrap address.
enum DevKafkaCommand: Command {
    static let path = ["dev", "kafka"]
    static let summary = "run librdkafka's mock Kafka cluster and print its bootstrap address"
    static let switches: Set<String> = ["json", "help"]
    static let help = """
        usage: vigil dev kafka [--brokers N] [--partitions N] [--json]

        Starts N (default 1) mock brokers speaking the real Kafka protocol on loopback, creates
        Vigil's topics, prints the bootstrap address on standard output and runs until Ctrl-C.
        Any Kafka client can use it: kcat -b ADDRESS -L. Limits: it keeps a small in-memory log,
        has no timestamp index, and everything is gone when it stops.
        """

    static func run(_ arguments: inout Arguments, environment: [String: String]) throws {
        let brokers = try positiveNumber(arguments.value("brokers"), flag: "brokers", fallback: 1)
        let partitions = try positiveNumber(arguments.value("partitions"), flag: "partitions", fallback: 4)
        let json = arguments.flag("json")
        try arguments.finish()
        let cluster = try KafkaMockCluster.withVigilTopics(brokers: brokers, partitions: partitions)
        let topics = KafkaTopics.all(partitions: partitions, replicationFactor: 1).map(\.name)
        if json {
            struct Started: Encodable { let bootstrapServers: String; let librdkafka: String; let topics: [String] }
            try printJSON(Started(bootstrapServers: cluster.bootstrapServers, librdkafka: KafkaMockCluster.librdkafkaVersion, topics: topics))
        } else {
            print(cluster.bootstrapServers)
        }
        fflush(nil)
        FileHandle.standardError.write(Data("mock Kafka cluster (librdkafka \(KafkaMockCluster.librdkafkaVersion)) at \(cluster.bootstrapServers); Ctrl-C stops it\n".utf8))
        waitForTerminationSignal()
        withExtendedLifetime(cluster) {}
    }

    private static func positiveNumber(_ text: String?, flag: String, fallback: Int) throws(UsageError) -> Int {
        guard let text else { return fallback }
        guard let value = Int(text), (1...16).contains(value) else { throw UsageError("--\(flag) must be a number from 1 to 16") }
        return value
    }
}
