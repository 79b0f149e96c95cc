import Dispatch
import Foundation
import Synchronization
import VigilCore
import VigilObservability
import VigilServer
import VigilStore
import VigilConcurrency

/// `vigil bench route`: routing with 10,000 subscribers spread over all countries.
///
/// - matching: `Router.route` through the index against checking every subscriber (brute
///   force), the same alerts, the same run;
/// - router: a backlog of alerts drained by the real router into the store (alerts/s and
///   deliveries/s);
/// - latency: alerts appended at a steady rate; time from the durable append to the
///   router having recorded their deliveries (p50/p99).
public struct RouteBenchmark: Sendable {
    /// Subscribers over all countries.
    public var subscribers = 10_000
    /// Alerts in the backlog the router drains.
    public var alerts = 20_000
    /// Alerts per second in the latency measurement.
    public var rate = 200.0
    /// Seconds the latency measurement appends alerts for.
    public var latencySeconds = 5.0
    /// Measured runs; the table reports medians.
    public var runs = 3

    /// A benchmark with the defaults.
    public init() {}

    /// Subscribers each following 1–2 random countries (one in a hundred also `*` at critical),
    /// from a random minimum severity, a third with a threat filter, with 1–2 channels.
    static func makeSubscribers(_ count: Int, excluding excluded: CountryCode? = nil) -> [Subscriber] {
        var generator = SystemRandomNumberGenerator()
        let countries = CountryCode.all.filter { $0 != excluded }
        return (0..<count).map { n in
            var subscriptions = [Subscription(
                countries: Set((0..<Int.random(in: 1...2, using: &generator)).map { _ in countries.randomElement(using: &generator)! }),
                minSeverity: Severity.allCases.randomElement(using: &generator)!,
                threats: Int.random(in: 0..<3, using: &generator) == 0 ? Set(Threat.allCases.shuffled(using: &generator).prefix(3)) : nil)]
            if n % 100 == 0 { subscriptions.append(Subscription(countries: [], allCountries: true, minSeverity: .critical)) }
            let channels = (0..<Int.random(in: 1...2, using: &generator)).map { c in
                c == 0 ? Channel(id: "chn_\(n)_w", type: .webhook, url: "https://s\(n).example.org/h") : Channel(id: "chn_\(n)_e", type: .email, address: "s\(n)@example.org")
            }
            return Subscriber(id: "sub_\(n)", name: "Subscriber \(n)", kind: .other, organisation: "o", contact: "c@example.org",
                              clearance: .restricted, language: "en", channels: channels, subscriptions: subscriptions)
        }
    }

    static func makeAlert(_ n: Int, generator: inout some RandomNumberGenerator) -> Alert {
        let now = Timestamp.now()
        return Alert(
            id: ULID(time: now).description, receivedAt: now, country: CountryCode.all.randomElement(using: &generator)!,
            threat: Threat.allCases.randomElement(using: &generator)!, severity: Severity.allCases.randomElement(using: &generator)!,
            certainty: .observed, defender: Defender(name: "Bench Defender"), summary: "bench alert \(n)", source: AlertSource(organisation: "bench"))
    }

    /// Runs the three parts `runs` times and returns medians.
    public func run(progress: (String) -> Void = { _ in }) throws -> [BenchmarkRow] {
        let population = Self.makeSubscribers(subscribers)
        let index = SubscriptionIndex(population)
        var generator = SystemRandomNumberGenerator()
        let sample = (0..<20_000).map { StoredAlert(offset: LogOffset($0 + 1), alert: Self.makeAlert($0, generator: &generator)) }
        var indexed: [Double] = [], bruteRates: [Double] = [], drain: [Double] = [], deliveriesPerSecond: [Double] = []
        var p50s: [Double] = [], p99s: [Double] = []
        var matchesPerAlert = 0.0
        for round in 1...runs {
            progress("run \(round) of \(runs): matching")
            var t = BenchClock.now()
            var total = 0
            for alert in sample { total += Router.route(alert, index: index).count }
            indexed.append(Double(sample.count) / BenchClock.seconds(since: t))
            matchesPerAlert = Double(total) / Double(sample.count)
            t = BenchClock.now()
            var bruteTotal = 0
            for alert in sample.prefix(2000) {
                bruteTotal += population.filter { $0.follows(alert.alert) }.reduce(0) { $0 + $1.channels.count }
            }
            bruteRates.append(2000 / BenchClock.seconds(since: t))
            _ = bruteTotal
            progress("run \(round) of \(runs): router drain and latency")
            let (alertsRate, deliveryRate, latencies) = try throughStore(population)
            drain.append(alertsRate)
            deliveriesPerSecond.append(deliveryRate)
            p50s.append(latencies.percentile(50) ?? 0)
            p99s.append(latencies.percentile(99) ?? 0)
        }
        let brute = median(bruteRates)
        return [
            BenchmarkRow(name: "match: brute force over all subscribers", rate: brute, note: "baseline"),
            BenchmarkRow(name: "match: per-country index", rate: median(indexed), note: String(format: "%.1f× the baseline; %.1f deliveries/alert", median(indexed) / brute, matchesPerAlert)),
            BenchmarkRow(name: "router: backlog drained into SQLite", rate: median(drain), note: String(format: "%.0f deliveries/s", median(deliveriesPerSecond))),
            BenchmarkRow(name: "router: append → deliveries at \(Int(rate))/s", p50: median(p50s), p99: median(p99s), note: "latency"),
        ]
    }

