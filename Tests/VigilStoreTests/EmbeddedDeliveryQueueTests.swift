import Dispatch
import Foundation
import Testing
import VigilCore
@testable import VigilStore

@Suite struct EmbeddedDeliveryQueueTests {
    static func routed(_ alertID: String, to subscriber: String, severity: Severity = .high) -> RoutedDelivery {
        RoutedDelivery(
            alertID: alertID, alertOffset: 1, subscriberID: subscriber, channelID: "chn_\(subscriber)", channelType: .webhook,
            clearance: .restricted, severity: severity, reason: .matched, initialState: .pending)
    }

    /// The router's claim is handed over without waiting for the routing write (which may or
    /// may not have run by then), takes at most the pool's room, critical first, and leaves
    /// the rest pending for the pool's own claims.
    @Test func routingClaimsFreshDeliveriesBeforeItsCommit() throws {
        let database = try Database(path: temporaryDatabasePath())
        let queue = EmbeddedDeliveryQueue(database: database)
        let alert = ULID().description
        let deliveries = [Self.routed(alert, to: "a"), Self.routed(alert, to: "b", severity: .critical), Self.routed(alert, to: "c")]
        nonisolated(unsafe) var handed: [DeliveryRecord] = []
        try queue.recordRouting(deliveries, through: 9, consumer: "router", claim: ClaimRequest(limit: 2, leaseMilliseconds: 60_000)) { claimed in
            handed = claimed
        }
        #expect(handed.map(\.subscriberID) == ["b", "a"] || handed.map(\.subscriberID) == ["b", "c"], "critical first: \(handed.map(\.subscriberID))")
        #expect(handed.allSatisfy { $0.state == .inFlight && $0.attempts == 1 })
        // Once the call returns the commit is durable: position, claims and the rest.
        #expect(try queue.position(of: "router") == 9)
        let states = Dictionary(uniqueKeysWithValues: try queue.deliveries(ofAlert: alert).map { ($0.subscriberID, $0.state) })
        #expect(states.values.filter { $0 == .inFlight }.count == 2 && states.values.filter { $0 == .pending }.count == 1)
        let rest = try queue.claimDue(ClaimRequest(limit: 10, leaseMilliseconds: 60_000), now: .now())
        #expect(rest.count == 1 && !handed.map(\.id).contains(rest[0].id))
    }

