import VigilKafka

/// One fault `vigil dev kafka --control` injects into its mock cluster, parsed from a line of
/// standard input (see `DevKafkaCommand.help`). Numbers are taken only within the cluster's
/// own bounds: a broker from 1 to the number started, a partition below the partition count.
enum MockClusterFault: Equatable {
    case down(broker: Int32?)
    case up(broker: Int32?)
    case leader(topic: String, partition: Int32, broker: Int32?)
    case fail(KafkaMockCluster.Request, [KafkaMockCluster.InjectedError])

    /// The fault `line` names, for a cluster of `brokers` brokers and `partitions` partitions per topic.
    static func parse(_ line: String, brokers: Int, partitions: Int) throws(UsageError) -> MockClusterFault {
        let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        func broker(_ word: String, allowing other: String) throws(UsageError) -> Int32? {
            if word == other { return nil }
            guard let id = Int(word), (1...brokers).contains(id) else { throw UsageError("a broker is 1 to \(brokers) or \(other), not '\(word.prefix(20))'") }
            return Int32(id)
        }
        switch words.first {
        case "down"? where words.count == 2: return .down(broker: try broker(words[1], allowing: "all"))
        case "up"? where words.count == 2: return .up(broker: try broker(words[1], allowing: "all"))
        case "leader"? where words.count == 4:
            guard KafkaTopics.all(partitions: 1, replicationFactor: 1).contains(where: { $0.name == words[1] }) else {
                throw UsageError("'\(words[1].prefix(40))' is not one of Vigil's topics")
            }
            guard let partition = Int(words[2]), (0..<partitions).contains(partition) else {
                throw UsageError("a partition is 0 to \(partitions - 1), not '\(words[2].prefix(20))'")
            }
            return .leader(topic: words[1], partition: Int32(partition), broker: try broker(words[3], allowing: "none"))
        case "fail"? where words.count >= 3 && words.count <= 1002:
            let request: KafkaMockCluster.Request
            switch words[1] {
            case "produce": request = .produce
            case "fetch": request = .fetch
            default: throw UsageError("fail takes produce or fetch, not '\(words[1].prefix(20))'")
            }
            var errors: [KafkaMockCluster.InjectedError] = []
            for word in words.dropFirst(2) {
                switch word {
                case "not_leader": errors.append(.notLeaderOrFollower)
                case "timed_out": errors.append(.requestTimedOut)
                case "not_enough_replicas": errors.append(.notEnoughReplicas)
                case "disconnect": errors.append(.disconnect)
                default: throw UsageError("'\(word.prefix(30))' is not not_leader, timed_out, not_enough_replicas or disconnect")
                }
            }
            return .fail(request, errors)
        default:
            throw UsageError("unknown fault '\(line.prefix(60))'; use down, up, leader or fail (see vigil dev kafka --help)")
        }
    }

    /// Injects the fault.
    func apply(to cluster: KafkaMockCluster) throws(KafkaError) {
        switch self {
        case .down(let broker): try cluster.setBrokerDown(broker)
        case .up(let broker): try cluster.setBrokerUp(broker)
        case .leader(let topic, let partition, let broker): try cluster.setLeader(topic: topic, partition: partition, broker: broker)
        case .fail(let request, let errors): cluster.failNext(request, with: errors)
        }
    }
}
