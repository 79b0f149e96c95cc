import Foundation
import Synchronization
import VigilAPI
import VigilCore
import VigilDelivery
import VigilHTTP
import VigilHTTPClient
import VigilObservability
import VigilServer
import VigilStore

/// `vigil bench deliver`: the whole pipeline — HTTP ingest, durable append, router, workers,
/// signed webhook — against a webhook sink on loopback (Vigil's own HTTP server).
///
/// - latency: alerts filed at a steady rate (default 200/s) for one subscriber; time from the
///   `202` to the sink receiving the webhook (p50/p99);
/// - fan-out: one alert to N webhook endpoints (200 and 1,000 by default); time from the
///   `202` to the last endpoint receiving it, and the process's CPU time per delivery
///   (service and sink together), which a shared machine moves less than the wall clock;
///   baseline: the same POSTs sent straight through `CurlTransport` to the same sink.
public struct DeliveryBenchmark: Sendable {
    /// Alerts per second in the latency measurement.
    public var rate = 200.0
    /// Seconds the latency measurement files alerts for.
    public var seconds = 5.0
    /// The endpoint counts one alert fans out to.
    public var fanouts = [200, 1000]
    /// Measured runs; the table reports medians.
    public var runs = 3
    /// Alerts fanned out per run, each timed, after one that warms connections and caches.
    public var fanoutsPerRun = 3
    /// Whether to measure the steady-rate latency (`bench fanout` measures fan-out alone).
    public var measuresLatency = true
    /// On the Kafka backend: `""` for a fresh mock cluster per run, or a `bootstrap.servers`
    /// list; `nil` measures the embedded backend.
    public var kafka: String?

    /// A benchmark with the defaults.
    public init() {}

    static let token = "bench-token-0123456789abcdef"

    /// Runs the latency (unless `measuresLatency` is off) and every fan-out `runs` times; returns the rows.
    public func run(progress: (String) -> Void = { _ in }) throws -> [BenchmarkRow] {
        var p50s: [Double] = [], p99s: [Double] = [], fanouts: [Int: [FanoutSample]] = [:], baselines: [Int: [FanoutSample]] = [:]
        for round in 1...runs {
            if measuresLatency {
                progress("run \(round) of \(runs): latency at \(Int(rate))/s")
                let sample = try latency()
                progress(String(format: "latency p50 %.2f p90 %.2f p95 %.2f p99 %.2f max %.2f ms", sample.percentile(50) ?? 0, sample.percentile(90) ?? 0, sample.percentile(95) ?? 0, sample.percentile(99) ?? 0, sample.percentile(100) ?? 0))
                p50s.append(sample.percentile(50) ?? 0)
                p99s.append(sample.percentile(99) ?? 0)
            }
            for n in self.fanouts {
                progress("run \(round) of \(runs): fan-out to \(n)")
                let measured = try fanout(n)
                fanouts[n, default: []] += measured.fanouts
                baselines[n, default: []] += measured.baselines
            }
        }
        var rows = measuresLatency
            ? [BenchmarkRow(name: "202 → webhook received at \(Int(rate))/s", p50: median(p50s), p99: median(p99s), note: "\(Int(rate * seconds)) alerts per run")]
            : []
        for n in self.fanouts {
            let times = fanouts[n]!.map(\.milliseconds), cpu = fanouts[n]!.map(\.cpuMicrosecondsPerDelivery)
            let baseTimes = baselines[n]!.map(\.milliseconds), baseCPU = baselines[n]!.map(\.cpuMicrosecondsPerDelivery)
            rows += [
                BenchmarkRow(
                    name: "one alert → \(n) endpoints, 202 → last", p50: median(times), p99: times.max() ?? 0,
                    note: String(format: "median of %d; p99 column: slowest; %.2f× the POSTs alone", times.count, median(times) / median(baseTimes))),
                BenchmarkRow(
                    name: "  CPU per delivery, service and sink (µs)", p50: median(cpu), p99: cpu.max() ?? 0,
                    note: String(format: "p99 column: highest; %.2f× the POSTs alone", median(cpu) / median(baseCPU))),
                BenchmarkRow(name: "  baseline: \(n) POSTs through libcurl alone", p50: median(baseTimes), p99: baseTimes.max() ?? 0, note: "same sink, bodies and concurrency"),
                BenchmarkRow(name: "  baseline CPU per POST, client and sink (µs)", p50: median(baseCPU), p99: baseCPU.max() ?? 0, note: "p99 column: highest"),
            ]
        }
        return rows
    }

    /// When each alert's webhooks reached the sink (nanoseconds of uptime).
    final class ReceiptLog: Sendable {
        private struct State {
            var receipts: [String: [UInt64]] = [:]
            /// The first webhook received, for the baseline to send again.
            var first: HTTPRequest?
        }

        private let state = Mutex(State())

        /// Records a webhook; the alert id is the ULID inside the delivery id.
        func record(_ request: HTTPRequest) {
            let now = BenchClock.now()
            guard let id = request.headers["webhook-id"], id.count >= 30 else { return }
            let alert = String(id.dropFirst(4).prefix(26)).uppercased()
            state.withLock {
                $0.receipts[alert, default: []].append(now)
                if $0.first == nil { $0.first = request }
            }
        }

