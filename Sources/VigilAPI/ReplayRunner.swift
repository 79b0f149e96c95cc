import Dispatch
import Foundation
import VigilCore
import VigilDelivery
import VigilObservability
import VigilStore

/// Runs replays (DESIGN §8): reads the selected alerts from the log in batches, routes each
/// to today's matching subscribers (narrowed to the target), and queues the deliveries
/// again under their stable ids, marked with the replay's id.
///
/// A replay is paced to `ratePerSecond` alerts and its deliveries queue below every live
/// one, so a large replay cannot starve live alerts. Progress is saved after each batch;
/// replays left running by a restart resume from their cursor.
public final class ReplayRunner: Sendable {
    /// Alerts read per batch.
    public static let batchSize = 500
    /// Deliveries a dry run lists (it counts them all).
    public static let listedLimit = 10_000

    private let log: any AlertLog
    private let queue: any ReplayQueue
    private let subscribers: SubscriberRegistry
    private let store: ReplayStore
    private let ratePerSecond: Double
    private let metrics: Metrics
    private let logger: Logger
    private let onQueued: @Sendable () -> Void
    private let dispatchQueue = DispatchQueue(label: "vigil.replays")

    /// A runner over the log and queue; `onQueued` is called after each batch is queued
    /// (the service pokes the workers).
    public init(
        log: any AlertLog, queue: any ReplayQueue, subscribers: SubscriberRegistry, store: ReplayStore, ratePerSecond: Double,
        metrics: Metrics, logger: Logger, onQueued: @escaping @Sendable () -> Void
    ) {
        self.log = log
        self.queue = queue
        self.subscribers = subscribers
        self.store = store
        self.ratePerSecond = ratePerSecond
        self.metrics = metrics
        self.logger = logger
        self.onQueued = onQueued
    }

    /// What a dry run found: every delivery it would queue (listed up to `listedLimit`).
    public struct Plan: Sendable {
        /// Alerts that would be resent.
        public var alerts = 0
        /// Alerts looked at.
        public var scanned = 0
        /// Deliveries that would be queued, in log order.
        public var deliveries: [RoutedDelivery] = []
        /// How many deliveries in all.
        public var deliveryCount = 0
    }

    /// Everything `request` would send, without sending.
    public func plan(_ request: ReplayRequest) throws -> Plan {
        var plan = Plan()
        let selection = try pinned(request.selection)
        var cursor: LogOffset = 0
        let index = try subscribers.index()
        while let (batch, last) = try nextBatch(selection, after: cursor) {
            plan.scanned += batch.count
            for stored in batch {
                let recipients = try caseRecipients(of: stored)
                // List until the listing is full, then only count.
                let count: Int
                let sendingTest = Router.replaySendsTest(stored, selection: selection, target: request.target)
                if plan.deliveries.count < Self.listedLimit {
                    let routed = Router.replay(stored, index: index, caseRecipients: recipients, target: request.target, sendingTest: sendingTest)
                    plan.deliveries += routed.prefix(Self.listedLimit - plan.deliveries.count)
                    count = routed.count
                } else {
                    count = Router.replayCount(stored, index: index, caseRecipients: recipients, target: request.target, sendingTest: sendingTest)
                }
                if count > 0 { plan.alerts += 1 }
                plan.deliveryCount += count
            }
            cursor = last
        }
        return plan
    }

    /// Starts `request` as replay `id`; returns its first progress record.
    public func start(_ request: ReplayRequest, id: String) throws -> ReplayProgress {
        let selection = try pinned(request.selection)
        let now = Timestamp.now()
        let progress = ReplayProgress(id: id, state: .running, selection: selection, target: request.target, createdAt: now, updatedAt: now)
        try store.save(progress)
        metrics.adjust("vigil_replays_running", by: 1)
        dispatchQueue.async { self.step(progress) }
        logger.info("replay started", ["replay": id])
        return progress
    }