    private func throughStore(_ population: [Subscriber]) throws -> (Double, Double, LatencySample) {
        let store = try ScratchStore()
        defer { store.remove() }
        let (log, queue, registry) = (store.log, store.queue, store.subscribers)
        try registry.saveAll(population)
        let metrics = Metrics()
        var generator = SystemRandomNumberGenerator()

        // Backlog: append with the router stopped, then time the drain.
        let appended = DispatchGroup()
        for n in 0..<alerts {
            appended.enter()
            log.append(Self.makeAlert(n, generator: &generator), idempotency: nil) { _ in appended.leave() }
        }
        BlockingPool.wait(for: appended)
        let last = try log.lastOffset()
        let router = AlertRouter(log: log, ledger: queue, subscribers: registry, metrics: metrics, logger: Logger(label: "bench", enabled: false))
        let marks = Marks()
        router.onRouted { marks.routed($0) }
        let t = BenchClock.now()
        try router.start()
        try BenchClock.wait(upTo: BenchClock.patience, every: 0.001, failure: "the router did not drain \(alerts) alerts within \(Int(BenchClock.patience)) s") {
            marks.routedOffset >= last
        }
        // Timed to the moment the router reported the last offset, not to when this wait saw it.
        let drainSeconds = Double((marks.routedTime(of: last) ?? BenchClock.now()) - t) / 1e9
        let deliveries = try queue.countsByState().values.reduce(0, +)

        // Steady rate: the time from each durable append to its routing.
        let interval = 1e9 / rate
        let start = BenchClock.now()
        let count = Int(rate * latencySeconds)
        let done = DispatchGroup()
        for n in 0..<count {
            BenchClock.sleep(until: start + UInt64(interval * Double(n)))
            done.enter()
            log.append(Self.makeAlert(n, generator: &generator), idempotency: nil) { result in
                if case .success(let receipt) = result { marks.appended(receipt.offset) }
                done.leave()
            }
        }
        BlockingPool.wait(for: done)
        let final = try log.lastOffset()
        try BenchClock.wait(upTo: BenchClock.patience, every: 0.001, failure: "the router did not reach offset \(final) within \(Int(BenchClock.patience)) s") {
            marks.routedOffset >= final
        }
        router.stop()
        return (Double(alerts) / drainSeconds, Double(deliveries) / drainSeconds, LatencySample(count: count, seconds: latencySeconds, latencies: marks.latencies(after: last)))
    }
}

/// When each offset was appended and when it was routed.
final class Marks: Sendable {
    private struct State {
        var appendedAt: [LogOffset: UInt64] = [:]
        var routedAt: [LogOffset: UInt64] = [:]
        var routedOffset: LogOffset = 0
    }

    private let state = Mutex(State())

    /// The highest offset the router has reported.
    var routedOffset: LogOffset { state.withLock { $0.routedOffset } }

    /// When the router reported `offset` (nanoseconds of uptime), if it has.
    func routedTime(of offset: LogOffset) -> UInt64? { state.withLock { $0.routedAt[offset] } }

    /// Marks `offset` appended now.
    func appended(_ offset: LogOffset) {
        let now = BenchClock.now()
        state.withLock {
            if offset <= $0.routedOffset { $0.routedAt[offset] = now }  // routed before its append was acknowledged
            $0.appendedAt[offset] = now
        }
    }

    /// Marks every offset up to `offset` routed now.
    func routed(_ offset: LogOffset) {
        let now = BenchClock.now()
        state.withLock {
            for o in ($0.routedOffset + 1)...max(offset, $0.routedOffset + 1) where o <= offset { $0.routedAt[o] = now }
            $0.routedOffset = max($0.routedOffset, offset)
        }
    }

    /// Each offset after `offset`'s time from its append to its routing, in nanoseconds.
    func latencies(after offset: LogOffset) -> [UInt64] {
        state.withLock { state in
            state.appendedAt.compactMap { o, a in o > offset ? state.routedAt[o].map { $0 > a ? $0 - a : 0 } : nil }
        }
    }
}
