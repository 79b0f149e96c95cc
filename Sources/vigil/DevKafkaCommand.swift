import Foundation
import VigilKafka
import VigilServer

/// `vigil dev kafka`: runs librdkafka's mock cluster in this process for development and
/// prints its bootstrap address.
enum DevKafkaCommand: Command {
    static let path = ["dev", "kafka"]
    static let summary = "run librdkafka's mock Kafka cluster and print its bootstrap address"
    static let switches: Set<String> = ["json", "help", "control"]
    static let help = """
        usage: vigil dev kafka [--brokers N] [--partitions N] [--control] [--json]

        Starts N (default 1) mock brokers speaking the real Kafka protocol on loopback, creates
        Vigil's topics (replicated over up to three brokers), prints the bootstrap address on
        standard output and runs until Ctrl-C. Any Kafka client can use it: kcat -b ADDRESS -L.
        Limits: it keeps a small in-memory log, has no timestamp index, does not enforce
        min.insync.replicas, and everything is gone when it stops.

        With --control it also reads faults to inject from standard input, one per line, and
        answers each with a line "ok" or "error: WHY" (for fault tests of a whole deployment):
          down BROKER|all                 disconnect a broker (1..N) and refuse new connections
          up BROKER|all                   let it take connections again
          leader TOPIC PARTITION BROKER|none   move a partition's leadership
          fail produce|fetch ERROR…       fail the next requests of that kind, one per ERROR, with
                                          not_leader, timed_out, not_enough_replicas or disconnect
        """

    static func run(_ arguments: inout Arguments, environment: [String: String]) throws {
        let brokers = try positiveNumber(arguments.value("brokers"), flag: "brokers", fallback: 1)
        let partitions = try positiveNumber(arguments.value("partitions"), flag: "partitions", fallback: 4)
        let json = arguments.flag("json")
        let control = arguments.flag("control")
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
        if control {
            // Standard input is read on a thread of its own: the main thread waits for the signal.
            Thread.detachNewThread {
                while let line = readLine() {
                    let answer: String
                    do {
                        try MockClusterFault.parse(line, brokers: brokers, partitions: partitions).apply(to: cluster)
                        answer = "ok"
                    } catch {
                        answer = "error: \(error)"
                    }
                    print(answer)
                    fflush(nil)
                }
            }
        }
        waitForTerminationSignal()
        withExtendedLifetime(cluster) {}
    }

    private static func positiveNumber(_ text: String?, flag: String, fallback: Int) throws(UsageError) -> Int {
        guard let text else { return fallback }
        guard let value = Int(text), (1...16).contains(value) else { throw UsageError("--\(flag) must be a number from 1 to 16") }
        return value
    }
}
