import Foundation
import Synchronization
import Testing
import VigilCore
import VigilObservability
import VigilTestSupport
@testable import VigilStore

/// A `/metrics` scrape, a readiness check or anything else reading the router's position
/// answers at once while a routing batch is in progress, and sees only committed batches.
@Suite(.timeLimit(.minutes(1))) struct AlertRouterScrapeTests {
    @Test func routedOffsetLagAndTheScrapeDoNotWaitForABatchInProgress() throws {
        let fixture = try RoutingFixture()
        try fixture.desk("by-desk", follows: ["BY"])
        // Held until released, for 30 s at most, so on a router whose readers wait for the
        // batch the reads below return only once the hold has lapsed, and the test fails
        // instead of hanging.
        let gated = HeldRoutingQueue(wrapping: fixture.queue, holdingAtMost: 30)
        let router = AlertRouter(log: fixture.log, ledger: gated, subscribers: fixture.subscribers, metrics: fixture.metrics, logger: fixture.logger)
        fixture.metrics.gauge("vigil_router_lag") { router.lag.map(Double.init) ?? .nan }
        try router.start()
        defer {
            gated.release()
            router.stop()
        }
        let alert = try fixture.file("BY")
        // Polled on this thread, not the cooperative pool, which the rest of a parallel run can
        // keep busy for longer than any hold.
        #expect(polled(within: 30) { gated.holding }, "the router's batch is held in its routing write")

        let offset = router.routedOffset
        let lag = router.lag
        let scrape = fixture.metrics.render()
        #expect(gated.holding, "the reads returned while the batch was still held, without waiting for it")
        #expect(offset == 0, "the batch in progress is not committed, so it is not routed yet")
        #expect(lag == 1)
        #expect(scrape.contains("vigil_router_lag 1\n"))

        gated.release()
        #expect(polled(within: 30) { router.routedOffset == alert.offset }, "published once the batch commits")
        #expect(router.lag == 0)
        #expect(try fixture.routes(of: alert) == ["by-desk:matched:pending"])
    }
}

/// Whether `condition` held within `seconds`, checked every 5 ms (bounded in count and time).
private func polled(within seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    for _ in 0..<Int(seconds / 0.005) {
        if condition() { return true }
        if Date() >= deadline { break }
        Thread.sleep(forTimeInterval: 0.005)
    }
    return condition()
}

/// A delivery queue whose routing writes wait until `release()` (or `holdingAtMost` seconds),
/// the rest passing through to `base`: a router busy in a slow commit.
final class HeldRoutingQueue: RoutingLedger {
    private let base: InMemoryDeliveryQueue
    private let holdingAtMost: Double
    private let gate = Mutex((released: false, holding: false))

    init(wrapping base: InMemoryDeliveryQueue, holdingAtMost: Double) {
        self.base = base
        self.holdingAtMost = holdingAtMost
    }

    /// Whether a routing write is waiting now.
    var holding: Bool { gate.withLock { $0.holding } }

    /// Lets every routing write, now and later, through.
    func release() { gate.withLock { $0.released = true } }

    func recordRouting(_ deliveries: [RoutedDelivery], through offset: LogOffset, consumer: String) throws {
        let deadline = Date().addingTimeInterval(holdingAtMost)
        gate.withLock { $0.holding = true }
        while !gate.withLock({ $0.released }) && Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        gate.withLock { $0.holding = false }
        try base.recordRouting(deliveries, through: offset, consumer: consumer)
    }

    func position(of consumer: String) throws -> LogOffset { try base.position(of: consumer) }
    func recipients(ofAlerts ids: [String]) throws -> Set<String> { try base.recipients(ofAlerts: ids) }
    func recordRouting(
        _ deliveries: [RoutedDelivery], through offset: LogOffset, consumer: String, claim: ClaimRequest,
        handOff: @escaping @Sendable ([DeliveryRecord]) -> Void
    ) throws {
        try recordRouting(deliveries, through: offset, consumer: consumer)
        handOff([])
    }
}
