import Testing
@testable import VigilCore

func subscriber(_ id: String, clearance: Confidentiality = .public, channels: Int = 1, _ subscriptions: [Subscription]) -> Subscriber {
    Subscriber(
        id: id, name: id, kind: .diplomaticDesk, organisation: "org", contact: "desk@example.org", clearance: clearance, language: "en",
        channels: (0..<channels).map { Channel(id: "\(id)-c\($0)", type: $0 == 0 ? .webhook : .email, url: $0 == 0 ? "https://x.example/h" : nil, address: $0 == 0 ? nil : "d@example.org") },
        subscriptions: subscriptions)
}

func sub(_ countries: [String], _ min: Severity, _ threats: [Threat]? = nil) -> Subscription {
    countries == ["*"]
        ? Subscription(countries: [], allCountries: true, minSeverity: min, threats: threats.map(Set.init))
        : Subscription(countries: Set(countries.map { CountryCode($0)! }), minSeverity: min, threats: threats.map(Set.init))
}

func stored(_ country: String, _ severity: Severity, _ threat: Threat, kind: AlertKind = .alert, status: AlertStatus = .actual, caseID: String? = nil, offset: LogOffset = 1) -> StoredAlert {
    let id = ULID().description
    return StoredAlert(offset: offset, alert: Alert(
        id: id, caseID: caseID, kind: kind, status: status, receivedAt: .now(), country: CountryCode(country)!, threat: threat,
        severity: severity, certainty: .observed, defender: Defender(name: "D"), summary: "s", source: AlertSource(organisation: "o")))
}

@Suite struct SubscriptionMatchingTests {
    @Test(arguments: [
        // (subscription, alert country, severity, threat, matches)
        (sub(["BY"], .high), "BY", Severity.critical, Threat.arrest, true),
        (sub(["BY"], .high), "BY", .high, .arrest, true),
        (sub(["BY"], .high), "BY", .medium, .arrest, false),
        (sub(["BY"], .low), "CO", .critical, .killing, false),
        (sub(["BY", "CO"], .low), "CO", .low, .killing, true),
        (sub(["*"], .critical), "PH", .critical, .disappearance, true),
        (sub(["*"], .critical), "PH", .high, .disappearance, false),
        (sub(["GT"], .low, [.arrest, .detention]), "GT", .low, .detention, true),
        (sub(["GT"], .low, [.arrest, .detention]), "GT", .critical, .killing, false),
        (sub(["*"], .medium, [.dismissal]), "BE", .medium, .dismissal, true),
    ] as [(Subscription, String, Severity, Threat, Bool)])
    func matches(subscription: Subscription, country: String, severity: Severity, threat: Threat, expected: Bool) {
        #expect(subscription.matches(stored(country, severity, threat).alert) == expected)
    }
}

@Suite struct RouterTests {
    let index = SubscriptionIndex([
        subscriber("by-desk", clearance: .restricted, channels: 2, [sub(["BY"], .high, [.arrest, .detention])]),
        subscriber("eu-delegation-co", [sub(["CO"], .medium)]),
        subscriber("union-ngo", clearance: .confidential, [sub(["*"], .critical), sub(["BE"], .low, [.dismissal])]),
    ])

    @Test func makesOneDeliveryPerSubscriberAndChannel() {
        let deliveries = Router.route(stored("BY", .critical, .arrest), index: index)
        #expect(deliveries.map(\.subscriberID) == ["by-desk", "by-desk", "union-ngo"])
        #expect(deliveries.map(\.channelID) == ["by-desk-c0", "by-desk-c1", "union-ngo-c0"])
        #expect(deliveries.allSatisfy { $0.initialState == .pending && $0.reason == .matched })
    }

    @Test func recordsTheClearanceAndSeverity() {
        let deliveries = Router.route(stored("BY", .critical, .arrest), index: index)
        #expect(deliveries.map(\.clearance) == [.restricted, .restricted, .confidential])
        #expect(deliveries.allSatisfy { $0.severity == .critical })
    }

    @Test func aSubscriberMatchingTwiceIsSentOnce() {
        let deliveries = Router.route(stored("BE", .critical, .dismissal), index: index)
        #expect(deliveries.map(\.subscriberID) == ["union-ngo"])
    }

