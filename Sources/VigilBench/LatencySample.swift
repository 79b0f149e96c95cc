/// Latencies of one measured run, in nanoseconds, and what was done in how long.
public struct LatencySample: Sendable {
    /// Operations completed.
    public var count: Int
    /// Wall time of the run, in seconds.
    public var seconds: Double
    /// Every operation's latency, in nanoseconds (empty when not measured per operation).
    public var latencies: [UInt64]

    /// A sample.
    public init(count: Int, seconds: Double, latencies: [UInt64] = []) {
        self.count = count
        self.seconds = seconds
        self.latencies = latencies
    }

    /// Operations per second.
    public var rate: Double { seconds > 0 ? Double(count) / seconds : 0 }

    /// The `p`-th percentile latency in milliseconds (`p` in 0…100), or `nil` without latencies.
    public func percentile(_ p: Double) -> Double? {
        guard !latencies.isEmpty else { return nil }
        let sorted = latencies.sorted()
        let index = min(sorted.count - 1, max(0, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1))
        return Double(sorted[index]) / 1e6
    }
}

/// The median of `values` (the mean of the middle two for an even count).
public func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/// One line of a benchmark's table: a rate, latencies, or both, and a note.
public struct BenchmarkRow: Sendable {
    /// What was measured.
    public let name: String
    /// Operations per second, when the row measures a rate.
    public let rate: Double?
    /// Median latency in milliseconds, when measured.
    public let p50: Double?
    /// 99th-percentile latency in milliseconds, when measured.
    public let p99: Double?
    /// A remark: the baseline, a ratio's meaning, the sample size.
    public let note: String

    /// A row.
    public init(name: String, rate: Double? = nil, p50: Double? = nil, p99: Double? = nil, note: String = "") {
        self.name = name
        self.rate = rate
        self.p50 = p50
        self.p99 = p99
        self.note = note
    }
}
