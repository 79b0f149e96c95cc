import Foundation
import Testing
import VigilCore
import VigilCrypto
import VigilTestSupport
@testable import VigilStore

/// Digests (issue 21) in the queues: the router's gathered deliveries wait; the window's
/// digest is recorded once whichever alert names it, comes due when the window closes and
/// finds its alerts through `gathered(into:)`; delivered, it settles them in the same write,
/// so they are never sent on their own. One it did not settle is sent on its own an hour after
/// the window closed. Gathered deliveries do not make their subscriber a case recipient.
@Suite(.timeLimit(.minutes(1))) struct DigestQueueTests {
    /// 2027-01-04T09:00:00Z, a Monday: an hour's window opens (after the queue's own clock, which stamps what is due at once).
    static let nine: Int64 = 1_799_053_200_000

    static let desk = Subscriber(
        id: "sub_desk", name: "Desk", kind: .diplomaticDesk, organisation: "FPS", contact: "desk@example.org", clearance: .restricted,
        language: "en", channels: [Channel(id: "chn_hook", type: .webhook, url: "https://desk.example.org/hook")],
        subscriptions: [Subscription(countries: [CountryCode("BY")!], minSeverity: .low, digest: DigestSchedule(below: .high, every: .seconds(3600)))])

    static func alert(at ms: Int64, severity: Severity, caseID: String? = nil, kind: AlertKind = .alert) -> StoredAlert {
        var alert = makeAlert(at: ms, caseID: caseID, kind: kind)
        alert.severity = severity
        return StoredAlert(offset: ms - nine + 1, alert: alert)
    }

    func complete(_ queue: any DeliveryWorkQueue, _ id: String, _ outcome: DeliveryOutcome, settling: [String], at now: Timestamp) async -> String? {
        await withCheckedContinuation { continuation in
            queue.complete(id, outcome: outcome, settling: settling, at: now) { continuation.resume(returning: $0.map { String(describing: $0) }) }
        }
    }

    func claim(_ queue: any DeliveryWorkQueue, at ms: Int64) throws -> [DeliveryRecord] {
        try queue.claimDue(ClaimRequest(limit: 20, leaseMilliseconds: 60_000), now: Timestamp(milliseconds: ms))
    }

    @Test(arguments: StoreKind.allCases)
    func aWindowsDigestListsItsAlertsOnceAndSettlesThem(kind: StoreKind) async throws {
        let queue = try kind.makeQueue()
        let index = SubscriptionIndex([Self.desk])
        let low = Self.alert(at: Self.nine + 60_000, severity: .low), medium = Self.alert(at: Self.nine + 120_000, severity: .medium)
        let critical = Self.alert(at: Self.nine + 180_000, severity: .critical)
        let routed = [low, medium, critical].flatMap { Router.route($0, index: index, now: $0.alert.receivedAt) }
        try queue.recordRouting(routed, through: critical.offset, consumer: "router")
        let end = Self.nine + 3_600_000
        let digestID = DeliveryID.make(
            alertID: "any", subscriberID: "sub_desk", channelID: "chn_hook",
            followUp: FollowUp.digest(DigestWindow(start: Timestamp(milliseconds: Self.nine), end: Timestamp(milliseconds: end))).rawValue)
        #expect(digestID.hasPrefix("dlv_digest_"))
        #expect(try queue.deliveries(ofAlert: low.alert.id).map(\.id).contains(digestID), "the first alert of the window names the digest")
        #expect(try !queue.deliveries(ofAlert: medium.alert.id).map(\.id).contains(digestID), "recorded once, whichever alert names it")

        // Only the critical alert goes at once.
        let atOnce = try claim(queue, at: Self.nine + 180_001)
        #expect(atOnce.map(\.alertID) == [critical.alert.id])
        for record in atOnce { #expect(await complete(queue, record.id, .delivered, settling: [], at: Timestamp(milliseconds: Self.nine + 180_002)) == nil) }
        #expect(try claim(queue, at: end + DigestSchedule.settlingMilliseconds - 1).isEmpty, "nothing before the window closed and settled")
        let due = try claim(queue, at: end + DigestSchedule.settlingMilliseconds)
        #expect(due.map(\.id) == [digestID] && due.first?.reason == .digest)
        let digest = try #require(due.first)
        let gathered = try queue.gathered(into: digest)
        #expect(Set(gathered.map(\.alertID)) == [low.alert.id, medium.alert.id])
        #expect(gathered.allSatisfy { $0.followUp == .gathered(window: Timestamp(milliseconds: Self.nine)) })
        #expect(try queue.recipients(ofAlerts: [low.alert.id, medium.alert.id]).isEmpty, "a gathered alert is not a case's at-once recipient")
        #expect(try queue.recipients(ofAlerts: [critical.alert.id]) == ["sub_desk"])

        #expect(await complete(queue, digest.id, .delivered, settling: gathered.map(\.id), at: Timestamp(milliseconds: end + 6_000)) == nil)
        let states = try [low, medium].flatMap { try queue.deliveries(ofAlert: $0.alert.id) }.map(\.state)
        #expect(states.allSatisfy { $0 == .delivered }, "the digest and its alerts are delivered together")
        #expect(try queue.gathered(into: digest).isEmpty)
        #expect(try claim(queue, at: end + DigestSchedule.settlingMilliseconds + DigestSchedule.fallbackMilliseconds + 1).isEmpty,
            "settled alerts are never sent on their own")
    }

    @Test(arguments: StoreKind.allCases)
    func anAlertItsDigestDidNotSettleIsSentOnItsOwnAnHourLater(kind: StoreKind) async throws {
        let queue = try kind.makeQueue()
        let index = SubscriptionIndex([Self.desk])
        let first = Self.alert(at: Self.nine + 1_000, severity: .low), straggler = Self.alert(at: Self.nine + 2_000, severity: .low)
        try queue.recordRouting(Router.route(first, index: index, now: first.alert.receivedAt), through: first.offset, consumer: "router")
        let end = Self.nine + 3_600_000
        let digest = try #require(try claim(queue, at: end + DigestSchedule.settlingMilliseconds).first)
        let listed = try queue.gathered(into: digest)
        #expect(listed.map(\.alertID) == [first.alert.id])
        // Routed after the digest read its alerts (a write that stalled): the digest is not
        // recorded again, and settles only what it listed.
        try queue.recordRouting(Router.route(straggler, index: index, now: straggler.alert.receivedAt), through: straggler.offset, consumer: "router")
        #expect(await complete(queue, digest.id, .delivered, settling: listed.map(\.id), at: Timestamp(milliseconds: end + 6_000)) == nil)
        let fallback = end + DigestSchedule.settlingMilliseconds + DigestSchedule.fallbackMilliseconds
        #expect(try claim(queue, at: fallback - 1).isEmpty)
        let alone = try claim(queue, at: fallback)
        #expect(alone.map(\.alertID) == [straggler.alert.id] && alone.first?.followUp == .gathered(window: Timestamp(milliseconds: Self.nine)))
    }

    @Test(arguments: StoreKind.allCases)
    func aFailedDigestSettlesNothing(kind: StoreKind) async throws {
        let queue = try kind.makeQueue()
        let stored = Self.alert(at: Self.nine + 1_000, severity: .medium)
        try queue.recordRouting(Router.route(stored, index: SubscriptionIndex([Self.desk]), now: stored.alert.receivedAt), through: 1, consumer: "router")
        let end = Self.nine + 3_600_000
        let digest = try #require(try claim(queue, at: end + DigestSchedule.settlingMilliseconds).first)
        let listed = try queue.gathered(into: digest)
        let retryAt = Timestamp(milliseconds: end + 60_000)
        #expect(await complete(queue, digest.id, .retry(at: retryAt, error: "the receiver answered 503"), settling: listed.map(\.id), at: Timestamp(milliseconds: end + 6_000)) == nil)
        #expect(try queue.gathered(into: digest).map(\.id) == listed.map(\.id), "still waiting for the digest's next attempt")
        let again = try claim(queue, at: retryAt.milliseconds)
        #expect(again.map(\.id) == [digest.id], "the same digest, under the same id")
    }
}
