import Foundation
import VigilObservability
import Synchronization
import VigilHTTPClient

/// Vigil beside Prometheus Alertmanager in the same run, on the same webhook sink (issue 22):
/// each scenario starts a fresh Alertmanager (`AlertmanagerBaseline`) and a fresh Vigil
/// (`ComparedVigil`) one after the other, `runs` times, interleaved, both delivering to one
/// `WebhookSink` in a process of its own; the table gives each side's median, the spread
/// over the runs, and Vigil's figure as a multiple of Alertmanager's.
///
/// Every time runs from just before the alert's `POST` is sent (Vigil's `202` comes after
/// a durable append, Alertmanager's `200` after an in-memory one, so the answer is not a
/// common starting line) to the sink's receipt, on the machine's monotonic clock.
public struct AlertmanagerComparison: Sendable {
    /// The `prometheus-alertmanager` binary; `nil` measures Vigil alone (`throughput` only).
    public var alertmanager: String?
    /// The command that runs the sink in its own process: the `vigil` binary…
    public var sinkExecutable: String
    /// … and its arguments (`bench sink`).
    public var sinkArguments: [String]
    /// Runs per side; the table reports medians and spreads.
    public var runs = 3
    /// Vigil on Kafka, as `IngestBenchmark.kafka`; `nil` for the embedded log.
    public var kafka: String?

    /// Seconds each side files alerts for in `ingest`.
    public var ingestSeconds = 3.0
    /// Vigil's keep-alive clients for one alert per `POST` in `ingest`.
    public var clients = 32
    /// Alerts per `POST` when batched (Alertmanager always; Vigil's batch endpoint).
    public var batchSize = 100
    /// Keep-alive connections posting batches.
    public var batchConnections = 4

    /// Alerts per second in `latency`.
    public var rate = 50.0
    /// Seconds each side files alerts for in `latency`.
    public var latencySeconds = 10.0

    /// Endpoints one alert goes to in `fanout`.
    public var endpoints = 200
    /// Alerts timed per run in `fanout`, after one that warms connections.
    public var fanoutsPerRun = 3

    /// Alerts sent to one endpoint in `throughput`.
    public var alerts = 20_000

    /// The longest `throughput` waits for one side's webhooks, in seconds.
    static let patience = 600.0

    /// A comparison with the defaults, against `alertmanager` (see `locateAlertmanager`),
    /// with the sink run as `sinkExecutable sinkArguments…`.
    public init(alertmanager: String?, sinkExecutable: String, sinkArguments: [String] = ["bench", "sink"]) {
        self.alertmanager = alertmanager
        self.sinkExecutable = sinkExecutable
        self.sinkArguments = sinkArguments
    }

    /// The `prometheus-alertmanager` binary on `PATH` or where Debian puts it, or `nil`.
    public static func locateAlertmanager() -> String? { AlertmanagerBaseline.locate() }

    /// The line a scenario prints when Alertmanager is not installed.
    public static let skipped =
        "Alertmanager baseline skipped: prometheus-alertmanager is not installed (deploy/setup.sh bench installs it, or apt-get install prometheus-alertmanager)"

    // MARK: - Scenarios

    /// Alerts accepted per second: Alertmanager with `batchSize` per `POST` over
    /// `batchConnections`; Vigil one per `POST` over `clients`, and `batchSize` per
    /// `POST /v1/alerts/batch` over `batchConnections`. Each side delivers to one endpoint
    /// meanwhile, as it would in service.
    public func ingest(progress: (String) -> Void) throws -> [BenchmarkRow] {
        let sink = try startSink()
        defer { sink.stop() }
        let batch = batchSize, connections = batchConnections, clients = clients
        var rates: [String: [Double]] = [:]
        for round in 1...runs {
            progress("alertmanager comparison, run \(round) of \(runs): ingest")
            rates["am", default: []].append(try measure(alertmanager: true, sink: sink, endpoints: 1) { side in
                try ingestRate(side, perPost: batch, connections: connections, tag: "ai\(round)")
            })
            rates["v1", default: []].append(try measure(alertmanager: false, sink: sink, endpoints: 1) { side in
                try ingestRate(side, perPost: 1, connections: clients, tag: "vi\(round)")
            })
            rates["vb", default: []].append(try measure(alertmanager: false, sink: sink, endpoints: 1) { side in
                try ingestRate(side, perPost: batch, connections: connections, tag: "vb\(round)")
            })
        }
        let am = median(rates["am"]!)
        func row(_ name: String, _ key: String) -> BenchmarkRow {
            let values = rates[key]!
            let ratio = key == "am" ? "Alertmanager, the baseline" : String(format: "%.2f× Alertmanager's rate", median(values) / max(am, 1e-9))
            return BenchmarkRow(name: name, rate: median(values), note: "\(ratio); runs \(Self.spread(values, "%.0f"))/s")
        }
        return [
            row("alertmanager: \(batch) per POST, \(connections) connections", "am"),
            row("vigil: 1 per POST, \(clients) clients", "v1"),
            row("vigil: \(batch) per POST (batch), \(connections) connections", "vb"),
        ]
    }

