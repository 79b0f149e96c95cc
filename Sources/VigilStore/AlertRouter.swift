import Dispatch
import Foundation
import Synchronization
import VigilCore
import VigilObservability

/// The router of DESIGN §1: a consumer on a serial dispatch queue that reads the alert log
/// from its committed position, routes each alert through the subscription index, and
/// records the deliveries together with its new position in one transaction.
///
/// It wakes when the log reports an append (coalesced by a dispatch source, so a burst of
/// appends costs one wake-up), never by polling, and after a crash resumes from the
/// position it last committed: no alert is lost, none is routed twice.
public final class AlertRouter: AlertRouting, @unchecked Sendable {
    // @unchecked: `stopped` is `dispatchQueue`'s; the rest is `let`s and `state` (a `Mutex`).
    /// The consumer name under which the position is kept.
    public static let consumer = "router"
    /// Alerts routed per transaction.
    let batchSize: Int

    private let log: any AlertLog
    private let ledger: any RoutingLedger
    private let routing: BatchRouting
    private let logger: Logger
    private let dispatchQueue = DispatchQueue(label: "vigil.router", qos: .userInitiated)
    private let wake: DispatchSourceUserDataOr
    private var stopped = false
    private let state = Mutex(State())

    /// What `start`, `stop`, `onRouted`, `handOff` and the readers of `routedOffset` share
    /// with the routing queue; each holds the lock for a few assignments, never across I/O.
    private struct State {
        /// The last offset whose deliveries are committed: set by `start`, then by the
        /// routing queue after each committed batch, so readers never wait for a batch.
        var routed: LogOffset = 0
        var observation: AppendObservation?
        var routedListeners: [@Sendable (LogOffset) -> Void] = []
        /// The workers that take deliveries claimed in the routing transaction, if any.
        var handOff: (any DeliveryHandOff)?
    }

    /// A router over `log` into `ledger`, matching with `subscribers`' index; case reminders
    /// come `eventReminderSeconds` before a case's next event.
    public init(
        log: any AlertLog, ledger: any RoutingLedger, subscribers: SubscriberRegistry, metrics: Metrics, logger: Logger, batchSize: Int = 256,
        eventReminderSeconds: Int64 = BatchRouting.defaultEventReminderSeconds
    ) {
        self.log = log
        self.ledger = ledger
        self.routing = BatchRouting(
            log: log, recipients: ledger, subscribers: subscribers, metrics: metrics, eventReminderSeconds: eventReminderSeconds)
        self.logger = logger
        self.batchSize = batchSize
        wake = DispatchSource.makeUserDataOrSource(queue: dispatchQueue)
    }

    /// Calls `listener` with the newest routed offset after every batch (workers, tests).
    public func onRouted(_ listener: @escaping @Sendable (LogOffset) -> Void) {
        state.withLock { $0.routedListeners.append(listener) }
    }

    /// Claims fresh deliveries for `workers` in the same transaction that records them, so
    /// their sends start before that transaction's commit (its fsync) instead of after it
    /// and a claim of their own. Call before `start`.
    public func handOff(to workers: any DeliveryHandOff) {
        state.withLock { $0.handOff = workers }
    }

    /// The last offset whose deliveries are durably recorded. Read under `state`'s lock, never
    /// on the routing queue: a `/metrics` scrape or a readiness check does not wait for a
    /// batch in progress (it sees the position before that batch until it commits).
    public var routedOffset: LogOffset { state.withLock { $0.routed } }

    /// Alerts appended but not yet routed (`nil` when the log cannot be read); like
    /// `routedOffset`, it never waits for the routing queue.
    public var lag: Int64? {
        guard let last = try? log.lastOffset() else { return nil }
        return max(0, last - routedOffset)
    }

    /// Resumes from the committed position and starts following the log.
    public func start() throws {
        let position = try ledger.position(of: Self.consumer)
        state.withLock { $0.routed = position }
        wake.setEventHandler { [weak self] in self?.drain() }
        let observation = log.observeAppends { [weak self] _ in self?.poke() }
        state.withLock { $0.observation = observation }
        wake.resume()
        wake.or(data: 1)  // catch up on whatever was appended while stopped
        logger.info("router started", ["position": String(position)])
    }

    /// Asks for a drain; many pokes before the router gets to it coalesce into one.
    private func poke() { wake.or(data: 1) }

    /// Stops after the batch in progress; its position is committed.
    public func stop() {
        state.withLock { $0.observation }?.cancel()
        dispatchQueue.sync { stopped = true }
        wake.cancel()
    }

    /// Routes `batch` and records its deliveries with this router's position at `offset`, in
    /// one transaction; with workers to hand off to, fresh deliveries are claimed for them in
    /// the same transaction and handed over before its commit.
    private func record(_ batch: [StoredAlert], through offset: LogOffset, handOff: (any DeliveryHandOff)?) throws {
        let deliveries = try routing.deliveries(for: batch)
        if let handOff, let reservation = handOff.reserveForRouting() {
            try ledger.recordRouting(deliveries, through: offset, consumer: Self.consumer, claim: reservation) { claimed in
                handOff.accept(claimed, reservedBy: reservation)
            }
        } else {
            try ledger.recordRouting(deliveries, through: offset, consumer: Self.consumer)
        }
        routing.counted(batch, deliveries: deliveries.count)
    }

    private func drain() {
        while !stopped {
            // Only this queue moves `routed` after `start`, so it is this batch's start.
            let position = state.withLock { $0.routed }
            let batch: [StoredAlert]
            do {
                // Routing reads only the routing columns: decoding whole alerts and opening
                // their sealed identities took a seventh of the CPU at full ingest.
                batch = try log.routingViews(matching: AlertQuery(fromOffset: position + 1, limit: batchSize))
            } catch {
                logger.error("router cannot read the log; retrying in 1 s", ["error": String(describing: error)])
                dispatchQueue.asyncAfter(deadline: .now() + 1) { [weak self] in self?.wake.or(data: 1) }
                return
            }
            guard let last = batch.last else { return }
            do {
                try record(batch, through: last.offset, handOff: state.withLock { $0.handOff })
            } catch {
                logger.error("router cannot record deliveries; retrying in 1 s", ["error": String(describing: error), "position": String(position)])
                dispatchQueue.asyncAfter(deadline: .now() + 1) { [weak self] in self?.wake.or(data: 1) }
                return
            }
            // Published only now that the batch is committed: `routedOffset` keeps its meaning.
            let listeners = state.withLock { state in
                state.routed = last.offset
                return state.routedListeners
            }
            for listener in listeners { listener(last.offset) }
        }
    }
}
