import Foundation
import Synchronization

/// One breaker per endpoint (DESIGN §7): after `threshold` consecutive failures it opens and
/// no delivery is sent to the endpoint for a cool-down (doubling up to `maxCooldown`); then
/// one trial is let through (half-open): success closes it, failure opens it again.
public final class CircuitBreaker: Sendable {
    /// A breaker's state.
    public enum State: String, Sendable { case closed, open, halfOpen = "half_open" }

    private struct Entry: Sendable {
        var state: State = .closed
        var failures = 0
        var openedUntil: Double = 0
        var cooldown: Double
        var trialInFlight = false
        /// When the trial in flight went out.
        var trialStartedAt: Double = 0
    }

    let threshold: Int
    let baseCooldown: Double
    let maxCooldown: Double
    let trialWindow: Double
    private let entries = Mutex<[String: Entry]>([:])

    /// A breaker set: open after `threshold` failures for `cooldown` seconds, doubling up to
    /// `maxCooldown`. `trialWindow` is how long a trial may take (the send timeout): until
    /// then, the endpoint's other deliveries wait for its answer.
    public init(threshold: Int = 5, cooldown: Double = 30, maxCooldown: Double = 600, trialWindow: Double = 15) {
        self.threshold = threshold
        baseCooldown = cooldown
        self.maxCooldown = maxCooldown
        self.trialWindow = trialWindow
    }

    /// Whether a delivery to `endpoint` may be sent at `now` (seconds); in half-open state
    /// only one trial at a time.
    public func allows(_ endpoint: String, now: Double) -> Bool {
        entries.withLock { entries in
            guard var entry = entries[endpoint] else { return true }
            switch entry.state {
            case .closed: return true
            case .open:
                guard now >= entry.openedUntil else { return false }
                entry.state = .halfOpen
                entry.trialInFlight = true
                entry.trialStartedAt = now
                entries[endpoint] = entry
                return true
            case .halfOpen:
                // A trial whose answer never came (its outcome was not a send's) stops
                // holding the endpoint at the end of its window.
                guard !entry.trialInFlight || now >= entry.trialStartedAt + trialWindow else { return false }
                entry.trialInFlight = true
                entry.trialStartedAt = now
                entries[endpoint] = entry
                return true
            }
        }
    }

    /// Endpoints that may not be sent to at `now`, each with the earliest time one of its
    /// deliveries is worth claiming again: the end of the cool-down, or, while a trial is out,
    /// the end of the trial's window (its answer usually comes sooner, and closes or reopens
    /// the breaker).
    public func blocked(now: Double) -> [String: Double] {
        entries.withLock { entries in
            var blocked: [String: Double] = [:]
            for (endpoint, entry) in entries {
                if entry.state == .open && now < entry.openedUntil {
                    blocked[endpoint] = entry.openedUntil
                } else if entry.state == .halfOpen && entry.trialInFlight && now < entry.trialStartedAt + trialWindow {
                    blocked[endpoint] = entry.trialStartedAt + trialWindow
                }
            }
            return blocked
        }
    }

    /// Records a success; closes the breaker.
    public func recordSuccess(_ endpoint: String) {
        _ = entries.withLock { $0.removeValue(forKey: endpoint) }
    }

    /// Records a failure; returns `true` when this failure opened the breaker (tell the owner).
    @discardableResult
    public func recordFailure(_ endpoint: String, now: Double) -> Bool {
        entries.withLock { entries in
            var entry = entries[endpoint] ?? Entry(cooldown: baseCooldown)
            entry.failures += 1
            var opened = false
            if entry.state == .halfOpen {
                entry.cooldown = min(maxCooldown, entry.cooldown * 2)
                entry.state = .open
                entry.openedUntil = now + entry.cooldown
            } else if entry.state == .closed && entry.failures >= threshold {
                entry.state = .open
                entry.openedUntil = now + entry.cooldown
                opened = true
            }
            entry.trialInFlight = false
            entries[endpoint] = entry
            return opened
        }
    }

    /// The state of `endpoint`'s breaker.
    public func state(of endpoint: String) -> State { entries.withLock { $0[endpoint]?.state ?? .closed } }

    /// How many breakers are open or half-open, for `/metrics`.
    public var openCount: Int { entries.withLock { $0.values.filter { $0.state != .closed }.count } }
}
