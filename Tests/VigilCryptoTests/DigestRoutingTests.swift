import Testing
import VigilCore
import VigilCrypto

/// The delivery ids of digest routing (issue 21), here because VigilCoreTests (where the rest
/// of `DigestRoutingTests` is) does not depend on VigilCrypto: a digest's id is named by
/// (subscriber, channel, window) alone, so whichever alert opens the window, a retry, a crash
/// or a second routing names it the same.
@Suite struct DigestRoutingTests {
    static let daily = DigestSchedule(below: .high, every: .days(1), at: TimeOfDay(hour: 8, minute: 0), timezone: "UTC")

    static let desks = SubscriptionIndex(
        ["desk-a", "desk-b"].map { id in
            Subscriber(
                id: id, name: id, kind: .diplomaticDesk, organisation: "org", contact: "desk@example.org", clearance: .restricted, language: "en",
                channels: [Channel(id: "\(id)-hook", type: .webhook, url: "https://desk.example/h"), Channel(id: "\(id)-mail", type: .email, address: "d@example.org")],
                subscriptions: [Subscription(countries: [CountryCode("BY")!], minSeverity: .low, digest: daily)])
        })

    static func alert(_ severity: Severity, at text: String) -> StoredAlert {
        let time = Timestamp(rfc3339: text)!
        return StoredAlert(offset: 1, alert: Alert(
            id: ULID(time: time).description, receivedAt: time, country: CountryCode("BY")!, threat: .arrest, severity: severity,
            certainty: .observed, defender: Defender(name: "D"), summary: "s", source: AlertSource(organisation: "o")))
    }

    /// The ids of `stored`'s digest deliveries, by "subscriber/channel".
    static func digestIDs(_ stored: StoredAlert) -> [String: String] {
        var ids: [String: String] = [:]
        for delivery in Router.route(stored, index: desks) {
            guard case .digest = delivery.followUp else { continue }
            ids["\(delivery.subscriberID)/\(delivery.channelID)"] = DeliveryID.make(
                alertID: delivery.alertID, subscriberID: delivery.subscriberID, channelID: delivery.channelID, followUp: delivery.followUp?.rawValue)
        }
        return ids
    }

    @Test func twoAlertsOfOneWindowNameTheSameDigest() {
        let morning = Self.digestIDs(Self.alert(.low, at: "2026-12-07T09:00:00Z"))
        let evening = Self.digestIDs(Self.alert(.medium, at: "2026-12-08T07:59:59Z"))
        #expect(morning.count == 4)
        #expect(morning == evening)
        #expect(morning.values.allSatisfy { $0.hasPrefix("dlv_digest_") && $0.count == "dlv_digest_".count + 24 })
    }

    @Test func windowsChannelsAndSubscribersNameDifferentDigests() {
        let today = Self.digestIDs(Self.alert(.low, at: "2026-12-07T09:00:00Z"))
        let tomorrow = Self.digestIDs(Self.alert(.low, at: "2026-12-08T08:00:00Z"))
        // Four (subscriber, channel) pairs, four different ids, none shared across the two windows.
        #expect(Set(today.values).count == 4)
        #expect(Set(today.values).isDisjoint(with: tomorrow.values))
        #expect(Set(today.keys) == Set(tomorrow.keys))
    }

    @Test func aGatheredAlertHasAnIdOfItsOwn() {
        let stored = Self.alert(.low, at: "2026-12-07T09:00:00Z")
        let deliveries = Router.route(stored, index: Self.desks).filter { $0.subscriberID == "desk-a" && $0.channelID == "desk-a-hook" }
        let ids = deliveries.map { DeliveryID.make(alertID: $0.alertID, subscriberID: $0.subscriberID, channelID: $0.channelID, followUp: $0.followUp?.rawValue) }
        #expect(ids.count == 2 && Set(ids).count == 2)
        // Neither the digest's nor the alert's own first-sending id.
        let own = DeliveryID.make(alertID: stored.alert.id, subscriberID: "desk-a", channelID: "desk-a-hook")
        #expect(!ids.contains(own))
        #expect(ids[0].hasPrefix("dlv_" + stored.alert.id.lowercased()))
        #expect(ids[1].hasPrefix("dlv_digest_"))
    }
}
