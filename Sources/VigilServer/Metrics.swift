import Foundation
import Synchronization

/// Counters, gauges and histograms rendered in the Prometheus text format at `/metrics`.
///
/// Labels carry only operational values (severity, channel, outcome, status), never
/// personal data.
public final class Metrics: @unchecked Sendable {
    private struct Histogram {
        var buckets: [Double]
        var counts: [UInt64]
        var sum = 0.0
        var count: UInt64 = 0

        mutating func record(_ value: Double) {
            for (i, bound) in buckets.enumerated() where value <= bound { counts[i] += 1 }
            sum += value
            count += 1
        }
    }

    private let lock = NSLock()
    private var counters: [String: [String: Double]] = [:]
    private var gauges: [String: () -> Double] = [:]
    private var levels: [String: Double] = [:]
    private var histograms: [String: Histogram] = [:]
    private var help: [String: (String, String)] = [:]

    /// An empty registry.
    public init() {}

    /// Declares a metric's help text and type (`counter`, `gauge`, `histogram`).
    public func describe(_ name: String, type: String, help text: String) {
        lock.withLock { help[name] = (type, text) }
    }

    /// Adds `value` to the counter `name` with `labels` (`severity="critical"`).
    public func increment(_ name: String, labels: String = "", by value: Double = 1) {
        lock.withLock { counters[name, default: [:]][labels, default: 0] += value }
    }

    /// Registers a gauge read at scrape time.
    public func gauge(_ name: String, _ read: @escaping @Sendable () -> Double) {
        lock.withLock { gauges[name] = read }
    }

    /// Moves the gauge `name` up or down by `delta` (open long polls, in-flight work).
    public func adjust(_ name: String, by delta: Double) {
        lock.withLock { levels[name, default: 0] += delta }
    }

    /// Records one observation in the histogram `name` (seconds).
    public func observe(_ name: String, _ value: Double, buckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]) {
        lock.withLock {
            // Mutated in place: copying it out and back copied its arrays on every observation.
            histograms[name, default: Histogram(buckets: buckets, counts: Array(repeating: 0, count: buckets.count))].record(value)
        }
    }

    /// The current value of a counter, for tests and benchmarks.
    public func value(_ name: String, labels: String = "") -> Double { lock.withLock { counters[name]?[labels] ?? 0 } }

    /// Everything in the Prometheus text exposition format.
    public func render() -> String {
        let (counters, gauges, levels, histograms, help) = lock.withLock { (self.counters, self.gauges, self.levels, self.histograms, self.help) }
        var out = ""
        func header(_ name: String, _ fallback: String) {
            let (type, text) = help[name] ?? (fallback, name)
            out += "# HELP \(name) \(text)\n# TYPE \(name) \(type)\n"
        }
        for name in counters.keys.sorted() {
            header(name, "counter")
            for (labels, value) in counters[name]!.sorted(by: { $0.key < $1.key }) {
                out += labels.isEmpty ? "\(name) \(format(value))\n" : "\(name){\(labels)} \(format(value))\n"
            }
        }
        for name in gauges.keys.sorted() {
            header(name, "gauge")
            out += "\(name) \(format(gauges[name]!()))\n"
        }
        for name in levels.keys.sorted() {
            header(name, "gauge")
            out += "\(name) \(format(levels[name]!))\n"
        }
        for name in histograms.keys.sorted() {
            let h = histograms[name]!
            header(name, "histogram")
            for (bound, count) in zip(h.buckets, h.counts) { out += "\(name)_bucket{le=\"\(format(bound))\"} \(count)\n" }
            out += "\(name)_bucket{le=\"+Inf\"} \(h.count)\n\(name)_sum \(format(h.sum))\n\(name)_count \(h.count)\n"
        }
        return out
    }

    private func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }  // Prometheus's spelling of "unknown now"
        return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

extension Metrics {
    /// Oldest, in seconds, a count read by a scrape may be.
    public static let countsMaxAgeSeconds = 5.0
}

/// A reading that is costly to make (a count over a table), kept for `maxAge` seconds: asking
/// for it never makes it on the asking thread; a stale reading is answered as it is while one
/// refresh runs on a background queue, so scrapes cost no scans however often they come.
public final class CachedReading<Value: Sendable>: Sendable {
    private struct State {
        var value: Value
        var madeAt: Double
        var refreshing: Bool
    }

    private let read: @Sendable () -> Value
    private let maxAge: Double
    private let clock: @Sendable () -> Double
    private let state: Mutex<State>
    private static var queue: DispatchQueue { DispatchQueue.global(qos: .utility) }

    /// A reading of `read`, `initial` until the first refresh (started at once) lands.
    public init(
        initial: Value, maxAge: Double, clock: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime },
        read: @escaping @Sendable () -> Value
    ) {
        self.read = read
        self.maxAge = maxAge
        self.clock = clock
        state = Mutex(State(value: initial, madeAt: -Double.infinity, refreshing: false))
        _ = value
    }

    /// The latest reading; starts a refresh in the background when it is older than `maxAge`.
    public var value: Value {
        let now = clock()
        let (current, refresh) = state.withLock { state -> (Value, Bool) in
            guard now - state.madeAt >= maxAge, !state.refreshing else { return (state.value, false) }
            state.refreshing = true
            return (state.value, true)
        }
        if refresh {
            Self.queue.async { [self] in
                let fresh = read()
                let at = clock()
                state.withLock {
                    $0.value = fresh
                    $0.madeAt = at
                    $0.refreshing = false
                }
            }
        }
        return current
    }
}
