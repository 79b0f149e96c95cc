import Foundation
import Testing
import VigilCore
import VigilCrypto
import VigilTestSupport
@testable import VigilStore

/// Follow-ups (issue 19) in the queues: recorded as deliveries of their own with their due
/// time, held until then, claimed when due (critical first, like any work), cancelled when
/// no longer wanted; on the embedded store they survive a restart, once, due as before.
@Suite(.timeLimit(.minutes(1))) struct FollowUpQueueTests {
    static func routed(
        _ alertID: String, to subscriber: String, severity: Severity = .high, followUp: FollowUp? = nil, dueAt: Timestamp? = nil
    ) -> RoutedDelivery {
        RoutedDelivery(
            alertID: alertID, alertOffset: 1, subscriberID: subscriber, channelID: "chn_\(subscriber)", channelType: .webhook,
            clearance: .restricted, severity: severity, reason: followUp == nil ? .matched : .followUp, initialState: .pending,
            followUp: followUp, dueAt: dueAt)
    }

    func complete(_ queue: any DeliveryWorkQueue, _ id: String, _ outcome: DeliveryOutcome, at now: Timestamp) async -> String? {
        await withCheckedContinuation { continuation in
            queue.complete(id, outcome: outcome, at: now) { continuation.resume(returning: $0.map { String(describing: $0) }) }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func followUpsAreHeldUntilDueThenClaimedAndMayBeCancelled(kind: StoreKind) async throws {
        let queue = try kind.makeQueue()
        let alert = ULID().description
        let now = Timestamp.now()
        let inAnHour = Timestamp(milliseconds: now.milliseconds + 3_600_000), inADay = Timestamp(milliseconds: now.milliseconds + 86_400_000)
        try queue.recordRouting([
            Self.routed(alert, to: "desk"),
            Self.routed(alert, to: "backup", followUp: .escalation(from: "desk"), dueAt: inAnHour),
            Self.routed(alert, to: "desk", followUp: .reminder(1), dueAt: inAnHour),
            Self.routed(alert, to: "desk", followUp: .reminder(2), dueAt: inADay),
        ], through: 1, consumer: "router")
        let records = try queue.deliveries(ofAlert: alert)
        #expect(records.count == 4, "each follow-up is a delivery of its own, even to the same channel")
        let reminder1 = try #require(records.first { $0.followUp == .reminder(1) })
        #expect(reminder1.id == DeliveryID.make(alertID: alert, subscriberID: "desk", channelID: "chn_desk", followUp: "reminder:1"))
        #expect(reminder1.nextAttemptAt == inAnHour && reminder1.state == .pending && reminder1.reason == .followUp)
        #expect(records.first { $0.subscriberID == "backup" }?.followUp == .escalation(from: "desk"))

        // A second after recording, by the clock the queue stamped it with (read after it, so a
        // slow machine cannot put the claim before the record).
        let later = Timestamp(milliseconds: Timestamp.now().milliseconds + 1_000)
        let first = try queue.claimDue(ClaimRequest(limit: 10, leaseMilliseconds: 60_000), now: later)
        #expect(first.map(\.followUp) == [nil], "only the first sending now")
        #expect(try queue.claimDue(ClaimRequest(limit: 10, leaseMilliseconds: 60_000), now: later).isEmpty, "a follow-up due in an hour is not sent now")
        let sent = try #require(first.first)
        #expect(await complete(queue, sent.id, .delivered, at: later) == nil)
        #expect(try queue.nextDueTime() == inAnHour, "the workers wake when the first follow-up is due")

        // A critical alert's first sending goes before follow-ups that came due.
        let critical = ULID().description
        try queue.recordRouting([Self.routed(critical, to: "other", severity: .critical)], through: 2, consumer: "router")
        let due = try queue.claimDue(ClaimRequest(limit: 2, leaseMilliseconds: 60_000), now: inAnHour)
        #expect(due.map(\.alertID) == [critical, alert] && due[1].followUp != nil, "critical first; a follow-up due now is ordinary work")
        let rest = try queue.claimDue(ClaimRequest(limit: 10, leaseMilliseconds: 60_000), now: inAnHour)
        #expect(Set((due + rest).compactMap(\.followUp)) == [.escalation(from: "desk"), .reminder(1)], "the next day's reminder waits")

        // The desk acknowledged: the escalation is cancelled when it comes due.
        let escalation = try #require((due + rest).first { $0.followUp == .escalation(from: "desk") })
        #expect(await complete(queue, escalation.id, .cancelled(reason: "acknowledged by desk"), at: inAnHour) == nil)
        let cancelled = try #require(try queue.deliveries(ofAlert: alert).first { $0.id == escalation.id })
        #expect(cancelled.state == .cancelled && cancelled.lastError == "acknowledged by desk" && cancelled.followUp == .escalation(from: "desk"))
        #expect(try queue.countsByState()[.cancelled] == 1)
        for record in due + rest where record.id != escalation.id { #expect(await complete(queue, record.id, .delivered, at: inAnHour) == nil) }
        #expect(try queue.nextDueTime() == inADay, "nothing cancelled or sent is waited for: only the next day's reminder")
        #expect(try queue.claimDue(ClaimRequest(limit: 10, leaseMilliseconds: 60_000), now: inADay).compactMap(\.followUp) == [.reminder(2)])
        #expect(try !queue.claimDue(ClaimRequest(limit: 10, leaseMilliseconds: 60_000), now: Timestamp(milliseconds: inADay.milliseconds + 120_000)).contains { $0.id == escalation.id }, "a cancelled follow-up is never claimed again")
    }

    /// The router's claim in the routing write takes only what is due: a follow-up is not
    /// handed to the workers at routing time.
    @Test(arguments: StoreKind.allCases)
    func aRoutingsClaimLeavesFollowUpsForLater(kind: StoreKind) throws {
        let queue = try kind.makeQueue()
        let alert = ULID().description
        let inAnHour = Timestamp(milliseconds: Timestamp.now().milliseconds + 3_600_000)
        nonisolated(unsafe) var handed: [DeliveryRecord] = []
        try queue.recordRouting(
            [Self.routed(alert, to: "desk"), Self.routed(alert, to: "backup", followUp: .escalation(from: "desk"), dueAt: inAnHour)],
            through: 1, consumer: "router", claim: ClaimRequest(limit: 10, leaseMilliseconds: 60_000)) { handed = $0 }
        #expect(handed.map(\.subscriberID) == ["desk"] && handed.first?.followUp == nil)
        let states = try queue.deliveries(ofAlert: alert).map { ($0.subscriberID, $0.state) }
        #expect(states.contains { $0 == ("backup", .pending) } && states.contains { $0 == ("desk", .inFlight) })
    }

    @Test func aPendingFollowUpSurvivesARestartOnceDueAsBefore() throws {
        let path = temporaryDatabasePath()
        let alert = ULID().description
        let due = Timestamp(milliseconds: Timestamp.now().milliseconds + 3_600_000)
        let routed = [Self.routed(alert, to: "desk"), Self.routed(alert, to: "backup", followUp: .escalation(from: "desk"), dueAt: due)]
        do {
            let database = try Database(path: path)
            let queue = EmbeddedDeliveryQueue(database: database)
            try queue.recordRouting(routed, through: 1, consumer: "router")
            _ = try queue.claimDue(ClaimRequest(limit: 10, leaseMilliseconds: 60_000), now: .now())
            database.close()
        }
        let database = try Database(path: path)
        defer { database.close() }
        let queue = EmbeddedDeliveryQueue(database: database)
        #expect(try queue.releaseAbandonedClaims(at: .now()) == 1, "the first sending, left in flight")
        try queue.recordRouting(routed, through: 1, consumer: "router")  // routed again after the crash: changes nothing
        let followUps = try queue.deliveries(ofAlert: alert).filter { $0.followUp != nil }
        #expect(followUps.count == 1)
        #expect(followUps.first?.followUp == .escalation(from: "desk") && followUps.first?.nextAttemptAt == due && followUps.first?.state == .pending)
        #expect(try queue.claimDue(ClaimRequest(limit: 10, leaseMilliseconds: 60_000), now: .now()).map(\.followUp) == [nil])
        #expect(try queue.claimDue(ClaimRequest(limit: 10, leaseMilliseconds: 60_000), now: due).compactMap(\.followUp) == [.escalation(from: "desk")])
    }
}