    /// Alert → webhook at `rate` per second on a fresh Alertmanager and a fresh Vigil (after
    /// one alert that warms connections), the `POST`'s round trip within it, and the disk's
    /// fsync p99 (`FsyncProbe`) in the same run.
    public func latency(progress: (String) -> Void) throws -> [BenchmarkRow] {
        let sink = try startSink()
        defer { sink.stop() }
        var fsync: [LatencySample] = [], am: [(LatencySample, LatencySample)] = [], vigil: [(LatencySample, LatencySample)] = []
        for round in 1...runs {
            progress("alertmanager comparison, run \(round) of \(runs): fsync, then alert → webhook at \(Int(rate))/s")
            fsync.append(try FsyncProbe.measure(in: NSTemporaryDirectory()))
            am.append(try measure(alertmanager: true, sink: sink, endpoints: 1) { try steady($0, sink: sink, tag: "al\(round)") })
            vigil.append(try measure(alertmanager: false, sink: sink, endpoints: 1) { try steady($0, sink: sink, tag: "vl\(round)") })
        }
        func p(_ samples: [LatencySample], _ q: Double) -> [Double] { samples.compactMap { $0.percentile(q) } }
        let fsyncP99 = median(p(fsync, 99)), amP99 = median(p(am.map(\.0), 99)), vigilP99 = median(p(vigil.map(\.0), 99))
        func note(_ runs: [(LatencySample, LatencySample)]) -> String {
            String(
                format: "POST round trip p50 %.2f / p99 %.2f ms; p99 runs %@ ms", median(p(runs.map(\.1), 50)), median(p(runs.map(\.1), 99)),
                Self.spread(p(runs.map(\.0), 99), "%.2f"))
        }
        let count = Int(rate * latencySeconds)
        return [
            BenchmarkRow(
                name: "fsync: 4 KiB write + fsync, temp dir's disk", p50: median(p(fsync, 50)), p99: fsyncP99,
                note: "p99 runs \(Self.spread(p(fsync, 99), "%.2f")) ms; \(fsync.first?.count ?? 0) per run"),
            BenchmarkRow(name: "alertmanager: alert → webhook, \(Int(rate))/s, fresh", p50: median(p(am.map(\.0), 50)), p99: amP99, note: note(am)),
            BenchmarkRow(
                name: "vigil: alert → webhook, \(Int(rate))/s, fresh", p50: median(p(vigil.map(\.0), 50)), p99: vigilP99,
                note: String(format: "p99 %.2f× Alertmanager's; target ≤ AM p99 + fsync p99 = %.2f ms; ", vigilP99 / max(amP99, 1e-9), amP99 + fsyncP99)
                    + note(vigil)),
            BenchmarkRow(name: "  (alerts per run and side)", note: "\(count) at \(Int(rate))/s after one that warms up"),
        ]
    }

    /// One alert to `endpoints` endpoints, after one that warms connections: time to the
    /// last receipt, `fanoutsPerRun` alerts per run and side.
    public func fanout(progress: (String) -> Void) throws -> [BenchmarkRow] {
        let sink = try startSink()
        defer { sink.stop() }
        var am: [[Double]] = [], vigil: [[Double]] = []
        for round in 1...runs {
            progress("alertmanager comparison, run \(round) of \(runs): one alert → \(endpoints) endpoints")
            am.append(try measure(alertmanager: true, sink: sink, endpoints: endpoints) { try fanouts($0, sink: sink, tag: "af\(round)") })
            vigil.append(try measure(alertmanager: false, sink: sink, endpoints: endpoints) { try fanouts($0, sink: sink, tag: "vf\(round)") })
        }
        // Each run's median of its alerts; the table's median and spread are over runs, the p99 column is the slowest alert.
        let amRuns = am.map(median), vigilRuns = vigil.map(median)
        let amMedian = median(amRuns)
        return [
            BenchmarkRow(
                name: "alertmanager: one alert → \(endpoints) endpoints, warm", p50: amMedian, p99: am.joined().max() ?? 0,
                note: "alert → last receipt; \(fanoutsPerRun) alerts per run, p99 column: slowest; runs \(Self.spread(amRuns, "%.1f")) ms"),
            BenchmarkRow(
                name: "vigil: one alert → \(endpoints) endpoints, warm", p50: median(vigilRuns), p99: vigil.joined().max() ?? 0,
                note: String(format: "%.2f× Alertmanager's time; ", median(vigilRuns) / max(amMedian, 1e-9)) + "runs \(Self.spread(vigilRuns, "%.1f")) ms"),
        ]
    }

