import Foundation
import Testing
import VigilCore
import VigilKafka
import VigilObservability
import VigilStore
import VigilTestSupport

/// Feeds on the Kafka backend (issue 21): a feed token made through one process is known to
/// another through the compacted `vigil.feeds` (its hash only), a rotation retires the old
/// token there too, and the delivery view answers which alerts were routed to a subscriber.
@Suite(.serialized, .timeLimit(.minutes(2))) struct KafkaFeedTests {
    static let topic = "vigil.feeds"

    func backend(_ cluster: KafkaMockCluster, _ name: String) throws -> KafkaBackend {
        let path = (TemporaryDirectory.make("vigil-kafka-feeds") as NSString).appendingPathComponent("cache.sqlite")
        return try KafkaBackend(
            bootstrapServers: cluster.bootstrapServers, timeout: 10, database: try Database(path: path),
            masterKey: try MasterKey(text: String(repeating: "cd", count: 32)), processID: name, metrics: Metrics(),
            logger: Logger(label: name, enabled: false))
    }

    func waitFor(_ seconds: Double = 15, _ condition: () throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try condition()
    }

    @Test func aFeedTokenMadeInOneProcessWorksInAnotherUntilItIsRotated() async throws {
        let cluster = try KafkaMockCluster.withVigilTopics(partitions: 2)
        let a = try backend(cluster, "proc-a"), b = try backend(cluster, "proc-b")
        defer { b.shutdown(); a.shutdown() }
        let old = try a.shared.feedTokens.rotate(subscriberID: "sub_desk")
        #expect(try await waitFor { try b.shared.feedTokens.subscriberID(forSecret: old) == "sub_desk" })
        let new = try b.shared.feedTokens.rotate(subscriberID: "sub_desk")
        #expect(try await waitFor { try a.shared.feedTokens.subscriberID(forSecret: new) == "sub_desk" })
        #expect(try a.shared.feedTokens.subscriberID(forSecret: old) == nil, "the rotation retires the old token in every process")

        // A third process reading the topic from the start knows only the current token.
        let c = try backend(cluster, "proc-c")
        defer { c.shutdown() }
        #expect(try c.shared.feedTokens.subscriberID(forSecret: new) == "sub_desk")
        #expect(try c.shared.feedTokens.subscriberID(forSecret: old) == nil)

        // A record that is not a feed token is skipped and counted; what follows is still read.
        let before = KafkaRecordRejections.byTopic[Self.topic] ?? 0
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, signer: .forTests)
        _ = try producer.produceAndWait(topic: Self.topic, key: Array("sub_bad".utf8), value: Array(#"{"hash":"nope","created_at":1}"#.utf8))
        _ = try producer.produceAndWait(topic: Self.topic, key: Array("sub_big".utf8), value: Array(#"{"hash":"x","created_at":1e19}"#.utf8))
        let later = try a.shared.feedTokens.rotate(subscriberID: "sub_later")
        #expect(try await waitFor { try b.shared.feedTokens.subscriberID(forSecret: later) == "sub_later" })
        #expect(try await waitFor { (KafkaRecordRejections.byTopic[Self.topic] ?? 0) >= before + 4 }, "both records refused by the three processes")
    }

    @Test func theDeliveryViewListsTheNewestAlertsRoutedToASubscriber() throws {
        let cluster = try KafkaMockCluster.withVigilTopics(partitions: 2)
        let queue = try KafkaDeliveryQueue(bootstrapServers: cluster.bootstrapServers, signer: .forTests)
        defer { queue.close() }
        let base: Int64 = 1_795_338_843_000
        let ids = (0..<4).map { ULID(time: Timestamp(milliseconds: base + Int64($0) * 1000)).description }
        func routed(_ alert: Int, to subscriber: String, channel: String = "a", state: DeliveryState = .pending) -> RoutedDelivery {
            // Offsets deliberately out of time order, as Kafka's partition-first offsets are.
            RoutedDelivery(
                alertID: ids[alert], alertOffset: LogOffset((4 - alert) << 40), subscriberID: subscriber, channelID: "chn_\(subscriber)_\(channel)",
                channelType: .webhook, clearance: .restricted, severity: .high, reason: .matched, initialState: state)
        }
        try queue.record([
            routed(0, to: "desk"), routed(1, to: "desk"), routed(1, to: "desk", channel: "b"), routed(2, to: "desk", state: .skipped),
            routed(2, to: "other"), routed(3, to: "desk"),
        ])
        #expect(try queue.alertIDs(routedTo: "desk", limit: 10) == [ids[3], ids[1], ids[0]])
        #expect(try queue.alertIDs(routedTo: "desk", limit: 2) == [ids[3], ids[1]])
        #expect(try queue.alertIDs(routedTo: "other", limit: 10) == [ids[2]])
    }
}
