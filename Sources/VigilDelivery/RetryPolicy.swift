import VigilCore

/// When to try a failed delivery again: exponential backoff with full jitter, capped, for
/// a bounded budget after the first attempt (DESIGN §7).
public struct RetryPolicy: Sendable, Equatable {
    /// The first backoff, in milliseconds.
    public var baseMilliseconds: Int64
    /// The longest backoff, in milliseconds.
    public var capMilliseconds: Int64
    /// How long after the first attempt retries stop and the delivery is dead.
    public var budgetMilliseconds: Int64

    /// The default: 1 s doubling to at most 1 h, for 24 h.
    public static let standard = RetryPolicy(baseMilliseconds: 1000, capMilliseconds: 3_600_000, budgetMilliseconds: 86_400_000)
    /// Critical alerts: 250 ms doubling to at most 1 min, for 24 h.
    public static let critical = RetryPolicy(baseMilliseconds: 250, capMilliseconds: 60_000, budgetMilliseconds: 86_400_000)

    /// A policy with explicit bounds.
    public init(baseMilliseconds: Int64, capMilliseconds: Int64, budgetMilliseconds: Int64) {
        self.baseMilliseconds = baseMilliseconds
        self.capMilliseconds = capMilliseconds
        self.budgetMilliseconds = budgetMilliseconds
    }

    /// The delay before attempt `attempt + 1` after `attempt` failures: uniform in
    /// `[0, min(cap, base·2^(attempt-1))]`, or at least `retryAfter` when the receiver said
    /// so, but never more than the cap: a receiver cannot push a delivery past the schedule's
    /// longest backoff. `attempt` and `retryAfter` may be anything (a record read back, a
    /// receiver's header); nothing here overflows.
    public func delay(afterAttempt attempt: Int, retryAfterMilliseconds: Int64? = nil, using generator: inout some RandomNumberGenerator) -> Int64 {
        let cap = max(capMilliseconds, 0)
        let exponent = min(max(attempt, 1) - 1, 40)
        let (doubled, overflow) = baseMilliseconds.multipliedReportingOverflow(by: Int64(1) << Int64(exponent))
        let ceiling = min(cap, overflow ? cap : doubled)
        let jittered = Int64.random(in: 0...max(ceiling, 0), using: &generator)
        return max(jittered, min(max(retryAfterMilliseconds ?? 0, 0), cap))
    }

    /// Whether another attempt at `next` (ms since epoch) still fits a delivery whose first
    /// attempt was at `firstAttempt`.
    public func allows(nextAttemptAt next: Int64, firstAttemptAt firstAttempt: Int64) -> Bool {
        DeliveryArithmetic.difference(next, firstAttempt) <= budgetMilliseconds
    }
}
