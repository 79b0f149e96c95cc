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

    /// The router's claim is handed over while the routing transaction is still open (a
    /// reader sees nothing yet), takes at most the pool's room, critical first, and leaves
    /// the rest pending for the pool's own claims.
    @Test func routingClaimsFreshDeliveriesBeforeItsCommit() throws {
        let database = try Database(path: temporaryDatabasePath())
        let queue = EmbeddedDeliveryQueue(database: database)
        let alert = ULID().description
        let deliveries = [Self.routed(alert, to: "a"), Self.routed(alert, to: "b", severity: .critical), Self.routed(alert, to: "c")]
        nonisolated(unsafe) var handed: [DeliveryRecord] = []
        nonisolated(unsafe) var visibleAtHandOff = -1
        try queue.recordRouting(deliveries, through: 9, consumer: "router", claim: ClaimRequest(limit: 2, leaseMilliseconds: 60_000, excludedChannels: [])) { claimed in
            handed = claimed
            visibleAtHandOff = (try? queue.deliveries(ofAlert: alert).count) ?? -1
        }
        #expect(visibleAtHandOff == 0, "handed over before the commit")
        #expect(handed.map(\.subscriberID) == ["b", "a"] || handed.map(\.subscriberID) == ["b", "c"], "critical first: \(handed.map(\.subscriberID))")
        #expect(handed.allSatisfy { $0.state == .inFlight && $0.attempts == 1 })
        // Once the call returns the commit is durable: position, claims and the rest.
        #expect(try queue.position(of: "router") == 9)
        let states = Dictionary(uniqueKeysWithValues: try queue.deliveries(ofAlert: alert).map { ($0.subscriberID, $0.state) })
        #expect(states.values.filter { $0 == .inFlight }.count == 2 && states.values.filter { $0 == .pending }.count == 1)
        let rest = try queue.claimDue(now: .now(), limit: 10, leaseMilliseconds: 60_000, excludedChannels: [])
        #expect(rest.count == 1 && !handed.map(\.id).contains(rest[0].id))
    }

    /// A routing that fails (here: the transaction cannot write) hands over nothing and
    /// throws, so the router retries it.
    @Test func aFailedRoutingHandsOverNothing() throws {
        let database = try Database(path: temporaryDatabasePath())
        let queue = EmbeddedDeliveryQueue(database: database)
        database.close()
        nonisolated(unsafe) var handed: [DeliveryRecord]?
        #expect(throws: (any Error).self) {
            try queue.recordRouting([Self.routed(ULID().description, to: "a")], through: 1, consumer: "router",
                claim: ClaimRequest(limit: 4, leaseMilliseconds: 60_000, excludedChannels: [])) { handed = $0 }
        }
        #expect(handed == [])
    }
}