    @Test func matchesNobodyWhenNothingFits() {
        #expect(Router.route(stored("BY", .medium, .arrest), index: index).isEmpty)
        #expect(Router.route(stored("PH", .high, .killing), index: index).isEmpty)
    }

    @Test func testAlertsAreRecordedButSkipped() {
        let deliveries = Router.route(stored("CO", .high, .threat, status: .test), index: index)
        #expect(deliveries.map(\.subscriberID) == ["eu-delegation-co"])
        #expect(deliveries.allSatisfy { $0.initialState == .skipped })
    }

    @Test func exercisesAreDelivered() {
        #expect(Router.route(stored("CO", .high, .threat, status: .exercise), index: index).allSatisfy { $0.initialState == .pending })
    }

    @Test func updatesReachEveryEarlierRecipientEvenAfterTheirSubscriptionChanged() {
        // by-desk got the first alert; now the update is only "medium", below its threshold.
        let update = stored("BY", .medium, .detention, kind: .update, caseID: ULID().description)
        let deliveries = Router.route(update, index: index, caseRecipients: ["by-desk", "gone-subscriber"])
        #expect(deliveries.map(\.subscriberID) == ["by-desk", "by-desk"])
        #expect(deliveries.allSatisfy { $0.reason == .followsCase })
        // A first alert ignores case recipients.
        #expect(Router.route(stored("BY", .medium, .detention), index: index, caseRecipients: ["by-desk"]).isEmpty)
    }

    @Test func cancelsReachMatchersAndEarlierRecipientsOnce() {
        let cancel = stored("BY", .critical, .arrest, kind: .cancel, caseID: ULID().description)
        let deliveries = Router.route(cancel, index: index, caseRecipients: ["by-desk", "eu-delegation-co"])
        #expect(deliveries.map { "\($0.subscriberID):\($0.reason.rawValue)" } == [
            "by-desk:matched", "by-desk:matched", "union-ngo:matched", "eu-delegation-co:follows_case",
        ])
    }
}

/// The index must give exactly what checking every subscription of every subscriber gives.
@Suite struct IndexedRoutingPropertyTests {
    @Test func indexedRoutingEqualsBruteForce() {
        var generator = SystemRandomNumberGenerator()
        let countries = CountryCode.all
        for _ in 0..<1000 {  // 1,000 random subscriber sets × 20 alerts
            let subscribers = (0..<Int.random(in: 0...60, using: &generator)).map { n in
                subscriber("s\(n)", channels: Int.random(in: 1...2, using: &generator), (0..<Int.random(in: 1...3, using: &generator)).map { _ in
                    let everywhere = Int.random(in: 0..<10, using: &generator) == 0
                    let picked = Set((0..<Int.random(in: 1...4, using: &generator)).map { _ in countries.randomElement(using: &generator)! })
                    let threats: Set<Threat>? = Bool.random(using: &generator) ? Set((0..<Int.random(in: 1...3, using: &generator)).map { _ in Threat.allCases.randomElement(using: &generator)! }) : nil
                    return Subscription(countries: picked, allCountries: everywhere, minSeverity: Severity.allCases.randomElement(using: &generator)!, threats: threats)
                })
            }
            let index = SubscriptionIndex(subscribers)
            for _ in 0..<20 {
                // Bias countries towards those subscribed so most alerts match someone.
                let country = Bool.random(using: &generator) ? (subscribers.randomElement(using: &generator)?.subscriptions.first?.countries.first ?? countries.randomElement(using: &generator)!) : countries.randomElement(using: &generator)!
                let alert = stored(country.code, Severity.allCases.randomElement(using: &generator)!, Threat.allCases.randomElement(using: &generator)!)
                let indexed = Router.route(alert, index: index).map { "\($0.subscriberID)/\($0.channelID)" }
                let bruteForce = subscribers.filter { $0.follows(alert.alert) }.flatMap { s in s.channels.map { "\(s.id)/\($0.id)" } }
                #expect(indexed.sorted() == bruteForce.sorted())
                // A replay to everyone sends what routing sends; counting agrees with making.
                let everyone = Router.replay(alert, index: index, target: ReplayTarget())
                #expect(everyone.map { "\($0.subscriberID)/\($0.channelID)" }.sorted() == bruteForce.sorted() && everyone.allSatisfy { $0.reason == .replay })
                #expect(Router.replayCount(alert, index: index, target: ReplayTarget()) == everyone.count)
                if let one = subscribers.randomElement(using: &generator), let channel = one.channels.last {
                    let narrowed = Router.replay(alert, index: index, target: ReplayTarget(subscriberID: one.id, channelID: channel.id))
                    #expect(narrowed.map(\.channelID) == (one.follows(alert.alert) ? [channel.id] : []))
                    #expect(Router.replayCount(alert, index: index, target: ReplayTarget(subscriberID: one.id, channelID: channel.id)) == narrowed.count)
                }
            }
        }
    }
}

