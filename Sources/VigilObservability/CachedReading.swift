import Dispatch
import Foundation
import Synchronization

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