    /// `alerts` alerts to one endpoint, `batchSize` per `POST` over `batchConnections` on
    /// both sides: first `POST` → the last alert's receipt. Vigil alone when Alertmanager is
    /// not installed.
    public func throughput(progress: (String) -> Void) throws -> [BenchmarkRow] {
        let sink = try startSink()
        defer { sink.stop() }
        var am: [Double] = [], vigil: [Double] = []
        for round in 1...runs {
            if alertmanager != nil {
                progress("alertmanager comparison, run \(round) of \(runs): \(alerts) alerts → one endpoint, alertmanager")
                am.append(try measure(alertmanager: true, sink: sink, endpoints: 1) { try drain($0, sink: sink, tag: "at\(round)") })
            }
            progress("run \(round) of \(runs): \(alerts) alerts → one endpoint, vigil")
            vigil.append(try measure(alertmanager: false, sink: sink, endpoints: 1) { try drain($0, sink: sink, tag: "vt\(round)") })
        }
        let how = "first POST → last receipt, \(batchSize) per POST over \(batchConnections) connections"
        var rows: [BenchmarkRow] = []
        if !am.isEmpty {
            rows.append(
                BenchmarkRow(
                    name: "alertmanager: \(alerts) alerts → one endpoint", rate: Double(alerts) / median(am),
                    note: String(format: "%.2f s (runs %@ s); %@", median(am), Self.spread(am, "%.2f"), how)))
        }
        let ratio = am.isEmpty ? "" : String(format: "%.2f× Alertmanager's time; ", median(vigil) / max(median(am), 1e-9))
        rows.append(
            BenchmarkRow(
                name: "vigil: \(alerts) alerts → one endpoint", rate: Double(alerts) / median(vigil),
                note: ratio + String(format: "%.2f s (runs %@ s)", median(vigil), Self.spread(vigil, "%.2f")) + (am.isEmpty ? "; \(how)" : "")))
        return rows
    }

    /// Alertmanager and Vigil under load, one after the other on the same sink: `alerts`
    /// filed and delivered first (as `throughput` files them), then the side's resident memory,
    /// then alert → webhook at `rate` per second on top of what it holds (issue 22's "loaded
    /// p99 and memory", where Vigil must stay at most 0.1× Alertmanager).
    public func loaded(progress: (String) -> Void) throws -> [BenchmarkRow] {
        guard alertmanager != nil else { return [] }
        let sink = try startSink()
        defer { sink.stop() }
        var am: [(megabytes: Double, latency: LatencySample)] = [], vigil: [(megabytes: Double, latency: LatencySample)] = []
        for round in 1...runs {
            for useAlertmanager in [true, false] {
                let name = useAlertmanager ? "alertmanager" : "vigil"
                progress("alertmanager comparison, run \(round) of \(runs): \(alerts) alerts filed, then alert → webhook at \(Int(rate))/s, \(name)")
                // Both sides as processes of their own, so each one's resident memory is its own.
                let measured = try measure(alertmanager: useAlertmanager, sink: sink, endpoints: 1, vigilProcess: true) { side in
                    _ = try drain(side, sink: sink, tag: "\(name.prefix(1))d\(round)")
                    let megabytes = side.residentBytes / 1_048_576
                    return (megabytes, try steady(side, sink: sink, tag: "\(name.prefix(1))s\(round)").0)
                }
                if useAlertmanager { am.append(measured) } else { vigil.append(measured) }
            }
        }
        func p(_ runs: [(megabytes: Double, latency: LatencySample)], _ q: Double) -> [Double] { runs.compactMap { $0.latency.percentile(q) } }
        let amP99 = median(p(am, 99)), vigilP99 = median(p(vigil, 99))
        let amMB = median(am.map(\.megabytes)), vigilMB = median(vigil.map(\.megabytes))
        return [
            BenchmarkRow(
                name: "alertmanager: alert → webhook, \(Int(rate))/s, loaded", p50: median(p(am, 50)), p99: amP99,
                note: "after \(alerts) alerts filed and delivered; p99 runs \(Self.spread(p(am, 99), "%.2f")) ms"),
            BenchmarkRow(
                name: "vigil: alert → webhook, \(Int(rate))/s, loaded", p50: median(p(vigil, 50)), p99: vigilP99,
                note: String(format: "p99 %.3f× Alertmanager's (target ≤ 0.1×); runs %@ ms", vigilP99 / max(amP99, 1e-9), Self.spread(p(vigil, 99), "%.2f"))),
            BenchmarkRow(
                name: "alertmanager: resident memory, loaded",
                note: String(format: "%.0f MB (runs %@ MB) after %d alerts", amMB, Self.spread(am.map(\.megabytes), "%.0f"), alerts)),
            BenchmarkRow(
                name: "vigil: resident memory, loaded",
                note: String(format: "%.0f MB (runs %@ MB), %.3f× Alertmanager's (target ≤ 0.1×); vigil serve in a process of its own",
                    vigilMB, Self.spread(vigil.map(\.megabytes), "%.0f"), vigilMB / max(amMB, 1e-9))),
        ]
    }