    /// A routing whose write fails (here: the store is closed) throws, so the router redoes
    /// it. Its claim went out as the write was queued, so those sends repeat on the redo;
    /// but only once: while routing writes keep failing, a claim waits for its write and
    /// hands over nothing.
    @Test func aFailingStoreRepeatsAClaimOnlyOnce() throws {
        let database = try Database(path: temporaryDatabasePath())
        let queue = EmbeddedDeliveryQueue(database: database)
        database.close()
        let routed = [Self.routed(ULID().description, to: "a")]
        nonisolated(unsafe) var handed: [Int] = []
        for _ in 0..<3 {
            #expect(throws: (any Error).self) {
                try queue.recordRouting(routed, through: 1, consumer: "router", claim: ClaimRequest(limit: 4, leaseMilliseconds: 60_000)) {
                    handed.append($0.count)
                }
            }
        }
        #expect(handed == [1, 0, 0])
    }

    /// A desk back from an outage with a backlog: a claim takes no more of its deliveries
    /// than its room (the per-channel limit less its sends in flight), passes over the rest
    /// to another channel's work behind them, and a refill of the desk alone takes its room
    /// and nothing else. The router's claim keeps to the same room.
    @Test func aClaimTakesAtMostEachChannelsRoom() throws {
        let database = try Database(path: temporaryDatabasePath())
        let queue = EmbeddedDeliveryQueue(database: database)
        let alerts = (0..<10).map { _ in ULID().description }
        try queue.recordRouting(alerts.map { Self.routed($0, to: "desk") } + [Self.routed(alerts[9], to: "ngo")], through: 1, consumer: "router")
        let now = Timestamp(milliseconds: Timestamp.now().milliseconds + 1)
        let claimed = try queue.claimDue(ClaimRequest(limit: 8, leaseMilliseconds: 60_000, perChannel: 4, inFlight: ["chn_desk": 1]), now: now)
        #expect(claimed.filter { $0.subscriberID == "desk" }.count == 3 && claimed.filter { $0.subscriberID == "ngo" }.count == 1)
        let refill = ClaimRequest(limit: 8, leaseMilliseconds: 60_000, perChannel: 4, inFlight: ["chn_desk": 3], onlyChannels: ["chn_desk"])
        #expect(try queue.claimDue(refill, now: now).map(\.subscriberID) == ["desk"])
        #expect(try queue.claimDue(ClaimRequest(limit: 8, leaseMilliseconds: 60_000, perChannel: 4, inFlight: ["chn_desk": 4]), now: now).isEmpty)

        let fresh = (0..<3).map { _ in ULID().description }
        nonisolated(unsafe) var handed: [DeliveryRecord] = []
        try queue.recordRouting(
            fresh.map { Self.routed($0, to: "hq") }, through: 2, consumer: "router",
            claim: ClaimRequest(limit: 8, leaseMilliseconds: 60_000, perChannel: 2)
        ) { handed = $0 }
        #expect(handed.count == 2 && handed.allSatisfy { $0.subscriberID == "hq" })
    }

    /// A channel behind an open breaker: its waiting non-critical deliveries move to the
    /// breaker's next trial, so claims skip them without walking them and the next due time
    /// is the trial's; its critical ones are still claimed, and another channel's work goes
    /// out as usual.
    @Test func aHeldChannelsBacklogWaitsForItsTrial() throws {
        let database = try Database(path: temporaryDatabasePath())
        let queue = EmbeddedDeliveryQueue(database: database)
        let alerts = (0..<4).map { _ in ULID().description }
        var routed = alerts.prefix(3).map { Self.routed($0, to: "dead") }
        routed += [Self.routed(alerts[3], to: "dead", severity: .critical), Self.routed(alerts[0], to: "up")]
        try queue.recordRouting(routed, through: 1, consumer: "router")
        let now = Timestamp.now()
        let trial = Timestamp(milliseconds: now.milliseconds + 30_000)
        let claim = ClaimRequest(limit: 10, leaseMilliseconds: 120_000, heldChannels: ["chn_dead": trial])
        let claimed = try queue.claimDue(claim, now: now)
        #expect(Set(claimed.map(\.subscriberID)) == ["dead", "up"] && claimed.count == 2)
        #expect(claimed.first?.severity == .critical, "critical first, even behind a breaker")
        // Read on the writer, after the claim's commit (a claim answers before it).
        #expect(try queue.nextDueTime() == trial, "the pool sleeps until the trial instead of waking at once")
        let held = try alerts.prefix(3).flatMap { try queue.deliveries(ofAlert: $0) }.filter { $0.subscriberID == "dead" }
        #expect(held.count == 3 && held.allSatisfy { $0.state == .pending && $0.nextAttemptAt == trial && $0.attempts == 0 })
        #expect(try queue.claimDue(claim, now: now).isEmpty)
        // Once the breaker lets its trial through, the backlog is due again.
        let later = try queue.claimDue(ClaimRequest(limit: 10, leaseMilliseconds: 120_000), now: trial)
        #expect(later.count == 3 && later.allSatisfy { $0.subscriberID == "dead" })

        let due = try database.read { transaction in
            try transaction.connection.query(
                "EXPLAIN QUERY PLAN SELECT id FROM deliveries WHERE state = 'failed' AND severity_rank = 2 AND next_attempt_at <= 1 ORDER BY next_attempt_at LIMIT 5"
            ).compactMap { $0.text(3) }.joined(separator: "; ")
        }
        #expect(due.contains("next_attempt_at<?") && !due.contains("TEMP B-TREE"), "retries not yet due must not be walked: \(due)")
    }
}

