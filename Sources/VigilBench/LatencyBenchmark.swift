import Foundation
import VigilCore
import VigilHTTP
import VigilHTTPClient
import VigilObservability
import VigilServer
import VigilStore

/// `vigil bench latency`: `202` → webhook receipt at a steady rate, with a large log and
/// many subscribers in place (issue 8's target: p99 ≤ 2.5 ms at 200/s with 1,000,000 alerts
/// and 10,000 subscribers), and the process's resident memory.
///
/// The log is filled first (through the store, not HTTP, and routed to nobody, as if long
/// past); then 10,000 random subscribers over every country but Belarus join, and one probe
/// desk follows Belarus. The measured alerts are Belarusian and `high`, so each reaches the
/// probe alone while routing still consults the whole index. The baseline is the same
/// measurement on an empty log with no other subscribers, in the same run.
public struct LatencyBenchmark: Sendable {
    /// Alerts in the log before the measurement.
    public var alerts = 1_000_000
    /// Subscribers beside the probe desk.
    public var subscribers = 10_000
    /// Alerts per second while measuring.
    public var rate = 200.0
    /// Seconds each run files alerts for.
    public var seconds = 5.0
    /// Measured runs; the table reports medians.
    public var runs = 3
    /// Where to build and keep the filled store (for running `vigil serve` on it afterwards,
    /// to see the service's own memory); a temporary directory, deleted, when `nil`.
    public var keepDataDir: String?

    /// A benchmark with the defaults.
    public init() {}

    /// Fills the log once, then measures the baseline and the filled log `runs` times; returns the rows.
    public func run(progress: (String) -> Void) throws -> [BenchmarkRow] {
        var baseline = DeliveryBenchmark()
        baseline.rate = rate
        baseline.seconds = seconds
        var empty: [LatencySample] = [], loaded: [LatencySample] = []
        let rig = try DeliveryBenchmark.Rig(dataDir: keepDataDir)
        defer { rig.stop() }
        let rssEmpty = Self.residentMegabytes()
        progress("filling the log with \(alerts) alerts")
        try fill(rig.service)
        let rssFilled = Self.residentMegabytes()
        try rig.service.subscribers.saveAll(RouteBenchmark.makeSubscribers(subscribers, excluding: CountryCode("BY")))
        try rig.subscribe(1, country: "BY")
        for round in 1...runs {
            progress("run \(round) of \(runs): empty log, one subscriber")
            empty.append(try baseline.latency())
            progress("run \(round) of \(runs): \(alerts) alerts, \(subscribers + 1) subscribers")
            loaded.append(try steady(rig))
        }
        let rssSteady = Self.residentMegabytes()
        func p(_ samples: [LatencySample], _ q: Double) -> Double { median(samples.compactMap { $0.percentile(q) }) }
        return [
            BenchmarkRow(name: "baseline: empty log, 1 subscriber, \(Int(rate))/s", p50: p(empty, 50), p99: p(empty, 99), note: "202 → webhook"),
            BenchmarkRow(
                name: "\(alerts / 1000)k alerts, \(subscribers / 1000)k subscribers, \(Int(rate))/s", p50: p(loaded, 50), p99: p(loaded, 99),
                note: String(format: "p99 %.2f× the baseline", p(loaded, 99) / max(p(empty, 99), 0.001))),
            BenchmarkRow(
                name: "resident memory (whole bench process)", note: String(format: "%.0f MB empty, %.0f MB filled, %.0f MB after the runs", rssEmpty, rssFilled, rssSteady)),
        ]
    }

    /// Appends `alerts` alerts through the log with a bounded number in flight, then waits for
    /// the router to pass them (it routes them to nobody: no subscriber exists yet).
    private func fill(_ service: VigilService) throws {
        let log = service.log
        let appended = BenchClock.inFlight(alerts, limit: 512, timeout: BenchClock.patience) { n, ended in
            var generator = SystemRandomNumberGenerator()
            log.append(RouteBenchmark.makeAlert(n, generator: &generator), idempotency: nil) { _ in ended() }
        }
        guard appended else { throw BenchmarkFailure(description: "the log did not take \(alerts) alerts within \(Int(BenchClock.patience)) s") }
        let last = try service.log.lastOffset()
        try BenchClock.wait(upTo: BenchClock.patience, every: 0.01, failure: "the router did not pass \(alerts) alerts within \(Int(BenchClock.patience)) s") {
            service.backend.router.routedOffset >= last
        }
    }

    private func steady(_ rig: DeliveryBenchmark.Rig) throws -> LatencySample {
        let client = try BlockingHTTPClient(port: rig.port)
        let latencies = try rig.fileSteadily(client, rate: rate, seconds: seconds, country: "BY", severity: "high").latencies
        return LatencySample(count: latencies.count, seconds: seconds, latencies: latencies)
    }

    /// VmRSS of this process in megabytes.
    static func residentMegabytes() -> Double { ProcessMemory.residentBytes() / 1_048_576 }
}
