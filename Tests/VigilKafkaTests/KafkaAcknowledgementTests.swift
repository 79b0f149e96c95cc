import Foundation
import Testing
import VigilCore
import VigilKafka
import VigilObservability
import VigilStore
import VigilTestSupport

/// Acknowledgements on the Kafka backend: written through to the compacted `vigil.acks`,
/// read by every process into its table, notes sealed with the alert's key (so an erasure
/// made through any process erases them everywhere), malformed records refused.
@Suite(.serialized, .timeLimit(.minutes(2))) struct KafkaAcknowledgementTests {
    func backend(_ cluster: KafkaMockCluster, _ name: String) throws -> KafkaBackend {
        let path = (TemporaryDirectory.make("vigil-kafka-acks") as NSString).appendingPathComponent("cache.sqlite")
        return try KafkaBackend(
            bootstrapServers: cluster.bootstrapServers, timeout: 10, database: try Database(path: path),
            masterKey: try MasterKey(text: String(repeating: "cd", count: 32)), processID: name, metrics: Metrics(),
            logger: Logger(label: name, enabled: false))
    }

    func waitFor(_ seconds: Double = 15, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(20_000)
        }
        return try condition()
    }

    @Test func acknowledgementsReachEveryProcessAndTheirNotesAreErasedWithTheAlert() async throws {
        let cluster = try KafkaMockCluster.withVigilTopics(partitions: 2)
        let a = try backend(cluster, "proc-a"), b = try backend(cluster, "proc-b")
        defer { b.shutdown(); a.shutdown() }
        let alert = Alert(
            id: ULID().description, receivedAt: .now(), country: CountryCode("BY")!, threat: .arrest, severity: .critical,
            certainty: .observed, defender: Defender(name: "Ilse Vandermeulen"), summary: "arrested", source: AlertSource(organisation: "partner"))
        _ = try await a.log.appended(alert).get()
        #expect(try waitFor { try b.log.alert(id: alert.id) != nil })

        let first = try a.shared.acknowledgements.acknowledge(Acknowledgement(
            alertID: alert.id, subscriberID: "sub_1", organisation: "be-fps", kind: .embassy, action: .prisonVisit, at: .now(), via: .link,
            note: "Visited Ilse Vandermeulen"))
        #expect(first)
        #expect(try waitFor { try b.shared.acknowledgements.isAcknowledged(alert.id, byAnyOf: ["sub_1"]) }, "the other process hears of it")
        #expect(try b.shared.acknowledgements.acknowledgements(ofAlert: alert.id).first?.note == "Visited Ilse Vandermeulen")

        // A malformed record on the topic is refused and counted; what follows is still read.
        let before = KafkaRecordRejections.byTopic[AcknowledgementStore.topic] ?? 0
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, signer: KafkaRecordSigner(masterKey: try MasterKey(text: String(repeating: "cd", count: 32))))
        _ = try producer.produceAndWait(
            topic: AcknowledgementStore.topic, key: Array("\(alert.id)/sub_2".utf8),
            value: Array(#"{"alert_id":"\#(alert.id)","subscriber_id":"sub_2","organisation":"o","kind":"embassy","action":"seen","at":1e19,"via":"api"}"#.utf8))
        _ = try producer.produceAndWait(
            topic: AcknowledgementStore.topic, key: Array("\(alert.id)/sub_3".utf8),
            value: Array(#"{"alert_id":"\#(alert.id)","subscriber_id":"sub_3","organisation":"o","kind":"embassy","action":"seen","at":1,"via":"api"}"#.utf8))
        #expect(try waitFor { try b.shared.acknowledgements.isAcknowledged(alert.id, byAnyOf: ["sub_3"]) })
        #expect(try !b.shared.acknowledgements.isAcknowledged(alert.id, byAnyOf: ["sub_2"]))
        #expect(waitFor { (KafkaRecordRejections.byTopic[AcknowledgementStore.topic] ?? 0) >= before + 2 }, "refused by both processes")

        // Erased through one process, the note is gone in the other once the key's tombstone arrives.
        #expect(try a.log.erase(.alert(alert.id)) == [alert.id])
        #expect(try a.shared.acknowledgements.acknowledgements(ofAlert: alert.id).first { $0.subscriberID == "sub_1" }?.note == nil)
        #expect(try waitFor { try b.shared.acknowledgements.acknowledgements(ofAlert: alert.id).first { $0.subscriberID == "sub_1" }?.note == nil })
        #expect(try b.shared.acknowledgements.isAcknowledged(alert.id, byAnyOf: ["sub_1"]), "the acknowledgement itself stays")
    }
}
