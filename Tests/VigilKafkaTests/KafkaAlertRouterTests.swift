import Foundation
import Synchronization
import Testing
import VigilCore
import VigilCrypto
import VigilKafka
import VigilTestSupport
import VigilStore

/// The Kafka router on librdkafka's mock cluster (no broker to start), recording into the
/// in-memory queue: signed alerts are routed once; alert JSON an outside producer wrote is
/// validated, filed as a signed alert and routed; anything else goes to
/// `vigil.alerts.invalid` with its reason.
@Suite(.serialized, .timeLimit(.minutes(2))) struct KafkaAlertRouterTests {
    @Test func routesSignedAlertsFilesOutsideAlertsAndQuarantinesTheRest() async throws {
        let cluster = try KafkaMockCluster.withVigilTopics(partitions: 2)
        let connection = try KafkaConnection(bootstrapServers: cluster.bootstrapServers, signer: .forTests)
        defer { connection.shutdown() }
        let log = try KafkaAlertLog(
            connection: connection, cipher: IdentityCipher(masterKey: Array(repeating: 7, count: 32)), macKey: Array(repeating: 9, count: 32))
        defer { log.close() }
        let fixture = try RoutingFixture()
        try fixture.desk("by-desk", follows: ["BY"])
        try fixture.desk("co-desk", follows: ["CO"])
        let router = KafkaAlertRouter(
            connection: connection, log: log, recorder: fixture.queue, subscribers: fixture.subscribers,
            intake: AlertIntake(log: log, fingerprintKey: Array(repeating: 3, count: 32), metrics: fixture.metrics), metrics: fixture.metrics,
            logger: fixture.logger)
        let routedOffsets = Mutex<[LogOffset]>([])
        router.onRouted { offset in routedOffsets.withLock { $0.append(offset) } }
        try router.start()
        defer { router.stop() }

        // A signed alert, appended through the log.
        let now = Timestamp.now()
        let signed = Alert(
            id: ULID(time: now).description, receivedAt: now, country: CountryCode("BY")!, threat: .arrest, severity: .critical,
            certainty: .observed, defender: Defender(name: "Routed Defender"), summary: "arrested", source: AlertSource(organisation: "partner"))
        let receipt = try await log.appended(signed).get()
        #expect(try await waitUntil(within: 30) { try !fixture.queue.deliveries(ofAlert: signed.id).isEmpty }, "the router joined and routed")
        #expect(try fixture.queue.deliveries(ofAlert: signed.id).map { "\($0.subscriberID):\($0.reason.rawValue)" } == ["by-desk:matched"])
        #expect(await waitUntil(within: 5) { router.routedOffset >= receipt.offset })

        // Alert JSON from an outside producer, and two records that are not alerts.
        let outside = #"{"country":"CO","threat":"killing","severity":"critical","certainty":"observed","summary":"A defender was shot.","defender":{"name":"Routed Defender"},"source":{"organisation":"outside-ngo"}}"#
        let anonymous = #"{"country":"CO","threat":"killing","severity":"critical","certainty":"observed","summary":"x","defender":{"name":"Routed Defender"}}"#
        let invalid = Mutex<[String]>([])
        let follower = try connection.follow(
            [KafkaAlertLog.invalidTopic], name: "test-invalid", onRecord: { record in
                invalid.withLock { $0.append(String(decoding: record.value ?? [], as: UTF8.self)) }
            }, onError: { _ in 0.1 })
        defer { follower.stop() }
        // Outside producers write to the intake topic, unsigned, as kcat would; written to
        // `vigil.alerts` itself, the same alert is refused for its missing signature and neither
        // filed nor quarantined.
        let outsider = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        let refusedBefore = KafkaRecordRejections.byTopic[KafkaAlertLog.topic] ?? 0
        _ = try outsider.produceAndWait(
            topic: KafkaAlertLog.topic, key: Array("CO".utf8), value: Array(outside.replacingOccurrences(of: "outside-ngo", with: "forger").utf8))
        for value in [outside, anonymous, "not json at all"] {
            _ = try outsider.produceAndWait(topic: KafkaAlertLog.submissionsTopic, key: Array("CO".utf8), value: Array(value.utf8))
        }
        #expect(try await waitUntil(within: 30) {
            try log.alerts(matching: AlertQuery(country: CountryCode("CO"))).contains { $0.alert.source.organisation == "outside-ngo" }
        }, "the outside alert was filed as a signed one")
        let filed = try #require(try log.alerts(matching: AlertQuery(country: CountryCode("CO"))).first { $0.alert.source.organisation == "outside-ngo" })
        #expect(filed.alert.defender.name == "Routed Defender" && filed.alert.threat == .killing)
        #expect(try await waitUntil(within: 30) { try !fixture.queue.deliveries(ofAlert: filed.alert.id).isEmpty })
        #expect(try fixture.queue.deliveries(ofAlert: filed.alert.id).map(\.subscriberID) == ["co-desk"])
        #expect(await waitUntil(within: 30) { invalid.withLock { $0.count } >= 2 })
        let notices = invalid.withLock { $0 }
        #expect(notices.count == 2)
        #expect(notices.contains { $0.contains("source.organisation") }, "the missing filer is named: \(notices)")
        #expect(fixture.metrics.value("vigil_alerts_received_total", labels: "severity=\"critical\"") == 1)

        #expect(await waitUntil(within: 10) { (KafkaRecordRejections.byTopic[KafkaAlertLog.topic] ?? 0) >= refusedBefore + 2 }, "refused by the router and the log's reader")
        #expect(try log.alerts(matching: AlertQuery()).allSatisfy { $0.alert.source.organisation != "forger" })

        // Each alert routed once: the log holds two, the queue two deliveries.
        #expect(try log.alerts(matching: AlertQuery()).count == 2)
        #expect(fixture.queue.all.count == 2)
        #expect(await waitUntil(within: 5) { routedOffsets.withLock { $0 }.contains(filed.offset) })
    }
}
