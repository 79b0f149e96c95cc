import Testing
import VigilCore
@testable import VigilAPI

/// A subscriber's digest survives the console's edit path (issue 21): `SubscriberEditing.body(of:)`
/// writes it, and the body validates back to the same subscriber.
@Suite struct DigestEditingTests {
    static let subscriber = Subscriber(
        id: "sub_digest", name: "Belarus desk", kind: .diplomaticDesk, organisation: "FPS Foreign Affairs", contact: "desk@example.org",
        clearance: .restricted, language: "nl",
        channels: [Channel(id: "chn_hook", type: .webhook, url: "https://desk.example.org/hooks"), Channel(id: "chn_mail", type: .email, address: "desk@example.org")],
        subscriptions: [
            Subscription(
                countries: [CountryCode("BY")!], minSeverity: .low,
                digest: DigestSchedule(below: .high, every: .days(7), at: TimeOfDay(hour: 7, minute: 5), timezone: "Europe/Brussels")),
            Subscription(
                countries: [], allCountries: true, minSeverity: .medium, threats: [.arrest],
                digest: DigestSchedule(below: .high, every: .seconds(5400))),
            Subscription(countries: [CountryCode("UA")!], minSeverity: .high),
        ])

    @Test func theBodyCarriesEachDigest() throws {
        guard case .object(let fields) = SubscriberEditing.body(of: Self.subscriber), case .array(let subscriptions)? = fields["subscriptions"] else {
            Issue.record("no subscriptions in the body")
            return
        }
        let digests: [JSONValue?] = subscriptions.map { if case .object(let s) = $0 { s["digest"] } else { nil } }
        #expect(digests == [
            .object(["below": .string("high"), "every": .string("P7D"), "at": .string("07:05"), "timezone": .string("Europe/Brussels")]),
            .object(["below": .string("high"), "every": .string("PT1H30M"), "at": .string("00:00"), "timezone": .string("UTC")]),
            nil,
        ])
    }

    @Test func theBodyValidatesBackToTheSameSubscriber() throws {
        let body = SubscriberEditing.body(of: Self.subscriber)
        // Channels named in the body are kept by id; a new one would get "chn_new".
        let again = try SubscriberSubmission(body: body).validate(id: Self.subscriber.id, existingChannels: ["chn_hook", "chn_mail"]) { "chn_new" }
        #expect(again == Self.subscriber)
        #expect(again.subscriptions.map(\.digest) == Self.subscriber.subscriptions.map(\.digest))
    }
}
