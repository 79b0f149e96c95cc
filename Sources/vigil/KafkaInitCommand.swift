import Foundation
import VigilKafka

/// `vigil kafka init`: creates Vigil's topics on a real Kafka cluster.
enum KafkaInitCommand: Command {
    static let path = ["kafka", "init"]
    static let summary = "create Vigil's topics on a Kafka cluster"
    static let switches: Set<String> = ["json", "help"]
    static let help = """
        usage: vigil kafka init --bootstrap HOST:PORT[,HOST:PORT…] [--partitions N] [--replication N] [--json]

        Creates Vigil's topics through Kafka's admin API, each with its settings: vigil.alerts kept
        forever, the delivery topics for a week (dead letters and outcomes 90 days), and
        vigil.subscribers, vigil.tokens, vigil.accounts, vigil.feeds, vigil.replays, vigil.acks and
        vigil.keys compacted. vigil.keys rolls segments hourly and compacts within a day, so an erased data key
        is gone from the topic within 25 hours.
        min.insync.replicas is 2 when the replication factor allows. Existing topics are left as they
        are. Defaults: 12 partitions, replication 3.
        """

    static func run(_ arguments: inout Arguments, environment: [String: String]) throws {
        let json = arguments.flag("json")
        guard let bootstrap = arguments.value("bootstrap") ?? environment["VIGIL_KAFKA_BOOTSTRAP"] else {
            throw UsageError("--bootstrap is required, for example --bootstrap kafka-1:9092,kafka-2:9092")
        }
        let partitions = try count(arguments.value("partitions"), "partitions", fallback: 12, range: 1...1000)
        let replication = try count(arguments.value("replication"), "replication", fallback: 3, range: 1...7)
        try arguments.finish()
        let outcome = try KafkaTopics.create(KafkaTopics.all(partitions: partitions, replicationFactor: replication), bootstrapServers: bootstrap)
        if json { try printJSON(outcome); return }
        for (topic, what) in outcome.sorted(by: { $0.key < $1.key }) { print("\(topic)\t\(what)") }
    }

    private static func count(_ text: String?, _ flag: String, fallback: Int, range: ClosedRange<Int>) throws(UsageError) -> Int {
        guard let text else { return fallback }
        guard let value = Int(text), range.contains(value) else { throw UsageError("--\(flag) must be a number from \(range.lowerBound) to \(range.upperBound)") }
        return value
    }
}