        /// The first webhook the sink received, if any.
        var sample: HTTPRequest? { state.withLock { $0.first } }

        /// When the sink received each of `alert`'s webhooks.
        func times(of alert: String) -> [UInt64] { state.withLock { $0.receipts[alert] ?? [] } }
    }

    /// A service and a sink on loopback.
    struct Rig {
        let service: VigilService
        let sink: HTTPServer
        let receipts: ReceiptLog
        let cluster: BenchCluster?
        let port: Int
        /// Whether `stop` deletes the data directory (not when the caller chose it).
        let ownsDataDir: Bool
        /// The service's send slots, which the transport baseline matches.
        static let workerConcurrency = 64

        init(dataDir: String? = nil, kafka: String? = nil) throws {
            ownsDataDir = dataDir == nil
            cluster = try kafka.map { try BenchCluster(address: $0) }
            let receipts = ReceiptLog()
            var router = HTTPRouter()
            router.add("POST", "/hook/{n}") { request, responder in
                receipts.record(request)
                responder.send(HTTPResponse(status: 204))
            }
            var sinkConfiguration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
            sinkConfiguration.maxConnections = 4096
            sink = try HTTPServer(configuration: sinkConfiguration, runsInline: { _ in true }, handler: router.handler)
            sink.start()
            var configuration = try VigilConfiguration.forBenchmark()
            configuration.listen = "127.0.0.1:0"
            configuration.dataDir = dataDir ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("vigil-bench-deliver-\(UUID().uuidString)")
            configuration.bootstrapToken = DeliveryBenchmark.token
            // The load generator files with one token; per-token rate limits are not what is measured.
            configuration.rateLimitPerSecond = 1e9
            configuration.rateLimitBurst = 1e9
            configuration.allowPrivateWebhooks = true
            configuration.workerConcurrency = Double(Rig.workerConcurrency)
            if let cluster { configuration.log = try LogBackend(parsing: cluster.logSetting) }
            service = try VigilService(configuration: configuration, logging: false)
            port = try service.start()
            self.receipts = receipts
        }

        /// Adds `count` subscribers to `country`, each with its own webhook endpoint.
        func subscribe(_ count: Int, country: String) throws {
            for n in 0..<count {
                let body = #"{"name":"Bench \#(n)","kind":"other","organisation":"bench","contact":"b@example.org","channels":[{"type":"webhook","url":"http://127.0.0.1:\#(sink.port)/hook/\#(country)\#(n)"}],"subscriptions":[{"countries":["\#(country)"],"min_severity":"low"}]}"#
                _ = try SubscribersAPI.store(try JSONParser.parse(Array(body.utf8)), replacing: nil, in: service.subscribers, policy: AddressPolicy(allowPrivate: true))
            }
        }

        /// Files an alert and returns its id and the moment the `202` arrived.
        func file(_ client: BlockingHTTPClient, country: String, severity: String = "critical") throws -> (String, UInt64) {
            let body = #"{"country":"\#(country)","threat":"arrest","severity":"\#(severity)","certainty":"observed","summary":"bench","defender":{"name":"Bench Defender"}}"#
            let response = try client.request("POST", "/v1/alerts", body: body, headers: ["Authorization": "Bearer \(DeliveryBenchmark.token)", "Content-Type": "application/json"])
            let now = BenchClock.now()
            guard response.status == 202, let id = response.text.split(separator: "\"").dropFirst(3).first else {
                throw BenchmarkFailure(description: "filing answered \(response.status): \(response.text)")
            }
            return (String(id), now)
        }

        /// Files `rate × seconds` alerts of `country` at a steady `rate` on `client`; once every
        /// webhook has arrived (at most 30 s), returns each alert's id and the moment of its
        /// `202`, and each one's latency from that `202` to its first receipt, in nanoseconds.
        func fileSteadily(
            _ client: BlockingHTTPClient, rate: Double, seconds: Double, country: String, severity: String = "critical"
        ) throws -> (filed: [(String, UInt64)], latencies: [UInt64]) {
            var filed: [(String, UInt64)] = []
            let interval = UInt64(1e9 / rate)
            let start = BenchClock.now()
            for n in 0..<Int(rate * seconds) {
                BenchClock.sleep(until: start + UInt64(n) * interval)
                filed.append(try file(client, country: country, severity: severity))
            }
            try BenchClock.wait(upTo: 30, every: 0.001, failure: "webhooks did not all arrive within 30 s") {
                filed.allSatisfy { !receipts.times(of: $0.0).isEmpty }
            }
            return (filed, filed.compactMap { id, at in receipts.times(of: id).min().map { $0 > at ? $0 - at : 0 } })
        }

        func stop() {
            service.stop()
            sink.stop(timeout: 1)
            cluster?.release()
            if ownsDataDir { try? FileManager.default.removeItem(atPath: service.configuration.dataDir) }
        }
    }

