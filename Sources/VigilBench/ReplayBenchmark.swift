import Foundation
import VigilAPI
import VigilCore
import VigilKafka
import VigilObservability
import VigilServer
import VigilStore

/// `vigil bench replay`: alerts re-routed from the log with 10,000 subscribers.
///
/// - baseline: reading the whole log in the replay's batches as routing views (what a
///   replay reads), nothing routed;
/// - dry run: `ReplayRunner.plan` over the whole log (read, route, list);
/// - queued: a real replay of the first `queuedAlerts` to every matching subscriber, its
///   deliveries written to the queue (the sends are `bench deliver`'s business), unpaced.
public struct ReplayBenchmark: Sendable {
    /// Subscribers the replay routes to.
    public var subscribers = 10_000
    /// Alerts in the log.
    public var alerts = 100_000
    /// Measured runs; the table reports medians.
    public var runs = 3
    /// Alerts the queued replay covers: ~78 delivery rows each, so the whole of a large log
    /// would take minutes per run.
    public var queuedAlerts = 20_000
    /// On the Kafka backend: `""` for a mock cluster, or a `bootstrap.servers` list; `nil`
    /// measures the embedded backend.
    public var kafka: String?

    /// A benchmark with the defaults.
    public init() {}

    /// Fills the log once, then reads, plans and queues a replay `runs` times; returns the rows.
    public func run(progress: (String) -> Void) throws -> [BenchmarkRow] {
        let scratch = try ScratchStore()
        defer { scratch.remove() }
        let registry = scratch.subscribers
        let log: any AlertLog, queue: any DeliveryQueue, cluster: BenchCluster?, close: () -> Void
        if let kafka {
            // The log and the queue on Kafka; the replay's own bookkeeping stays local.
            let made = try BenchCluster(address: kafka), key = MasterKey.generate()
            let signer = KafkaRecordSigner(masterKey: key)
            let kafkaLog = try KafkaAlertLog(
                bootstrapServers: made.bootstrapServers, signer: signer, cipher: key.identityCipher, macKey: key.derivedKey("bench"))
            let kafkaQueue = try KafkaDeliveryQueue(bootstrapServers: made.bootstrapServers, signer: signer)
            (log, queue, cluster) = (kafkaLog, kafkaQueue, made)
            close = {
                kafkaQueue.close()
                kafkaLog.close()
            }
        } else {
            (log, queue, cluster, close) = (scratch.log, scratch.queue, nil, {})
        }
        defer {
            close()
            cluster?.release()
        }
        try registry.saveAll(RouteBenchmark.makeSubscribers(subscribers))
        progress("appending \(alerts) alerts")
        // At most 2,000 in flight: within librdkafka's local queue.
        let appended = BenchClock.inFlight(alerts, limit: 2000, timeout: BenchClock.patience) { n, ended in
            var generator = SystemRandomNumberGenerator()
            log.append(RouteBenchmark.makeAlert(n, generator: &generator), idempotency: nil) { _ in ended() }
        }
        guard appended else { throw BenchmarkFailure(description: "the log did not take \(alerts) alerts within \(Int(BenchClock.patience)) s") }
        let store = ReplayStore(database: scratch.database)
        let runner = ReplayRunner(
            log: log, queue: queue, subscribers: registry, store: store, ratePerSecond: 1e9, metrics: Metrics(),
            logger: Logger(label: "bench", enabled: false), onQueued: {})
        let everything = ReplayRequest(selection: { var s = ReplaySelection(); s.fromOffset = 1; return s }(), dryRun: true)
        var reads: [Double] = [], dryRuns: [Double] = [], queued: [Double] = [], deliveriesPerSecond: [Double] = []
        for run in 1...runs {
            progress("run \(run) of \(runs)")
            var t = BenchClock.now()
            var cursor: LogOffset = 0, read = 0
            while true {
                let batch = try log.routingViews(matching: everything.selection.query(after: cursor, limit: ReplayRunner.batchSize))
                guard let last = batch.last else { break }
                read += batch.count
                cursor = last.offset
            }
            reads.append(Double(read) / BenchClock.seconds(since: t))
            t = BenchClock.now()
            let plan = try runner.plan(everything)
            dryRuns.append(Double(plan.scanned) / BenchClock.seconds(since: t))
            t = BenchClock.now()
            var firstPart = everything.selection
            // The first alerts in log order: on Kafka, offsets run partition by partition.
            firstPart.toOffset = try log.routingViews(matching: AlertQuery(fromOffset: 1, limit: min(queuedAlerts, alerts))).last?.offset
            let started = try runner.start(ReplayRequest(selection: firstPart), id: "rpl_bench_\(run)")
            try BenchClock.wait(upTo: BenchClock.patience, every: 0.002, failure: "replay \(started.id) still ran after \(Int(BenchClock.patience)) s") {
                try store.replay(id: started.id)?.state != .running
            }
            let elapsed = BenchClock.seconds(since: t)
            let finished = try store.replay(id: started.id)
            queued.append(Double(finished?.scanned ?? 0) / elapsed)
            deliveriesPerSecond.append(Double(finished?.deliveries ?? 0) / elapsed)
        }
        let baseline = median(reads)
        return [
            BenchmarkRow(name: "baseline: read routing views in replay batches", rate: baseline, note: "\(alerts) alerts"),
            BenchmarkRow(name: "replay dry run (route, list)", rate: median(dryRuns), note: String(format: "%.2f× the read", median(dryRuns) / baseline)),
            BenchmarkRow(
                name: "replay queued to every matching subscriber", rate: median(queued),
                note: String(format: "first %d alerts; %.0f deliveries/s", min(queuedAlerts, alerts), median(deliveriesPerSecond))),
        ]
    }
}