    /// Resumes the replays a restart interrupted.
    public func resume() throws {
        for progress in try store.running() {
            metrics.adjust("vigil_replays_running", by: 1)
            logger.info("replay resumed", ["replay": progress.id, "cursor": String(progress.cursor)])
            dispatchQueue.async { self.step(progress) }
        }
    }

    /// One batch of a running replay, then the next one after the pause its rate asks for.
    private func step(_ current: ReplayProgress) {
        var progress = current
        do {
            guard let (batch, last) = try nextBatch(progress.selection, after: progress.cursor) else {
                progress.state = .done
                progress.updatedAt = .now()
                try store.save(progress)
                metrics.adjust("vigil_replays_running", by: -1)
                logger.info("replay done", ["replay": progress.id, "alerts": String(progress.alerts), "deliveries": String(progress.deliveries)])
                return
            }
            let (alerts, deliveries) = try route(batch, selection: progress.selection, target: progress.target)
            progress.alerts += alerts
            let queued = try queue.recordReplay(deliveries, replayID: progress.id)
            progress.deliveries += queued
            progress.scanned += batch.count
            progress.cursor = last
            progress.updatedAt = .now()
            try store.save(progress)
            metrics.increment("vigil_replay_alerts_total", by: Double(batch.count))
            metrics.increment("vigil_replay_deliveries_total", by: Double(queued))
            if queued > 0 { onQueued() }
            let pause = Double(batch.count) / max(ratePerSecond, 1)
            let next = progress
            dispatchQueue.asyncAfter(deadline: .now() + pause) { self.step(next) }
        } catch {
            progress.state = .failed
            progress.error = String(describing: error)
            progress.updatedAt = .now()
            try? store.save(progress)
            metrics.adjust("vigil_replays_running", by: -1)
            logger.error("replay failed", ["replay": progress.id, "error": String(describing: error)])
        }
    }

    /// The next selected alerts after `cursor` and the last offset read, or `nil` when the
    /// selection is exhausted. Batches of alerts named by id come in one go.
    private func nextBatch(_ selection: ReplaySelection, after cursor: LogOffset) throws -> ([StoredAlert], LogOffset)? {
        if !selection.alertIDs.isEmpty {
            guard cursor == 0 else { return nil }
            let found = try selection.alertIDs.compactMap { try log.alert(id: $0) }.filter(selection.matches).sorted { $0.offset < $1.offset }
            return (found, max(1, selection.toOffset ?? 1))
        }
        if let to = selection.toOffset, cursor >= to { return nil }
        let read = try log.routingViews(matching: selection.query(after: cursor, limit: Self.batchSize))
        guard let last = read.last else { return nil }
        return (read.filter(selection.matches), last.offset)
    }

    /// Earlier recipients of the alert's case, which updates and cancels also reach.
    private func caseRecipients(of stored: StoredAlert) throws -> Set<String> {
        try queue.caseRecipients(of: stored.alert, in: log)
    }

    /// `selection` bounded by the log's end now, so alerts filed during the replay are not
    /// swept into it.
    private func pinned(_ selection: ReplaySelection) throws -> ReplaySelection {
        var pinned = selection
        pinned.toOffset = min(selection.toOffset ?? .max, try log.lastOffset())
        return pinned
    }

    /// The deliveries `batch` makes for `target` with today's subscribers, and how many of
    /// its alerts reach anyone. A test alert is sent only to one subscriber that names it by id.
    private func route(_ batch: [StoredAlert], selection: ReplaySelection, target: ReplayTarget) throws -> (alerts: Int, deliveries: [RoutedDelivery]) {
        let index = try subscribers.index()
        var alerts = 0
        var deliveries: [RoutedDelivery] = []
        for stored in batch {
            let sendingTest = Router.replaySendsTest(stored, selection: selection, target: target)
            let routed = Router.replay(stored, index: index, caseRecipients: try caseRecipients(of: stored), target: target, sendingTest: sendingTest)
            if !routed.isEmpty { alerts += 1 }
            deliveries += routed
        }
        return (alerts, deliveries)
    }
}
