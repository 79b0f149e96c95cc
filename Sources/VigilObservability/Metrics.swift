import Foundation
import Synchronization

/// Counters, gauges and histograms rendered in the Prometheus text format at `/metrics`.
///
/// Labels carry only operational values (severity, channel, outcome, status), never
/// personal data.
public final class Metrics: Sendable {
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

    /// Everything registered and counted, under one lock.
    private struct Registry {
        var counters: [String: [String: Double]] = [:]
        var gauges: [String: @Sendable () -> Double] = [:]
        var levels: [String: Double] = [:]
        var histograms: [String: [String: Histogram]] = [:]
        var labelledGauges: [String: @Sendable () -> [String: Double]] = [:]
        var help: [String: (String, String)] = [:]
    }

    private let registry = Mutex(Registry())

    /// An empty registry.
    public init() {}

    /// Declares a metric's help text and type (`counter`, `gauge`, `histogram`).
    public func describe(_ name: String, type: String, help text: String) {
        registry.withLock { $0.help[name] = (type, text) }
    }

    /// Adds `value` to the counter `name` with `labels` (`severity="critical"`).
    public func increment(_ name: String, labels: String = "", by value: Double = 1) {
        registry.withLock { $0.counters[name, default: [:]][labels, default: 0] += value }
    }

    /// Registers a gauge read at scrape time.
    public func gauge(_ name: String, _ read: @escaping @Sendable () -> Double) {
        registry.withLock { $0.gauges[name] = read }
    }

    /// Registers a gauge with one series per label set (`severity="critical"`), read at scrape time.
    public func labelledGauge(_ name: String, _ read: @escaping @Sendable () -> [String: Double]) {
        registry.withLock { $0.labelledGauges[name] = read }
    }

    /// Moves the gauge `name` up or down by `delta` (open long polls, in-flight work).
    public func adjust(_ name: String, by delta: Double) {
        registry.withLock { $0.levels[name, default: 0] += delta }
    }

    /// Records one observation in the histogram `name` (seconds).
    public func observe(_ name: String, _ value: Double, buckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]) {
        observe(name, labels: "", value, buckets: buckets)
    }

    /// Records one observation in the series `labels` (`kind="ngo",severity="critical"`) of the histogram `name`.
    public func observe(_ name: String, labels: String, _ value: Double, buckets: [Double]) {
        registry.withLock {
            // Mutated in place: copying it out and back copied its arrays on every observation.
            $0.histograms[name, default: [:]][labels, default: Histogram(buckets: buckets, counts: Array(repeating: 0, count: buckets.count))]
                .record(value)
        }
    }

    /// The current value of a counter, for tests and benchmarks.
    public func value(_ name: String, labels: String = "") -> Double { registry.withLock { $0.counters[name]?[labels] ?? 0 } }

    /// Everything in the Prometheus text exposition format.
    public func render() -> String {
        let (counters, gauges, levels, histograms, help, labelledGauges) = registry.withLock {
            ($0.counters, $0.gauges, $0.levels, $0.histograms, $0.help, $0.labelledGauges)
        }
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
        for name in labelledGauges.keys.sorted() {
            header(name, "gauge")
            for (labels, value) in labelledGauges[name]!().sorted(by: { $0.key < $1.key }) {
                out += labels.isEmpty ? "\(name) \(format(value))\n" : "\(name){\(labels)} \(format(value))\n"
            }
        }
        for name in levels.keys.sorted() {
            header(name, "gauge")
            out += "\(name) \(format(levels[name]!))\n"
        }
        for name in histograms.keys.sorted() {
            header(name, "histogram")
            for (labels, h) in histograms[name]!.sorted(by: { $0.key < $1.key }) {
                let prefix = labels.isEmpty ? "" : labels + ",", series = labels.isEmpty ? "" : "{\(labels)}"
                for (bound, count) in zip(h.buckets, h.counts) { out += "\(name)_bucket{\(prefix)le=\"\(format(bound))\"} \(count)\n" }
                out += "\(name)_bucket{\(prefix)le=\"+Inf\"} \(h.count)\n\(name)_sum\(series) \(format(h.sum))\n\(name)_count\(series) \(h.count)\n"
            }
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