    // MARK: - Measurements

    private func startSink() throws -> WebhookSink { try WebhookSink(executable: sinkExecutable, arguments: sinkArguments) }

    /// Starts a side delivering to `endpoints` endpoints on `sink`, runs `body` on it, stops it
    /// and forgets the sink's receipts.
    /// Vigil runs in this process unless `vigilProcess`: then `vigil serve`, this binary.
    private func measure<T>(
        alertmanager useAlertmanager: Bool, sink: WebhookSink, endpoints: Int, vigilProcess: Bool = false, _ body: (any ComparedSide) throws -> T
    ) throws -> T {
        let prefix = useAlertmanager ? "am" : "v"
        let webhooks = (0..<endpoints).map { sink.url("\(prefix)\($0)") }
        let side: any ComparedSide
        if useAlertmanager {
            guard let alertmanager else { throw ComparisonFailure.alertmanagerDidNotStart("prometheus-alertmanager is not installed") }
            side = try AlertmanagerBaseline(executable: alertmanager, webhooks: webhooks)
        } else if vigilProcess {
            side = try ComparedVigilProcess(executable: sinkExecutable, webhooks: webhooks)
        } else {
            side = try ComparedVigil(webhooks: webhooks, kafka: kafka)
        }
        defer {
            side.stop()
            sink.reset()
        }
        return try body(side)
    }

    /// `connections` threads, each on its own keep-alive connection, filing `perPost`
    /// alerts per request back to back for `ingestSeconds`; alerts accepted per second.
    private func ingestRate(_ side: any ComparedSide, perPost: Int, connections: Int, tag: String) throws -> Double {
        let next = Mutex(0), counter = Counter(), firstError = Mutex<String?>(nil)
        let deadline = BenchClock.now() + UInt64(ingestSeconds * 1e9)
        let port = side.port
        let started = BenchClock.now()
        onThreads(connections) { _ in
            do {
                let client = try BlockingHTTPClient(port: port, timeout: 30)
                while BenchClock.now() < deadline {
                    let first = next.withLock { n in
                        defer { n += perPost }
                        return n
                    }
                    counter.add(try side.file((first..<(first + perPost)).map { "\(WebhookSinkServer.keyPrefix)\(tag)-\($0)" }, on: client), latency: nil)
                }
            } catch {
                firstError.withLock { $0 = $0 ?? "\(error)" }
            }
        }
        let elapsed = BenchClock.seconds(since: started)
        if let failure = firstError.withLock({ $0 }) { throw ComparisonFailure.filingFailed(side: side.name, detail: failure) }
        return Double(counter.count) / elapsed
    }

