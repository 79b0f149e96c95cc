import Synchronization

/// Subscriptions indexed by country, plus the list of `*` subscriptions, so routing an
/// alert looks only at the subscriptions that name its country or every country: work
/// proportional to the candidates, not to the number of subscribers.
public struct SubscriptionIndex: Sendable {
    private struct Entry: Sendable {
        let subscriber: Int
        let subscription: Subscription
    }

    /// Every subscriber indexed, by position.
    public let subscribers: [Subscriber]
    private let byCountry: [CountryCode: [Entry]]
    private let everywhere: [Entry]
    private let positions: [String: Int]

    /// Indexes `subscribers`.
    public init(_ subscribers: [Subscriber]) {
        self.subscribers = subscribers
        var byCountry: [CountryCode: [Entry]] = [:]
        var everywhere: [Entry] = []
        var positions: [String: Int] = [:]
        for (position, subscriber) in subscribers.enumerated() {
            positions[subscriber.id] = position
            for subscription in subscriber.subscriptions {
                if subscription.allCountries {
                    everywhere.append(Entry(subscriber: position, subscription: subscription))
                } else {
                    for country in subscription.countries {
                        byCountry[country, default: []].append(Entry(subscriber: position, subscription: subscription))
                    }
                }
            }
        }
        self.byCountry = byCountry
        self.everywhere = everywhere
        self.positions = positions
    }

    /// The subscribers with a subscription matching `alert`, each once, in index order.
    ///
    /// A subscription looks only at an alert's country, severity and threat, so the answer
    /// for each such triple is worked out once and remembered (at most 249 × 4 × threats
    /// lists of positions): replays and bursts from one country route by a lookup.
    public func matches(_ alert: Alert) -> [Subscriber] { matchingPositions(alert).map { subscribers[$0] } }

    /// How many channels the subscribers matching `alert` have, without copying them out.
    func matchingChannelCount(_ alert: Alert) -> Int { matchingPositions(alert).reduce(0) { $0 + subscribers[$1].channels.count } }

    /// Positions in `subscribers` of those matching `alert`, ascending; remembered per
    /// country, severity and threat.
    func matchingPositions(_ alert: Alert) -> [Int] {
        let key = MatchKey(country: alert.country, severity: alert.severity, threat: alert.threat)
        if let known = memo.table.withLock({ $0[key] }) { return known }
        var hit = Set<Int>()
        for entry in byCountry[alert.country] ?? [] where entry.subscription.matches(alert) { hit.insert(entry.subscriber) }
        for entry in everywhere where entry.subscription.matches(alert) { hit.insert(entry.subscriber) }
        let positions = hit.sorted()
        memo.table.withLock { $0[key] = positions }
        return positions
    }

    private struct MatchKey: Hashable, Sendable {
        let country: CountryCode
        let severity: Severity
        let threat: Threat
    }

    /// The remembered answers; shared by copies of the index, which never changes.
    private final class Memo: Sendable {
        let table = Mutex<[MatchKey: [Int]]>([:])
    }

    private let memo = Memo()

    /// The subscriber with `id`, if indexed.
    public func subscriber(id: String) -> Subscriber? { positions[id].map { subscribers[$0] } }
}
