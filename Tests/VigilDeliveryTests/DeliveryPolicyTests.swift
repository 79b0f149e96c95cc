import Testing
import VigilCore
@testable import VigilDelivery

/// What a verdict means for its delivery: the retry and dead-letter rules in one place.
@Suite struct DeliveryPolicyTests {
    static let now = Timestamp(milliseconds: 1_795_338_843_000)
    let policy = DeliveryPolicy()

    static func attempt(
        _ severity: Severity = .high, _ type: Channel.Kind = .webhook, attempts: Int = 1, first: Timestamp? = nil, email: Bool = false
    ) -> DeliveryPolicy.Attempt {
        DeliveryPolicy.Attempt(severity: severity, channelType: type, attempts: attempts, firstAttemptAt: first, subscriberHasEmail: email)
    }

    func decide(_ verdict: DeliveryVerdict, _ attempt: DeliveryPolicy.Attempt) -> DeliveryPolicy.Decision {
        var generator = SystemRandomNumberGenerator()
        return policy.decision(on: verdict, attempt, now: Self.now, using: &generator)
    }

    @Test func deliveredRefusedAndGone() {
        #expect(decide(.delivered, Self.attempt()) == .delivered)
        #expect(decide(.permanent(reason: "HTTP 404 (refused) after 3 ms"), Self.attempt()) == .dead(reason: "HTTP 404 (refused) after 3 ms"))
        let gone = decide(.gone, Self.attempt())
        #expect(gone == .disable(channelReason: "the endpoint answered 410 Gone", reason: "the endpoint answered 410 Gone; the channel is disabled"))
        #expect(gone.outcome == .dead(error: "the endpoint answered 410 Gone; the channel is disabled"))
    }

    @Test func aRetryWaitsWithinTheCriticalOrStandardSchedule() {
        for _ in 0..<50 {
            guard case .retry(let at, let reason) = decide(.retry(reason: "timeout after 15000 ms", notBeforeMilliseconds: nil), Self.attempt(.critical, attempts: 30))
            else { Issue.record("within the budget"); return }
            #expect(reason == "timeout after 15000 ms")
            #expect((0...60_000).contains(at.milliseconds - Self.now.milliseconds), "critical: capped at a minute")
            guard case .retry(let later, _) = decide(.retry(reason: "x", notBeforeMilliseconds: nil), Self.attempt(.high, attempts: 1))
            else { Issue.record("within the budget"); return }
            #expect((0...1000).contains(later.milliseconds - Self.now.milliseconds), "standard: the first backoff is a second")
        }
    }

    /// A receiver's `Retry-After` counts only up to the cap; a breaker's hold counts in full.
    @Test func retryAfterIsClampedToTheCapButABreakersHoldIsNot() {
        let told = decide(.retry(reason: "HTTP 503 (server error) after 1 ms", notBeforeMilliseconds: 36_000_000), Self.attempt(.critical))
        #expect(told == .retry(at: DeliveryArithmetic.time(Self.now, plus: 60_000), reason: "HTTP 503 (server error) after 1 ms"))
        let held = decide(.held(notBeforeMilliseconds: 600_000), Self.attempt(.critical))
        #expect(held == .retry(at: DeliveryArithmetic.time(Self.now, plus: 600_000), reason: "not sent: the endpoint's circuit breaker is open"))
    }

    @Test func pastTheBudgetADeliveryIsDead() {
        let first = DeliveryArithmetic.time(Self.now, plus: -86_400_000)
        #expect(
            decide(.retry(reason: "HTTP 500 (server error) after 2 ms", notBeforeMilliseconds: nil), Self.attempt(attempts: 17, first: first))
                == .dead(reason: "gave up after 17 attempts: HTTP 500 (server error) after 2 ms"))
        #expect(
            decide(.held(notBeforeMilliseconds: 1), Self.attempt(attempts: 9, first: first))
                == .dead(reason: "gave up after 9 attempts: not sent: the endpoint's circuit breaker is open"))
    }

    /// Absurd histories and hints neither trap nor overflow.
    @Test func absurdHistoriesNeitherTrapNorOverflow() {
        let ancient = Timestamp(milliseconds: .min)
        #expect(decide(.retry(reason: "r", notBeforeMilliseconds: .max), Self.attempt(attempts: .max, first: ancient)) == .dead(reason: "gave up after \(Int.max) attempts: r"))
        guard case .retry = decide(.held(notBeforeMilliseconds: .max), Self.attempt(attempts: .min, first: Timestamp(milliseconds: .max))) else {
            Issue.record("a first attempt in the future leaves the budget whole")
            return
        }
    }

    /// The contact of a critical alert's webhook hears once, at the configured attempt, when
    /// it has no email channel; never for a verdict that is not retried.
    @Test func theCriticalFallbackGoesOutOnceAtItsAttempt() {
        let failing = DeliveryVerdict.retry(reason: "x", notBeforeMilliseconds: nil)
        #expect(policy.sendsCriticalFallback(failing, Self.attempt(.critical, attempts: 3)))
        #expect(policy.sendsCriticalFallback(.held(notBeforeMilliseconds: 5), Self.attempt(.critical, attempts: 3)))
        #expect(!policy.sendsCriticalFallback(failing, Self.attempt(.critical, attempts: 2)))
        #expect(!policy.sendsCriticalFallback(failing, Self.attempt(.critical, attempts: 4)))
        #expect(!policy.sendsCriticalFallback(failing, Self.attempt(.high, attempts: 3)))
        #expect(!policy.sendsCriticalFallback(failing, Self.attempt(.critical, .email, attempts: 3)))
        #expect(!policy.sendsCriticalFallback(failing, Self.attempt(.critical, attempts: 3, email: true)))
        #expect(!policy.sendsCriticalFallback(.permanent(reason: "x"), Self.attempt(.critical, attempts: 3)))
        #expect(!policy.sendsCriticalFallback(.gone, Self.attempt(.critical, attempts: 3)))
    }

    @Test func theWorkerSettingsMakeThePolicy() {
        var configuration = WorkerConfiguration()
        configuration.criticalFallbackAfter = 5
        configuration.standardRetry = RetryPolicy(baseMilliseconds: 7, capMilliseconds: 8, budgetMilliseconds: 9)
        #expect(configuration.deliveryPolicy == DeliveryPolicy(standardRetry: configuration.standardRetry, criticalRetry: .critical, criticalFallbackAfter: 5))
    }
}
