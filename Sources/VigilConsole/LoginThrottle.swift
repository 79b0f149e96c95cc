import Foundation
import Synchronization

/// Slows password guessing at the console's sign-in (issue 20): failures are counted per
/// account (by the email typed) and per client address, each in a sliding window; past the
/// limit the sign-in is refused before any password is checked, with the seconds to wait.
/// Both maps are bounded, and full ones drop their oldest windows first, so a flood of
/// made-up emails cannot grow memory.
public final class LoginThrottle: Sendable {
    private struct Window {
        var started: Double
        var count: Int
    }

    private struct State {
        var accounts: [String: Window] = [:]
        var addresses: [String: Window] = [:]
    }

    /// Failures one account may take per window.
    public let accountLimit: Int
    /// Failures one address may make per window (higher: an office shares an address).
    public let addressLimit: Int
    /// The window, in seconds.
    public let window: Double
    /// Most accounts and addresses remembered at once, each.
    static let maxTracked = 20_000
    private let clock: @Sendable () -> Double
    private let state = Mutex(State())

    /// A throttle; `clock` gives seconds (tests pass their own).
    public init(
        accountLimit: Int = 5, addressLimit: Int = 20, window: Double = 900,
        clock: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }
    ) {
        self.accountLimit = accountLimit
        self.addressLimit = addressLimit
        self.window = window
        self.clock = clock
    }

    /// The seconds to wait before `account` may try again from `address`, or `nil` when it may now.
    public func wait(account: String, address: String) -> Int? {
        let now = clock()
        return state.withLock { state in
            var longest: Double?
            for (map, key, limit) in [(state.accounts, account, accountLimit), (state.addresses, address, addressLimit)] {
                guard let entry = map[key], now - entry.started < window, entry.count >= limit else { continue }
                longest = max(longest ?? 0, window - (now - entry.started))
            }
            return longest.map { max(1, Int($0.rounded(.up))) }
        }
    }

    /// Counts a failed sign-in of `account` from `address`.
    public func fail(account: String, address: String) {
        let now = clock()
        state.withLock { state in
            Self.count(&state.accounts, account, now: now, window: window)
            Self.count(&state.addresses, address, now: now, window: window)
        }
    }

    /// Forgets `account`'s failures after a successful sign-in (the address keeps its count).
    public func succeed(account: String) {
        _ = state.withLock { $0.accounts.removeValue(forKey: account) }
    }

    private static func count(_ map: inout [String: Window], _ key: String, now: Double, window: Double) {
        if var entry = map[key], now - entry.started < window {
            entry.count += 1
            map[key] = entry
            return
        }
        if map.count >= maxTracked {
            map = map.filter { now - $0.value.started < window }
            if map.count >= maxTracked, let oldest = map.min(by: { $0.value.started < $1.value.started })?.key { map.removeValue(forKey: oldest) }
        }
        map[key] = Window(started: now, count: 1)
    }
}
