import Foundation
import Testing
import VigilCore
import VigilCrypto
@testable import VigilKafka

/// A Kafka router records a batch's deliveries before it commits the batch, so a crash, or a
/// commit refused during a rebalance, has the alerts routed again later (issue 8: at least
/// once). A gathered alert routed again after its window closed is gathered into a later
/// window (`Router.route` takes the window open at routing time); it must stay the same
/// delivery in its first window, listed by one digest, not sent in two (issue 21): were it
/// moved to the later window, that digest could list it while the first one, already
/// listing it, is still being sent.
@Suite(.serialized, .timeLimit(.minutes(2))) struct KafkaDigestRoutingTests {
    @Test func anAlertRoutedAgainInALaterWindowIsListedByOneDigestOnly() throws {
        let cluster = try KafkaMockCluster.withVigilTopics(partitions: 1)
        let alert = ULID().description
        let opened = Timestamp.now().milliseconds / 10_000 * 10_000
        let first = DigestWindow(start: Timestamp(milliseconds: opened), end: Timestamp(milliseconds: opened + 10_000))
        let later = DigestWindow(start: first.end, end: Timestamp(milliseconds: opened + 20_000))
        // What `Router.route` makes of a low alert for a desk gathering it: the alert gathered
        // into the window, and the window's digest.
        func routed(into window: DigestWindow) -> [RoutedDelivery] {
            [
                RoutedDelivery(
                    alertID: alert, alertOffset: 1, subscriberID: "sub_desk", channelID: "chn_desk", channelType: .webhook, clearance: .restricted,
                    severity: .low, reason: .matched, initialState: .pending, followUp: .gathered(window: window.start),
                    dueAt: window.end.adding(milliseconds: DigestSchedule.settlingMilliseconds + DigestSchedule.fallbackMilliseconds)),
                RoutedDelivery(
                    alertID: alert, alertOffset: 1, subscriberID: "sub_desk", channelID: "chn_desk", channelType: .webhook, clearance: .restricted,
                    severity: .low, reason: .digest, initialState: .pending, followUp: .digest(window),
                    dueAt: window.end.adding(milliseconds: DigestSchedule.settlingMilliseconds)),
            ]
        }
        let queue = try KafkaDeliveryQueue(bootstrapServers: cluster.bootstrapServers, signer: .forTests)
        defer { queue.close() }
        try queue.record(routed(into: first))
        try queue.record(routed(into: later))  // the batch routed again, its commit lost
        let digests = try queue.deliveries(ofAlert: alert).filter { $0.reason == .digest }
        #expect(digests.count == 2)
        let listed = try digests.flatMap { try queue.gathered(into: $0) }
        #expect(listed.count == 1, "the alert is listed by one digest, not \(listed.count): \(listed.map(\.id))")
        let gathered = try queue.deliveries(ofAlert: alert).filter { if case .gathered = $0.followUp { true } else { false } }
        #expect(gathered.count == 1, "routed twice, the alert is still one gathered delivery: \(gathered.map(\.id))")
        #expect(gathered.first?.followUp == .gathered(window: first.start), "still gathered into the window it was first routed in")
        let laterDigest = try #require(digests.first { $0.followUp == .digest(later) })
        #expect(try queue.gathered(into: laterDigest).isEmpty, "the later window's digest finds nothing to send")
    }
}
