/// The arithmetic of `vigil bench crash`, apart from processes and sockets so that it can be
/// tested state by state: which acknowledged alerts are lost, which expected deliveries were
/// made, missed or made twice, and whether a delivery made twice kept its one id (at-least-once
/// with a stable `webhook-id` / `Message-ID` is the contract; two ids for one alert at one
/// endpoint is a fault, since a receiver cannot tell it is a repeat).
public struct CrashTally: Sendable, Equatable {
    /// One delivery as a receiver saw it: the alert it carried, where it arrived (a webhook
    /// endpoint or an email address) and its delivery id (`webhook-id`, `X-Vigil-Delivery`).
    public struct Receipt: Sendable, Hashable {
        /// The alert's id.
        public let alert: String
        /// The endpoint or mailbox it reached.
        public let endpoint: String
        /// Its delivery id.
        public let deliveryID: String

        /// A receipt of `alert` at `endpoint` under `deliveryID`.
        public init(alert: String, endpoint: String, deliveryID: String) {
            self.alert = alert
            self.endpoint = endpoint
            self.deliveryID = deliveryID
        }
    }

    /// Alerts answered `202`.
    public let acknowledged: Int
    /// Acknowledged alerts that the API no longer returns, sorted (must be empty).
    public let lost: [String]
    /// Deliveries owed: each acknowledged alert × the endpoints it matches.
    public let expected: Int
    /// Owed deliveries that arrived at least once.
    public let made: Int
    /// Owed deliveries that never arrived.
    public let missing: Int
    /// Receipts beyond the first of one alert at one endpoint (acknowledged or not).
    public let duplicates: Int
    /// Alert-endpoint pairs that arrived under two or more delivery ids (must be 0).
    public let duplicatesUnderSecondID: Int
    /// Receipts of an acknowledged alert at an endpoint it does not match (must be 0).
    public let strays: Int
    /// Receipts of alerts never acknowledged: filed as the service was killed, durable but
    /// unanswered. Allowed: the client did not learn of them, the log did.
    public let unacknowledgedReceipts: Int

    /// Tallies `receipts` against `expected` (each acknowledged alert and the endpoints it
    /// matches) and `readable` (the acknowledged alerts the API returned afterwards).
    public init(expected owed: [String: Set<String>], readable: Set<String>, receipts: [Receipt]) {
        acknowledged = owed.count
        lost = owed.keys.filter { !readable.contains($0) }.sorted()
        expected = owed.values.reduce(0) { $0 + $1.count }
        var ids: [Pair: Set<String>] = [:], counts: [Pair: Int] = [:]
        var strays = 0, unacknowledged = 0
        for receipt in receipts {
            let pair = Pair(alert: receipt.alert, endpoint: receipt.endpoint)
            counts[pair, default: 0] += 1
            ids[pair, default: []].insert(receipt.deliveryID)
            if let endpoints = owed[receipt.alert] {
                if !endpoints.contains(receipt.endpoint) { strays += 1 }
            } else {
                unacknowledged += 1
            }
        }
        made = owed.reduce(0) { sum, entry in sum + entry.value.filter { counts[Pair(alert: entry.key, endpoint: $0)] != nil }.count }
        missing = expected - made
        duplicates = counts.values.reduce(0) { $0 + $1 - 1 }
        duplicatesUnderSecondID = ids.values.filter { $0.count > 1 }.count
        self.strays = strays
        unacknowledgedReceipts = unacknowledged
    }

    /// Nothing lost, nothing missing, nothing misrouted, and every repeat under its first id.
    public var isSound: Bool { lost.isEmpty && missing == 0 && duplicatesUnderSecondID == 0 && strays == 0 }

    private struct Pair: Hashable {
        let alert: String
        let endpoint: String
    }
}
