import Foundation
import Synchronization

/// Recent answers of the system resolver, by host name, for a few seconds.
///
/// Every webhook send checks where its host leads (`AddressPolicy`); asking the resolver
/// again for each of ten thousand deliveries to the same few hosts cost a lookup per send.
/// An answer is kept for `lifetime` seconds and then asked again, so a receiver that moves
/// is followed within that time; failures are never kept, so a DNS hiccup is retried at
/// once. The cached addresses are still checked and pinned on every send.
public final class HostResolutions: Sendable {
    private let lifetime: Double
    private let capacity: Int
    private let resolver: @Sendable (String) -> [String]
    private let answers = Mutex<[String: (addresses: [String], until: Double)]>([:])

    /// A cache in front of `resolver`, keeping each answer `lifetime` seconds and at most
    /// `capacity` hosts (cleared whole when full).
    public init(lifetime: Double = 30, capacity: Int = 10_000, resolver: @escaping @Sendable (String) -> [String] = AddressPolicy.resolve) {
        self.lifetime = lifetime
        self.capacity = capacity
        self.resolver = resolver
    }

    /// The addresses `host` resolves to, from the cache while the answer is fresh.
    public func addresses(of host: String) -> [String] {
        let now = ProcessInfo.processInfo.systemUptime
        if let kept = answers.withLock({ $0[host] }), kept.until > now { return kept.addresses }
        let addresses = resolver(host)
        guard !addresses.isEmpty, lifetime > 0 else { return addresses }
        let (capacity, lifetime) = (self.capacity, self.lifetime)
        answers.withLock {
            if $0.count >= capacity { $0.removeAll(keepingCapacity: true) }
            $0[host] = (addresses, now + lifetime)
        }
        return addresses
    }
}
