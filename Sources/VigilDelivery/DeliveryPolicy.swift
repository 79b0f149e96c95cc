import VigilCore

/// What an attempt's verdict means for its delivery (DESIGN §7): delivered, tried again
/// after a backoff within the retry budget, dead, or dead with its channel disabled; and
/// when a critical alert's contact is emailed as well. Pure: the breaker, the queue and the
/// directory are the pool's.
public struct DeliveryPolicy: Sendable, Equatable {
    /// The schedule for everything but critical alerts.
    public var standardRetry: RetryPolicy
    /// The faster schedule for critical alerts.
    public var criticalRetry: RetryPolicy
    /// After this many failed attempts of a critical alert's webhook, the subscriber's
    /// contact is also emailed (once) when it has no email channel of its own.
    public var criticalFallbackAfter: Int

    /// A policy with these schedules.
    public init(standardRetry: RetryPolicy = .standard, criticalRetry: RetryPolicy = .critical, criticalFallbackAfter: Int = 3) {
        self.standardRetry = standardRetry
        self.criticalRetry = criticalRetry
        self.criticalFallbackAfter = criticalFallbackAfter
    }

    /// The attempt a verdict is about: what the delivery's history holds.
    public struct Attempt: Sendable, Equatable {
        /// The alert's severity.
        public var severity: Severity
        /// The channel's kind.
        public var channelType: Channel.Kind
        /// Attempts counted so far, this one included.
        public var attempts: Int
        /// When the first attempt was made; `nil` when this is the first.
        public var firstAttemptAt: Timestamp?
        /// Whether the subscriber has an email channel of its own.
        public var subscriberHasEmail: Bool

        /// An attempt's history.
        public init(severity: Severity, channelType: Channel.Kind, attempts: Int, firstAttemptAt: Timestamp?, subscriberHasEmail: Bool) {
            self.severity = severity
            self.channelType = channelType
            self.attempts = attempts
            self.firstAttemptAt = firstAttemptAt
            self.subscriberHasEmail = subscriberHasEmail
        }
    }

    /// The decision on an attempt.
    public enum Decision: Sendable, Equatable {
        /// The receiver took it.
        case delivered
        /// Try again at `at`; `reason` is the delivery's last error.
        case retry(at: Timestamp, reason: String)
        /// Give up: `reason` is the dead letter's error.
        case dead(reason: String)
        /// The endpoint is gone: disable the channel for `channelReason` and give up with
        /// `reason`.
        case disable(channelReason: String, reason: String)

        /// What the queue records.
        public var outcome: DeliveryOutcome {
            switch self {
            case .delivered: .delivered
            case .retry(let at, let reason): .retry(at: at, error: reason)
            case .dead(let reason), .disable(_, let reason): .dead(error: reason)
            }
        }
    }

    /// The retry schedule for `severity`.
    public func retry(for severity: Severity) -> RetryPolicy { severity == .critical ? criticalRetry : standardRetry }

    /// Whether the verdict needs the delivery's first attempt time (it may be retried).
    public static func needsHistory(_ verdict: DeliveryVerdict) -> Bool {
        switch verdict {
        case .retry, .held: true
        case .delivered, .gone, .permanent: false
        }
    }

    /// Whether this failed attempt of a critical alert's webhook is the one after which its
    /// contact is emailed too (once, and only when it has no email channel).
    public func sendsCriticalFallback(_ verdict: DeliveryVerdict, _ attempt: Attempt) -> Bool {
        Self.needsHistory(verdict) && attempt.severity == .critical && attempt.channelType == .webhook
            && attempt.attempts == criticalFallbackAfter && !attempt.subscriberHasEmail
    }

    /// The decision on `verdict` for `attempt`, made at `now`. A retry waits out the
    /// backoff; the receiver's `Retry-After` counts up to the schedule's cap
    /// (`RetryPolicy.delay`), a breaker's hold (until its next trial) counts in full: it is
    /// Vigil's own. Past the budget the delivery is dead.
    public func decision(
        on verdict: DeliveryVerdict, _ attempt: Attempt, now: Timestamp, using generator: inout some RandomNumberGenerator
    ) -> Decision {
        switch verdict {
        case .delivered:
            return .delivered
        case .gone:
            return .disable(channelReason: "the endpoint answered 410 Gone", reason: "the endpoint answered 410 Gone; the channel is disabled")
        case .permanent(let reason):
            return .dead(reason: reason)
        case .held(let notBefore):
            return retryOrDeath(attempt, reason: "not sent: the endpoint's circuit breaker is open", heldFor: notBefore, now: now, using: &generator)
        case .retry(let reason, let notBefore):
            return retryOrDeath(attempt, reason: reason, retryAfter: notBefore, now: now, using: &generator)
        }
    }

    private func retryOrDeath(
        _ attempt: Attempt, reason: String, retryAfter: Int64? = nil, heldFor: Int64? = nil, now: Timestamp,
        using generator: inout some RandomNumberGenerator
    ) -> Decision {
        let retry = retry(for: attempt.severity)
        // Saturating: the delay is at most the cap, but `now` and the cap are not ours to trust.
        let delay = max(retry.delay(afterAttempt: attempt.attempts, retryAfterMilliseconds: retryAfter, using: &generator), heldFor ?? 0)
        let next = DeliveryArithmetic.sum(now.milliseconds, delay)
        let first = attempt.firstAttemptAt?.milliseconds ?? now.milliseconds
        guard retry.allows(nextAttemptAt: next, firstAttemptAt: first) else {
            return .dead(reason: "gave up after \(attempt.attempts) attempts: \(reason)")
        }
        return .retry(at: Timestamp(milliseconds: next), reason: reason)
    }
}
