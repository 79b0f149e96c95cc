import Foundation
import Testing
import VigilCore
import VigilCrypto
@testable import VigilKafka

/// Digests (issue 21) on Kafka: the digest is written once with the alert that opened it (a
/// second routing names it again without changing it); the worker that claims it finds the
/// gathered deliveries in its view of the outcomes, and a delivered digest settles them, so
/// their own copies, waiting in the same worker, are never sent.
@Suite(.serialized, .timeLimit(.minutes(2))) struct KafkaDigestTests {
    /// A window an hour long, opening in the future (deliveries due at once are stamped with
    /// the queue's own clock, which must come before it).
    static let start: Int64 = 1_799_053_200_000
    static let end = start + 3_600_000
    static let window = DigestWindow(start: Timestamp(milliseconds: start), end: Timestamp(milliseconds: end))

    static func gathered(_ alertID: String, offset: Int64) -> [RoutedDelivery] {
        let base = { (followUp: FollowUp, reason: RoutingReason, due: Int64) in
            RoutedDelivery(
                alertID: alertID, alertOffset: offset, subscriberID: "sub_desk", channelID: "chn_hook", channelType: .webhook, clearance: .restricted,
                severity: .low, reason: reason, initialState: .pending, followUp: followUp, dueAt: Timestamp(milliseconds: due))
        }
        return [
            base(.gathered(window: window.start), .matched, end + DigestSchedule.settlingMilliseconds + DigestSchedule.fallbackMilliseconds),
            base(.digest(window), .digest, end + DigestSchedule.settlingMilliseconds),
        ]
    }

    func claim(_ queue: KafkaDeliveryQueue, at ms: Int64, within seconds: Double) async throws -> [DeliveryRecord] {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            let claimed = try queue.claimDue(ClaimRequest(limit: 10, leaseMilliseconds: 60_000), now: Timestamp(milliseconds: ms))
            if !claimed.isEmpty { return claimed }
            try await Task.sleep(for: .milliseconds(20))
        } while Date() < deadline
        return []
    }

    func complete(_ queue: KafkaDeliveryQueue, _ id: String, settling: [String], at ms: Int64) async -> String? {
        await withCheckedContinuation { continuation in
            queue.complete(id, outcome: .delivered, settling: settling, at: Timestamp(milliseconds: ms)) {
                continuation.resume(returning: $0.map { String(describing: $0) })
            }
        }
    }

    @Test func aDeliveredDigestSettlesItsGatheredAlertsOnEveryCopy() async throws {
        let cluster = try KafkaMockCluster.withVigilTopics(partitions: 1)
        let queue = try KafkaDeliveryQueue(bootstrapServers: cluster.bootstrapServers, signer: .forTests)
        defer { queue.close() }
        let first = ULID().description, second = ULID().description
        try queue.record(Self.gathered(first, offset: 1))
        try queue.record(Self.gathered(second, offset: 2))
        let digestID = DeliveryID.make(alertID: second, subscriberID: "sub_desk", channelID: "chn_hook", followUp: FollowUp.digest(Self.window).rawValue)
        #expect(try queue.deliveries(ofAlert: first).map(\.id).contains(digestID), "the digest keeps the alert that opened it")
        #expect(try !queue.deliveries(ofAlert: second).map(\.id).contains(digestID))
        #expect(try queue.recipients(ofAlerts: [first, second]).isEmpty)

        try queue.startWorking(isReadable: { _ in true }, onAvailable: {})
        // The group's first rebalance takes seconds on the mock cluster, more under CI's load.
        let due = try await claim(queue, at: Self.end + DigestSchedule.settlingMilliseconds, within: 60)
        #expect(due.map(\.id) == [digestID], "one digest, claimed once its window closed")
        let digest = try #require(due.first)
        let listed = try queue.gathered(into: digest)
        #expect(Set(listed.map(\.alertID)) == [first, second])
        #expect(await complete(queue, digest.id, settling: listed.map(\.id), at: Self.end + 6_000) == nil)
        #expect(try [first, second].flatMap { try queue.deliveries(ofAlert: $0) }.allSatisfy { $0.state == .delivered })
        let fallback = Self.end + DigestSchedule.settlingMilliseconds + DigestSchedule.fallbackMilliseconds
        #expect(try await claim(queue, at: fallback, within: 1).isEmpty, "the settled alerts' own copies are never sent")

        // Another process reading the outcomes sees them delivered too.
        let reader = try KafkaDeliveryQueue(bootstrapServers: cluster.bootstrapServers, signer: .forTests)
        defer { reader.close() }
        #expect(try [first, second].flatMap { try reader.deliveries(ofAlert: $0) }.allSatisfy { $0.state == .delivered })
    }
}