    func latency() throws -> LatencySample {
        let rig = try Rig(kafka: kafka)
        defer { rig.stop() }
        try rig.subscribe(1, country: "BY")
        let client = try BlockingHTTPClient(port: rig.port)
        let (warm, _) = try rig.file(client, country: "BY")  // warm up: connections, caches, consumer groups joined
        try waitUntil(seconds: 60) { !rig.receipts.times(of: warm).isEmpty }
        let (filed, latencies) = try rig.fileSteadily(client, rate: rate, seconds: seconds, country: "BY")
        let retries = rig.service.metrics.value("vigil_deliveries_total", labels: "channel=\"webhook\",outcome=\"retry\"")
        if retries > 0 {
            let errors = filed.prefix(1000).compactMap { (try? rig.service.deliveries.deliveries(ofAlert: $0.0))?.first?.lastError }
            FileHandle.standardError.write(Data("bench: \(Int(retries)) webhook attempts were retried; last errors: \(Set(errors).prefix(3))\n".utf8))
        }
        return LatencySample(count: latencies.count, seconds: seconds, latencies: latencies)
    }

    /// One fan-out's time from `202` to the last receipt, and the process's CPU time over it
    /// per delivery.
    struct FanoutSample {
        let milliseconds: Double
        let cpuMicrosecondsPerDelivery: Double

        /// A fan-out of `deliveries` that took `milliseconds`, the process's CPU clock having
        /// read `cpuAtStart` (`ProcessCPU.seconds()`) when it began.
        init(milliseconds: Double, deliveries: Int, cpuAtStart: Double) {
            self.milliseconds = milliseconds
            cpuMicrosecondsPerDelivery = (ProcessCPU.seconds() - cpuAtStart) * 1e6 / Double(deliveries)
        }
    }

    /// `fanoutsPerRun` alerts, one after another, each to `endpoints` webhooks, after one
    /// that warms connections and caches; each followed by its baseline.
    func fanout(_ endpoints: Int) throws -> (fanouts: [FanoutSample], baselines: [FanoutSample]) {
        let rig = try Rig(kafka: kafka)
        defer { rig.stop() }
        try rig.subscribe(endpoints, country: "GT")
        let client = try BlockingHTTPClient(port: rig.port)
        let (warm, _) = try rig.file(client, country: "GT")
        try waitUntil(seconds: 60) { rig.receipts.times(of: warm).count >= endpoints }
        var samples: [FanoutSample] = [], baselines: [FanoutSample] = []
        for _ in 0..<max(1, fanoutsPerRun) {
            let cpu = ProcessCPU.seconds()
            let (id, at) = try rig.file(client, country: "GT")
            try waitUntil(seconds: 60) { rig.receipts.times(of: id).count >= endpoints }
            samples.append(FanoutSample(milliseconds: Double((rig.receipts.times(of: id).max() ?? at) - at) / 1e6, deliveries: endpoints, cpuAtStart: cpu))
            baselines.append(try postsAlone(endpoints, country: "GT", rig: rig))
        }
        return (samples, baselines)
    }

    /// A fan-out's baseline: the webhook the sink first received, POSTed again to each of
    /// the `endpoints` straight through `CurlTransport`, as many at once as the service's
    /// send slots: the HTTP exchanges alone, without log, claims, signing or bookkeeping.
    /// Timed from the first POST to the last answer.
    func postsAlone(_ endpoints: Int, country: String, rig: Rig) throws -> FanoutSample {
        guard let sample = rig.receipts.sample else { throw BenchmarkFailure(description: "the sink received no webhook to send again") }
        // Another id, so the sink does not count these as the alert's deliveries.
        let headers = [("webhook-id", "baseline")] + ["content-type", "user-agent", "webhook-timestamp", "webhook-signature"].compactMap { name in
            sample.headers[name].map { (name, $0) }
        }
        let failures = Mutex(0)
        let url = "http://127.0.0.1:\(rig.sink.port)/hook/\(country)", body = sample.body
        let cpu = ProcessCPU.seconds()
        let start = BenchClock.now()
        let answered = BenchClock.inFlight(endpoints, limit: Rig.workerConcurrency, timeout: 60) { n, ended in
            let request = CurlRequest(url: url + String(n), headers: headers, body: body, timeoutMilliseconds: 15_000)
            CurlTransport.shared.post(request) { result in
                if case .success(let outcome) = result, outcome.status == 204 {} else { failures.withLock { $0 += 1 } }
                ended()
            }
        }
        guard answered else { throw BenchmarkFailure(description: "the baseline's POSTs were not all answered within 60 s") }
        let elapsed = BenchClock.now() - start
        let failed = failures.withLock { $0 }
        guard failed == 0 else { throw BenchmarkFailure(description: "\(failed) of the baseline's POSTs were not answered 204") }
        return FanoutSample(milliseconds: Double(elapsed) / 1e6, deliveries: endpoints, cpuAtStart: cpu)
    }

    private func waitUntil(seconds: Double, _ condition: () -> Bool) throws {
        try BenchClock.wait(upTo: seconds, every: 0.001, failure: "deliveries did not all arrive within \(Int(seconds)) s", until: condition)
    }
}

/// A benchmark that could not complete.
public struct BenchmarkFailure: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String
}
