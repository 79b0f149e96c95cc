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