    /// One alert, waited for; then `rate × latencySeconds` alerts at a steady `rate`, one per
    /// request; once every webhook has arrived (at most 30 s), each alert's time from its
    /// `POST` to its first receipt, and each `POST`'s round trip.
    private func steady(_ side: any ComparedSide, sink: WebhookSink, tag: String) throws -> (LatencySample, LatencySample) {
        let client = try BlockingHTTPClient(port: side.port, timeout: 30)
        let warm = "\(WebhookSinkServer.keyPrefix)\(tag)-warm"
        _ = try side.file([warm], on: client)
        try waitForReceipts(side, sink: sink, keys: [warm], seconds: 60)
        var sent: [(key: String, at: UInt64)] = [], roundTrips: [UInt64] = []
        let interval = UInt64(1e9 / rate), count = Int(rate * latencySeconds)
        let start = BenchClock.now()
        for n in 0..<count {
            BenchClock.sleep(until: start + UInt64(n) * interval)
            let key = "\(WebhookSinkServer.keyPrefix)\(tag)-\(n)"
            let t0 = BenchClock.now()
            _ = try side.file([key], on: client)
            roundTrips.append(BenchClock.now() - t0)
            sent.append((key, t0))
        }
        try waitForReceipts(side, sink: sink, keys: sent.map(\.key), seconds: 30)
        let latencies = sent.map { key, at in sink.times(of: key).min().map { $0 > at ? $0 - at : 0 } ?? 0 }
        return (
            LatencySample(count: count, seconds: latencySeconds, latencies: latencies),
            LatencySample(count: count, seconds: latencySeconds, latencies: roundTrips)
        )
    }

    /// One alert to warm connections, then `fanoutsPerRun` alerts one after another, each
    /// timed from its `POST` to its `endpoints`-th receipt, in milliseconds.
    private func fanouts(_ side: any ComparedSide, sink: WebhookSink, tag: String) throws -> [Double] {
        let client = try BlockingHTTPClient(port: side.port, timeout: 30)
        let warm = "\(WebhookSinkServer.keyPrefix)\(tag)-warm"
        _ = try side.file([warm], on: client)
        try waitForReceipts(side, sink: sink, keys: [warm], copies: endpoints, seconds: 60)
        var times: [Double] = []
        for n in 0..<max(1, fanoutsPerRun) {
            let key = "\(WebhookSinkServer.keyPrefix)\(tag)-\(n)"
            let t0 = BenchClock.now()
            _ = try side.file([key], on: client)
            try waitForReceipts(side, sink: sink, keys: [key], copies: endpoints, seconds: 60)
            let last = sink.times(of: key).max() ?? t0
            times.append(Double(last > t0 ? last - t0 : 0) / 1e6)
        }
        return times
    }

    /// `alerts` alerts filed in batches over `batchConnections`; seconds from the first
    /// `POST` to the last alert's first receipt.
    private func drain(_ side: any ComparedSide, sink: WebhookSink, tag: String) throws -> Double {
        let keys = (0..<alerts).map { "\(WebhookSinkServer.keyPrefix)\(tag)-\($0)" }
        let batch = batchSize, port = side.port
        let next = Mutex(0), firstError = Mutex<String?>(nil)
        let start = BenchClock.now()
        onThreads(batchConnections) { _ in
            do {
                let client = try BlockingHTTPClient(port: port, timeout: 30)
                while true {
                    let first = next.withLock { n in
                        defer { n += batch }
                        return n
                    }
                    guard first < keys.count else { return }
                    _ = try side.file(Array(keys[first..<min(keys.count, first + batch)]), on: client)
                }
            } catch {
                firstError.withLock { $0 = $0 ?? "\(error)" }
            }
        }
        if let failure = firstError.withLock({ $0 }) { throw ComparisonFailure.filingFailed(side: side.name, detail: failure) }
        try waitForReceipts(side, sink: sink, keys: keys, seconds: Self.patience, every: 0.05)
        let latest = sink.firstReceipts(of: keys).latest
        return Double(latest > start ? latest - start : 0) / 1e9
    }

    /// Waits until each of `keys` has reached the sink `copies` times.
    private func waitForReceipts(
        _ side: any ComparedSide, sink: WebhookSink, keys: [String], copies: Int = 1, seconds: Double, every interval: Double = 0.001
    ) throws {
        // Many keys: the sink's count of distinct keys first (cheap to poll while the side works), then each key.
        let done = {
            if copies > 1 { return keys.allSatisfy { sink.times(of: $0).count >= copies } }
            return (keys.count < 100 || sink.distinctKeys >= keys.count) && sink.firstReceipts(of: keys).count == keys.count
        }
        do {
            try BenchClock.wait(upTo: seconds, every: interval, failure: "", until: done)
        } catch {
            let received = copies == 1 ? sink.firstReceipts(of: keys).count : keys.map { min(copies, sink.times(of: $0).count) }.reduce(0, +)
            throw ComparisonFailure.webhooksMissing(side: side.name, received: received, expected: keys.count * copies, seconds: Int(seconds))
        }
    }

    /// `min–max` of `values`, each with `format`.
    static func spread(_ values: [Double], _ format: String) -> String {
        guard let low = values.min(), let high = values.max() else { return "–" }
        return String(format: format, low) + "–" + String(format: format, high)
    }
}
