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
    public func matches(_ alert: Alert) -> [Subscriber] {
        var hit = Set<Int>()
        for entry in byCountry[alert.country] ?? [] where entry.subscription.matches(alert) { hit.insert(entry.subscriber) }
        for entry in everywhere where entry.subscription.matches(alert) { hit.insert(entry.subscriber) }
        return hit.sorted().map { subscribers[$0] }
    }

    /// The subscriber with `id`, if indexed.
    public func subscriber(id: String) -> Subscriber? { positions[id].map { subscribers[$0] } }
}
