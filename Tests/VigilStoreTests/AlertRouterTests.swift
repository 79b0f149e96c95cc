import Foundation
import Synchronization
import Testing
import VigilCore
import VigilStore
import VigilTestSupport
@testable import VigilStore

/// The embedded router against the in-memory log and queue: every appended alert routed
/// once, from the committed position, updates following their case, test alerts skipped,
/// and a failing log or queue costing time, never an alert.
@Suite(.timeLimit(.minutes(1))) struct AlertRouterTests {
    /// Waits until `router` has routed through `offset`.
    func routed(_ router: AlertRouter, through offset: LogOffset) async -> Bool {
        await waitUntil(within: 10) { router.routedOffset >= offset }
    }

    @Test func routesEachAppendedAlertOnceIntoItsDeliveries() async throws {
        let fixture = try RoutingFixture()
        try fixture.desk("by-desk", follows: ["BY"], channels: 2)
        try fixture.desk("co-desk", follows: ["CO"], minSeverity: .high)
        let router = fixture.router()
        let heard = Mutex<[LogOffset]>([])
        router.onRouted { offset in heard.withLock { $0.append(offset) } }
        try router.start()
        defer { router.stop() }
        let by = try fixture.file("BY"), co = try fixture.file("CO", severity: .medium), ph = try fixture.file("PH")
        #expect(await routed(router, through: ph.offset))
        #expect(try fixture.routes(of: by) == ["by-desk:matched:pending", "by-desk:matched:pending"])
        #expect(try fixture.queue.deliveries(ofAlert: by.alert.id).map(\.channelID) == ["by-desk-hook", "by-desk-hook1"])
        #expect(try fixture.routes(of: co).isEmpty, "below the desk's severity")
        #expect(try fixture.routes(of: ph).isEmpty, "no one follows PH")
        #expect(try fixture.queue.position(of: AlertRouter.consumer) == ph.offset)
        #expect(await waitUntil(within: 5) { heard.withLock { $0.last } == ph.offset }, "listeners hear each batch's last offset")
        #expect(heard.withLock { $0 } == heard.withLock { $0 }.sorted())

        // A burst: each alert once, in fewer writes than alerts when they pile up.
        let burst = try (0..<200).map { _ in try fixture.file("BY") }
        #expect(await routed(router, through: burst.last!.offset))
        #expect(fixture.queue.all.count == 2 + 2 * burst.count)
        #expect(Set(fixture.queue.all.map(\.id)).count == fixture.queue.all.count)
        #expect(router.lag == 0)
        #expect(fixture.metrics.value("vigil_alerts_routed_total") == Double(3 + burst.count))
    }

    /// Offsets with gaps (as Kafka's) are followed all the same.
    @Test func followsALogWhoseOffsetsLeaveGaps() async throws {
        let fixture = try RoutingFixture(log: InMemoryAlertLog(offsetStride: 1 << 20))
        try fixture.desk("by-desk", follows: ["BY"])
        let router = fixture.router(batchSize: 2)
        try router.start()
        defer { router.stop() }
        let alerts = try (0..<5).map { _ in try fixture.file() }
        #expect(await routed(router, through: alerts.last!.offset))
        #expect(try alerts.allSatisfy { try fixture.routes(of: $0) == ["by-desk:matched:pending"] })
    }

    /// A router started again resumes after the position its queue committed: what was
    /// routed before is not routed again, what was appended meanwhile is routed once.
    @Test func resumesFromItsCommittedPosition() async throws {
        let fixture = try RoutingFixture()
        try fixture.desk("by-desk", follows: ["BY"])
        let before = try (0..<3).map { _ in try fixture.file() }
        // As if an earlier run had routed the first two (for nobody) and crashed.
        try fixture.queue.recordRouting([], through: before[1].offset, consumer: AlertRouter.consumer)
        let first = fixture.router()
        try first.start()
        #expect(await routed(first, through: before[2].offset))
        first.stop()
        #expect(try fixture.routes(of: before[0]).isEmpty && fixture.routes(of: before[1]).isEmpty, "not routed again")
        #expect(try fixture.routes(of: before[2]) == ["by-desk:matched:pending"])
        let writes = fixture.queue.routingWrites

        let whileStopped = try fixture.file()
        let second = fixture.router()
        try second.start()
        defer { second.stop() }
        #expect(await routed(second, through: whileStopped.offset))
        #expect(second.routedOffset == whileStopped.offset)
        #expect(try fixture.routes(of: whileStopped) == ["by-desk:matched:pending"])
        #expect(fixture.queue.all.count == 2)
        #expect(fixture.queue.routingWrites == writes + 1, "only what was appended meanwhile")
    }

    /// An update or cancel reaches whoever received the case before, even when their
    /// subscriptions no longer match it, whether the first alert was routed in an earlier
    /// batch or in the same one.
    @Test func updatesAndCancelsReachTheCasesEarlierRecipients() async throws {
        let fixture = try RoutingFixture()
        try fixture.desk("old-desk", follows: ["BY"])
        let router = fixture.router()
        try router.start()
        let first = try fixture.file("BY")
        #expect(await routed(router, through: first.offset))
        try fixture.desk("old-desk", follows: ["CO"])  // it moved on
        try fixture.desk("new-desk", follows: ["BY"])
        let update = try fixture.file("BY", caseID: first.alert.id, kind: .update)
        #expect(await routed(router, through: update.offset))
        #expect(try fixture.routes(of: update) == ["new-desk:matched:pending", "old-desk:follows_case:pending"])
        let unrelated = try fixture.file("BY")
        #expect(await routed(router, through: unrelated.offset))
        #expect(try fixture.routes(of: unrelated) == ["new-desk:matched:pending"], "a new case goes only to who matches")
        router.stop()

        // The first alert and its cancel in one batch: the cancel still finds the recipient.
        let batchFixture = try RoutingFixture()
        try batchFixture.desk("by-desk", follows: ["BY"])
        // Both appended before the router starts, so they are routed in one batch; no one
        // follows GT, so only the batch itself can say who received the case.
        let opened = try batchFixture.file("BY")
        let cancelled = try batchFixture.file("GT", caseID: opened.alert.id, kind: .cancel)
        let batched = batchFixture.router()
        try batched.start()
        defer { batched.stop() }
        #expect(await routed(batched, through: cancelled.offset))
        #expect(batchFixture.queue.routingWrites == 1, "both alerts in one batch")
        #expect(try batchFixture.routes(of: opened) == ["by-desk:matched:pending"])
        #expect(try batchFixture.routes(of: cancelled) == ["by-desk:follows_case:pending"])
    }

    /// A `test` alert is recorded for every match as skipped: never claimed, and its
    /// recipients are no case recipients.
    @Test func testAlertsAreRecordedAsSkipped() async throws {
        let fixture = try RoutingFixture()
        try fixture.desk("by-desk", follows: ["BY"])
        let router = fixture.router()
        try router.start()
        defer { router.stop() }
        let test = try fixture.file("BY", status: .test)
        #expect(await routed(router, through: test.offset))
        #expect(try fixture.routes(of: test) == ["by-desk:matched:skipped"])
        #expect(try fixture.queue.claimDue(ClaimRequest(limit: 10, leaseMilliseconds: 1000), now: .now()).isEmpty)
        #expect(try fixture.queue.recipients(ofAlerts: [test.alert.id]).isEmpty)
    }

    /// With workers attached, fresh deliveries are claimed in the routing write and handed to
    /// them in flight; without free slots nothing is claimed.
    @Test func handsFreshDeliveriesToTheWorkers() async throws {
        let fixture = try RoutingFixture()
        try fixture.desk("by-desk", follows: ["BY"])
        try fixture.desk("all-by", follows: ["BY"], minSeverity: .critical)
        let workers = RecordingHandOff(slots: 1)
        let router = fixture.router()
        router.handOff(to: workers)
        try router.start()
        defer { router.stop() }
        let alert = try fixture.file("BY")
        #expect(await routed(router, through: alert.offset))
        let handed = workers.accepted
        #expect(handed.count == 1 && handed.first?.count == 1 && handed.first?.first?.state == .inFlight)
        #expect(try fixture.queue.countsByState() == [.inFlight: 1, .pending: 1])
    }

    /// A log that cannot be read, or a queue that cannot be written, delays routing; once
    /// they recover, every alert is routed once.
    @Test func aFailingLogOrQueueDelaysRoutingAndLosesNothing() async throws {
        let fixture = try RoutingFixture()
        try fixture.desk("by-desk", follows: ["BY"])
        let router = fixture.router()
        fixture.queue.failWrites(with: AlertLogError.unavailable("disk full"))
        try router.start()
        defer { router.stop() }
        let first = try fixture.file()
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(router.routedOffset == 0 && fixture.queue.all.isEmpty)
        fixture.queue.failWrites(with: nil)
        #expect(await routed(router, through: first.offset))

        fixture.log.failReads(with: .unavailable("broker away"))
        let second = try fixture.file()
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(router.routedOffset == first.offset)
        fixture.log.failReads(with: nil)
        #expect(await routed(router, through: second.offset))
        #expect(try fixture.routes(of: first) == ["by-desk:matched:pending"] && fixture.routes(of: second) == ["by-desk:matched:pending"])
        #expect(fixture.queue.all.count == 2)
    }
}

/// Workers with `slots` free send slots, recording what the router hands them.
final class RecordingHandOff: DeliveryHandOff {
    private let state: Mutex<(slots: Int, accepted: [[DeliveryRecord]])>

    init(slots: Int) { state = Mutex((slots, [])) }

    var accepted: [[DeliveryRecord]] { state.withLock { $0.accepted } }

    func reserveForRouting() -> ClaimRequest? {
        state.withLock { state in
            guard state.slots > 0 else { return nil }
            defer { state.slots = 0 }
            return ClaimRequest(limit: state.slots, leaseMilliseconds: 60_000)
        }
    }

    func accept(_ claimed: [DeliveryRecord], reservedBy reservation: ClaimRequest) {
        state.withLock { $0.accepted.append(claimed) }
    }
}