@Suite struct SubscriberSubmissionTests {
    func body(_ changes: [String: JSONValue?] = [:]) -> JSONValue {
        var fields: [String: JSONValue] = [
            "name": .string("Belarus desk"), "kind": .string("diplomatic_desk"), "organisation": .string("FPS Foreign Affairs"),
            "contact": .string("desk@example.org"), "clearance": .string("restricted"), "language": .string("nl"),
            "channels": .array([.object(["type": .string("webhook"), "url": .string("https://desk.example.org/hooks")]),
                                .object(["type": .string("email"), "address": .string("desk@example.org")])]),
            "subscriptions": .array([.object(["countries": .array([.string("BY")]), "min_severity": .string("high"), "threats": .array([.string("arrest")])])]),
        ]
        for (k, v) in changes { fields[k] = v }
        return .object(fields)
    }

    func fields(_ body: JSONValue) -> [String] {
        var n = 0
        do {
            _ = try SubscriberSubmission(body: body).validate(id: "sub_1") { n += 1; return "chn_\(n)" }
            return []
        } catch { return error.fields.map(\.field) }
    }

    @Test func acceptsTheDesignsExample() throws {
        var n = 0
        let s = try SubscriberSubmission(body: body()).validate(id: "sub_1") { n += 1; return "chn_\(n)" }
        #expect(s.channels.map(\.id) == ["chn_1", "chn_2"] && s.clearance == .restricted && s.language == "nl")
        #expect(s.subscriptions == [Subscription(countries: [CountryCode("BY")!], minSeverity: .high, threats: [.arrest])])
    }

    @Test(arguments: [
        (["kind": JSONValue.string("desk")], "kind"),
        (["contact": .string("not an address")], "contact"),
        (["channels": .array([])], "channels"),
        (["channels": .array([.object(["type": .string("webhook"), "url": .string("ftp://x")])])], "channels[0].url"),
        (["channels": .array([.object(["type": .string("email"), "address": .string("nobody")])])], "channels[0].address"),
        (["channels": .array([.object(["type": .string("pager")])])], "channels[0].type"),
        (["channels": .array([.object(["type": .string("webhook"), "url": .string("https://a.example/h"), "id": .string("chn_other")])])], "channels[0].id"),
        (["subscriptions": .array([.object(["countries": .array([.string("XX")]), "min_severity": .string("low")])])], "subscriptions[0].countries[0]"),
        (["subscriptions": .array([.object(["countries": .array([.string("*"), .string("BY")]), "min_severity": .string("low")])])], "subscriptions[0].countries"),
        (["subscriptions": .array([.object(["countries": .array([.string("BY")])])])], "subscriptions[0].min_severity"),
        (["subscriptions": .array([.object(["countries": .array([.string("BY")]), "min_severity": .string("low"), "threats": .array([])])])], "subscriptions[0].threats"),
        (["subscriptions": .array([])], "subscriptions"),
        (["clearance": .string("top-secret")], "clearance"),
        (["email": .string("x")], "email"),
    ] as [([String: JSONValue?], String)])
    func namesTheOffendingField(change: [String: JSONValue?], field: String) {
        #expect(fields(body(change)) == [field])
    }

    @Test func existingChannelsKeepTheirIDs() throws {
        let changed = body(["channels": .array([.object(["id": .string("chn_keep"), "type": .string("email"), "address": .string("a@example.org")])])])
        let s = try SubscriberSubmission(body: changed).validate(id: "sub_1", existingChannels: ["chn_keep"]) { "chn_new" }
        #expect(s.channels.map(\.id) == ["chn_keep"])
    }
}
