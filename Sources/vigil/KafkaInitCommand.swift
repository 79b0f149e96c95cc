import Foundation
import VigilCore
import VigilKafka

/// `vigil kafka init`: creates Vigil's topics on a real Kafka cluster.
enum KafkaInitCommand: Command {
    static let path = ["kafka", "init"]
    static let summary = "create Vigil's topics on a Kafka cluster"
    static let switches: Set<String> = ["json", "help", "apply-acls"]
    static let help = """
        usage: vigil kafka init --bootstrap HOST:PORT[,HOST:PORT…] [--partitions N] [--replication N]
                                [--vigil-principal User:NAME] [--partner-principal User:NAME] [--apply-acls]
                                [--config FILE] [--json]

        Creates Vigil's topics through Kafka's admin API, each with its settings: vigil.alerts kept
        forever, vigil.submissions (where partners write alerts) and the delivery topics for a week
        (dead letters and outcomes 90 days), and vigil.subscribers, vigil.tokens, vigil.accounts,
        vigil.feeds, vigil.replays, vigil.acks and vigil.keys compacted. vigil.keys rolls segments
        hourly and compacts within a day, so an erased data key is gone from the topic within 25 hours.
        min.insync.replicas is 2 when the replication factor allows. Existing topics are left as they
        are. Defaults: 12 partitions, replication 3.

        Then prints the ACLs a shared cluster needs (as kafka-acls.sh commands): Vigil's principal
        (default User:vigil) may do everything on vigil.* topics and vigil-* groups; partners'
        principal (default User:partners) may only write to vigil.submissions. Every record Vigil
        writes is signed under its master key, so a partner cannot forge one; the ACLs also keep
        partners from reading Vigil's topics. With --apply-acls they are created through the admin
        API (the cluster needs an authorizer, and allow.everyone.if.no.acl.found=false).

        The admin client connects as the kafka_security_protocol, kafka_sasl_* and kafka_ssl_*
        settings say (from --config or VIGIL_* variables): creating topics and ACLs needs an
        administrator's principal, not Vigil's.
        """

    static func run(_ arguments: inout Arguments, environment: [String: String]) throws {
        let json = arguments.flag("json")
        let applyACLs = arguments.flag("apply-acls")
        guard let bootstrap = arguments.value("bootstrap") ?? environment["VIGIL_KAFKA_BOOTSTRAP"] else {
            throw UsageError("--bootstrap is required, for example --bootstrap kafka-1:9092,kafka-2:9092")
        }
        let partitions = try count(arguments.value("partitions"), "partitions", fallback: 12, range: 1...AlertCursor.maxStreams)
        let replication = try count(arguments.value("replication"), "replication", fallback: 3, range: 1...7)
        let vigil = arguments.value("vigil-principal") ?? "User:vigil"
        let partners = arguments.value("partner-principal") ?? "User:partners"
        for principal in [vigil, partners] {
            if let problem = KafkaACL.problem(principal: principal) { throw UsageError(problem) }
        }
        let configuration = try loadConfiguration(&arguments, environment: environment, flagsOf: [])
        try arguments.finish()
        let security = try configuration.kafkaSecurity().properties
        let outcome = try KafkaTopics.create(
            KafkaTopics.all(partitions: partitions, replicationFactor: replication), bootstrapServers: bootstrap, extra: security)
        let acls = KafkaACL.deployment(vigil: vigil, partners: partners)
        if applyACLs { try KafkaACL.create(acls, bootstrapServers: bootstrap, extra: security) }
        if json {
            try printJSON(Summary(topics: outcome, acls: acls.map(\.description), aclsApplied: applyACLs))
            return
        }
        for (topic, what) in outcome.sorted(by: { $0.key < $1.key }) { print("\(topic)\t\(what)") }
        print(applyACLs ? "\n# ACLs created:" : "\n# ACLs to create (or run again with --apply-acls), with BOOTSTRAP set to an admin listener:")
        for acl in acls { print(acl.description) }
    }

    /// What `--json` prints.
    private struct Summary: Encodable {
        let topics: [String: String]
        let acls: [String]
        let aclsApplied: Bool

        enum CodingKeys: String, CodingKey {
            case topics, acls
            case aclsApplied = "acls_applied"
        }
    }

    private static func count(_ text: String?, _ flag: String, fallback: Int, range: ClosedRange<Int>) throws(UsageError) -> Int {
        guard let text else { return fallback }
        guard let value = Int(text), range.contains(value) else { throw UsageError("--\(flag) must be a number from \(range.lowerBound) to \(range.upperBound)") }
        return value
    }
}
