import Foundation
import Testing
import VigilKafka

/// Produces and waits for the delivery report.
func produceNow(_ producer: KafkaProducer, topic: String, key: String, value: String) -> Result<KafkaRecordPosition, KafkaError> {
    Result { () throws(KafkaError) in try producer.produceAndWait(topic: topic, key: Array(key.utf8), value: Array(value.utf8)) }
}

/// Reads until `count` records arrived or `seconds` passed.
func consume(_ consumer: KafkaConsumer, count: Int, seconds: Double = 30, commit: Bool = true) throws -> [KafkaRecord] {
    var records: [KafkaRecord] = []
    let deadline = Date().addingTimeInterval(seconds)
    while records.count < count && Date() < deadline {
        if let record = try consumer.poll(timeout: 0.2) {
            records.append(record)
            if commit { try consumer.commit(record) }
        }
    }
    return records
}

@Suite(.serialized) struct KafkaClientTests {
    /// librdkafka 2.0's mock cluster has no CreateTopics handler, so creation itself is left
    /// to a real cluster; here: the specification, and a clear error when the admin API does
    /// not answer.
    @Test func specifiesVigilsTopicsAndReportsAnUnansweredCreate() throws {
        let specs = KafkaTopics.all(partitions: 6, replicationFactor: 3)
        #expect(specs.map(\.name) == [
            "vigil.alerts", "vigil.alerts.invalid", "vigil.submissions", "vigil.deliveries.webhook", "vigil.deliveries.email", "vigil.deliveries.retry",
            "vigil.deliveries.dead", "vigil.deliveries.outcomes", "vigil.subscribers", "vigil.tokens", "vigil.accounts", "vigil.feeds", "vigil.audit", "vigil.replays", "vigil.acks",
            "vigil.keys",
        ])
        #expect(specs.allSatisfy { $0.partitions == 6 && $0.replicationFactor == 3 && $0.settings["min.insync.replicas"] == "2" })
        let keys = try #require(specs.first { $0.name == "vigil.keys" })
        #expect(keys.settings["cleanup.policy"] == "compact" && keys.settings["max.compaction.lag.ms"] == "86400000" && keys.settings["segment.ms"] == "3600000")
        #expect(specs.filter { $0.settings["cleanup.policy"] == "compact" }.map(\.name) == ["vigil.subscribers", "vigil.tokens", "vigil.accounts", "vigil.feeds", "vigil.replays", "vigil.acks", "vigil.keys"])
        #expect(KafkaTopics.all(partitions: 1, replicationFactor: 1).allSatisfy { $0.settings["min.insync.replicas"] == "1" })
        let cluster = try KafkaMockCluster()
        #expect { _ = try KafkaTopics.create(specs, bootstrapServers: cluster.bootstrapServers, timeout: 2) } throws: {
            // Unanswered, or answered with the request's own timeout: either way the error names the request.
            let text = ($0 as? KafkaError)?.description ?? ""
            return text.contains("did not answer CreateTopics") || text.contains("CreateTopics failed")
        }
    }

    /// acks=all and idempotence; one key keeps one partition and its order; kcat reads it.
    @Test func producesWithDeliveryReportsThatKcatReads() throws {
        let cluster = try KafkaMockCluster(brokers: 3)
        try cluster.createTopic("vigil.alerts", partitions: 4, replicationFactor: 3)
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        var positions: [String: [KafkaRecordPosition]] = [:]
        for n in 0..<40 {
            let key = ["BY", "CO", "PH", "BE"][n % 4]
            positions[key, default: []].append(try produceNow(producer, topic: "vigil.alerts", key: key, value: "{\"n\":\(n)}").get())
        }
        for (key, list) in positions {
            #expect(Set(list.map(\.partition)).count == 1, "\(key) stays in one partition")
            #expect(list.map(\.offset) == list.map(\.offset).sorted(), "\(key) keeps its order")
        }
        let (status, out, errors) = try kcat(["-b", cluster.bootstrapServers, "-C", "-t", "vigil.alerts", "-o", "beginning", "-c", "40", "-e", "-f", "%k %s\\n"])
        #expect(status == 0, "\(errors)")
        #expect(out.split(separator: "\n").count == 40 && out.contains("BY {\"n\":0}"))
        #expect(throws: KafkaError.self) { try KafkaProducer(bootstrapServers: cluster.bootstrapServers, extra: [("acks", "sometimes")]) }
    }

    /// Two members share the partitions; a closed member's partitions move at once, and a
    /// group resumes after its last commit.
    @Test func consumersShareAGroupCommitAndHandOverOnClose() throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("vigil.test", partitions: 4)
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        for n in 0..<20 { _ = try produceNow(producer, topic: "vigil.test", key: "k\(n)", value: "v\(n)").get() }

        let first = try KafkaConsumer(bootstrapServers: cluster.bootstrapServers, group: "workers", topics: ["vigil.test"])
        let firstBatch = try consume(first, count: 5)
        #expect(firstBatch.count == 5)
        let second = try KafkaConsumer(bootstrapServers: cluster.bootstrapServers, group: "workers", topics: ["vigil.test"])
        // Both poll until the group has rebalanced and split the four partitions.
        let deadline = Date().addingTimeInterval(30)
        var seen = firstBatch
        while Date() < deadline && !(first.assignment.partitions.count + second.assignment.partitions.count == 4
            && !first.assignment.partitions.isEmpty && !second.assignment.partitions.isEmpty) {
            seen += try consume(first, count: 1, seconds: 0.3) + consume(second, count: 1, seconds: 0.3)
        }
        #expect(!first.assignment.partitions.isEmpty && !second.assignment.partitions.isEmpty, "\(first.assignment) \(second.assignment)")
        #expect(Set(first.assignment.partitions).isDisjoint(with: second.assignment.partitions))

        let closedAt = Date()
        first.close()
        while Date() < closedAt.addingTimeInterval(20) && second.assignment.partitions.count < 4 { seen += try consume(second, count: 1, seconds: 0.2) }
        #expect(second.assignment.partitions.count == 4)
        #expect(Date().timeIntervalSince(closedAt) < 6, "a clean close hands over before the 6 s session timeout")
        // Records a revoked member had read but not committed come again: at least once.
        let readAll = Date().addingTimeInterval(20)
        while Date() < readAll && Set(seen.map { "\($0.partition)/\($0.offset)" }).count < 20 { seen += try consume(second, count: 1, seconds: 0.2) }
        #expect(Set(seen.map { "\($0.partition)/\($0.offset)" }).count == 20, "every record read, none lost in the hand-over")
        // Drain until quiet: what the first member read but could not commit during the
        // rebalance comes again here and is committed.
        var quiet = 0
        while quiet < 10 { quiet = try consume(second, count: 1, seconds: 0.2).isEmpty ? quiet + 1 : 0 }
        second.close()

        // Everything was committed: a new member of the group reads nothing old.
        _ = produceNow(producer, topic: "vigil.test", key: "late", value: "new")
        let third = try KafkaConsumer(bootstrapServers: cluster.bootstrapServers, group: "workers", topics: ["vigil.test"])
        let after = try consume(third, count: 1, seconds: 15) + consume(third, count: 1, seconds: 2)
        #expect(after.map { String(decoding: $0.value ?? [], as: UTF8.self) } == ["new"])
        third.close()
    }
}
