import Foundation
import Synchronization

/// A token bucket per API token: `rate` requests per second sustained, up to `burst` at
/// once. A caller over its budget gets `429` with the seconds until the next request fits.
public final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Double
    }

    private let rate: Double
    private let burst: Double
    private let clock: @Sendable () -> Double
    private let buckets = Mutex<[String: Bucket]>([:])

    /// A limiter refilling `rate` per second up to `burst`; `clock` gives seconds (tests).
    public init(rate: Double, burst: Double, clock: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }) {
        self.rate = rate
        self.burst = max(1, burst)
        self.clock = clock
    }

    /// Takes one request from `key`'s bucket: `nil` when allowed, otherwise the whole
    /// seconds to wait before retrying (at least 1).
    public func admit(_ key: String, cost: Double = 1) -> Int? {
        let now = clock()
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            defer { buckets[key] = bucket }
            if bucket.tokens >= cost {
                bucket.tokens -= cost
                return nil
            }
            // A tiny configured rate must not make the wait too large for an Int: a day at most.
            return max(1, Int(min((cost - bucket.tokens) / rate, 86_400).rounded(.up)))
        }
    }
}
