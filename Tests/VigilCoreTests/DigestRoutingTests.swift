import Testing
@testable import VigilCore

/// An instant written in RFC 3339, for fixed-clock routing.
private func instant(_ text: String) -> Timestamp {
    guard let time = Timestamp(rfc3339: text) else { fatalError("bad test instant \(text)") }
    return time
}

/// A Belarus alert of `severity` received at `time`.
private func digestAlert(
    _ severity: Severity, at time: Timestamp = instant("2026-12-07T12:00:00Z"), kind: AlertKind = .alert, status: AlertStatus = .actual,
    caseID: String? = nil, handling: HandlingInstructions? = nil, country: String = "BY"
) -> StoredAlert {
    StoredAlert(offset: 7, alert: Alert(
        id: ULID(time: time).description, caseID: caseID, kind: kind, status: status, receivedAt: time, country: CountryCode(country)!,
        threat: .judicialHarassment, severity: severity, certainty: .likely, defender: Defender(name: "Ales B."), summary: "summoned again",
        source: AlertSource(organisation: "partner"), handling: handling))
}

/// A desk with a webhook and an email channel and `subscriptions`.
private func desk(_ id: String, _ subscriptions: [Subscription], escalation: EscalationPolicy? = nil) -> Subscriber {
    Subscriber(
        id: id, name: id, kind: .diplomaticDesk, organisation: "org", contact: "desk@example.org", clearance: .restricted, language: "en",
        channels: [Channel(id: "\(id)-hook", type: .webhook, url: "https://desk.example/h"), Channel(id: "\(id)-mail", type: .email, address: "d@example.org")],
        subscriptions: subscriptions, escalation: escalation)
}

/// Daily at 08:00 UTC, gathering below `below`.
private func daily(below: Severity = .high) -> DigestSchedule {
    DigestSchedule(below: below, every: .days(1), at: TimeOfDay(hour: 8, minute: 0), timezone: "UTC")
}

@Suite struct DigestRoutingTests {
    /// Belarus from `low`, gathered below `high` into a daily digest.
    let gathering = desk("gathering", [Subscription(countries: [CountryCode("BY")!], minSeverity: .low, digest: daily())])
    /// Belarus from `low`, each alert at once.
    let direct = desk("direct", [Subscription(countries: [CountryCode("BY")!], minSeverity: .low)])
    /// Belarus gathered below `high`, and every country from `medium` at once.
    let mixed = desk(
        "mixed", [
            Subscription(countries: [CountryCode("BY")!], minSeverity: .low, digest: daily()),
            Subscription(countries: [], allCountries: true, minSeverity: .medium),
        ])

    let window = DigestWindow(start: instant("2026-12-07T08:00:00Z"), end: instant("2026-12-08T08:00:00Z"))

    func index(_ subscribers: Subscriber...) -> SubscriptionIndex { SubscriptionIndex(subscribers) }

    @Test(arguments: [Severity.low, .medium])
    func lowerSeveritiesAreGatheredWithTheirWindowsDigest(severity: Severity) {
        let stored = digestAlert(severity)
        let deliveries = Router.route(stored, index: index(gathering, direct))
        let gathered = deliveries.filter { $0.subscriberID == "gathering" }
        // Per channel: the alert gathered (due only as the fallback) and the window's digest.
        #expect(gathered.map(\.channelID) == ["gathering-hook", "gathering-hook", "gathering-mail", "gathering-mail"])
        #expect(gathered.map(\.followUp) == [.gathered(window: window.start), .digest(window), .gathered(window: window.start), .digest(window)])
        #expect(gathered.map(\.reason) == [.matched, .digest, .matched, .digest])
        #expect(gathered.map(\.dueAt) == [
            instant("2026-12-08T09:00:05Z"), instant("2026-12-08T08:00:05Z"), instant("2026-12-08T09:00:05Z"), instant("2026-12-08T08:00:05Z"),
        ])
        #expect(gathered.allSatisfy { $0.initialState == .pending && $0.alertID == stored.alert.id && $0.severity == severity })
        #expect(gathered.map(\.channelType) == [.webhook, .webhook, .email, .email])
        // Beside it, a subscriber without a digest gets it at once.
        let now = deliveries.filter { $0.subscriberID == "direct" }
        #expect(now.count == 2 && now.allSatisfy { $0.followUp == nil && $0.dueAt == nil && $0.reason == .matched && $0.initialState == .pending })
    }

    @Test(arguments: [Severity.high, .critical])
    func highAndCriticalGoAtOnce(severity: Severity) {
        let deliveries = Router.route(digestAlert(severity), index: index(gathering))
        #expect(deliveries.map(\.channelID) == ["gathering-hook", "gathering-mail"])
        #expect(deliveries.allSatisfy { $0.followUp == nil && $0.dueAt == nil && $0.reason == .matched })
    }

    @Test func belowMediumGathersOnlyLow() {
        let lowOnly = desk("low-only", [Subscription(countries: [CountryCode("BY")!], minSeverity: .low, digest: daily(below: .medium))])
        #expect(Router.route(digestAlert(.low), index: index(lowOnly)).allSatisfy { $0.followUp != nil })
        #expect(Router.route(digestAlert(.medium), index: index(lowOnly)).allSatisfy { $0.followUp == nil })
    }

    @Test func aMatchingSubscriptionWithoutADigestSendsAtOnce() {
        // Medium: both subscriptions match, one gathers and one does not.
        let medium = Router.route(digestAlert(.medium), index: index(mixed))
        #expect(medium.count == 2 && medium.allSatisfy { $0.followUp == nil && $0.dueAt == nil })
        // Low: only the gathering subscription matches.
        let low = Router.route(digestAlert(.low), index: index(mixed))
        #expect(low.map(\.followUp) == [.gathered(window: window.start), .digest(window), .gathered(window: window.start), .digest(window)])
        // Two digests on one subscriber: the alert goes into the first one's window.
        let hourly = DigestSchedule(below: .high, every: .seconds(3600), at: TimeOfDay(hour: 0, minute: 0), timezone: "UTC")
        let twice = desk(
            "twice", [
                Subscription(countries: [CountryCode("BY")!], minSeverity: .low, digest: hourly),
                Subscription(countries: [], allCountries: true, minSeverity: .low, digest: daily()),
            ])
        let hour = DigestWindow(start: instant("2026-12-07T12:00:00Z"), end: instant("2026-12-07T13:00:00Z"))
        #expect(Router.route(digestAlert(.low), index: index(twice)).map(\.followUp) == [.gathered(window: hour.start), .digest(hour), .gathered(window: hour.start), .digest(hour)])
    }

    @Test func aLateRoutingGathersIntoTheWindowOpenNow() {
        let stored = digestAlert(.low)
        // Routed the next morning (a backlog, a restart): the window received in has closed.
        let late = Router.route(stored, index: index(gathering), now: instant("2026-12-08T09:30:00Z"))
        let next = DigestWindow(start: instant("2026-12-08T08:00:00Z"), end: instant("2026-12-09T08:00:00Z"))
        #expect(late.map(\.followUp) == [.gathered(window: next.start), .digest(next), .gathered(window: next.start), .digest(next)])
        #expect(late.map(\.dueAt) == [next.end.adding(milliseconds: 3_605_000), next.end.adding(milliseconds: 5000), next.end.adding(milliseconds: 3_605_000), next.end.adding(milliseconds: 5000)])
        // A clock behind the reception does not put it into an earlier window.
        let early = Router.route(stored, index: index(gathering), now: instant("2026-12-06T09:30:00Z"))
        #expect(early.map(\.followUp) == [.gathered(window: window.start), .digest(window), .gathered(window: window.start), .digest(window)])
        // Within the window, the same as at reception.
        #expect(Router.route(stored, index: index(gathering), now: instant("2026-12-08T07:59:59Z")) == Router.route(stored, index: index(gathering)))
    }

    @Test(arguments: [AlertKind.update, .cancel])
    func followUpsOfACaseReceivedAtOnceGoAtOnce(kind: AlertKind) {
        let update = digestAlert(.low, kind: kind, caseID: "01JCASE0000000000000000000")
        // It received the case at once (a high alert, say): its update goes at once.
        let received = Router.route(update, index: index(gathering), caseRecipients: ["gathering"])
        #expect(received.count == 2 && received.allSatisfy { $0.followUp == nil && $0.dueAt == nil && $0.reason == .matched })
        // It has not: the update is gathered like any low alert.
        let notReceived = Router.route(update, index: index(gathering), caseRecipients: ["direct"])
        #expect(notReceived.map(\.followUp) == [.gathered(window: window.start), .digest(window), .gathered(window: window.start), .digest(window)])
        // A case recipient that no longer matches still gets it, at once.
        let moved = desk("moved", [Subscription(countries: [CountryCode("UA")!], minSeverity: .low, digest: daily())])
        let follows = Router.route(update, index: index(moved), caseRecipients: ["moved"])
        #expect(follows.count == 2 && follows.allSatisfy { $0.followUp == nil && $0.reason == .followsCase })
    }

    @Test func testAlertsAreSkippedNotGathered() {
        let deliveries = Router.route(digestAlert(.low, status: .test), index: index(gathering))
        #expect(deliveries.count == 2)
        #expect(deliveries.allSatisfy { $0.initialState == .skipped && $0.followUp == nil && $0.dueAt == nil })
    }

    @Test func exercisesAreGathered() {
        let deliveries = Router.route(digestAlert(.low, status: .exercise), index: index(gathering))
        #expect(deliveries.map(\.followUp) == [.gathered(window: window.start), .digest(window), .gathered(window: window.start), .digest(window)])
    }

    @Test func aSubscriberTheFilerExcludedIsSkippedNotGathered() {
        let handling = HandlingInstructions(excludeSubscribers: ["gathering"])
        let deliveries = Router.route(digestAlert(.low, handling: handling), index: index(gathering, direct))
        let excluded = deliveries.filter { $0.subscriberID == "gathering" }
        #expect(excluded.count == 2)
        #expect(excluded.allSatisfy { $0.initialState == .skipped && $0.reason == .excludedByFiler && $0.followUp == nil })
        #expect(deliveries.filter { $0.subscriberID == "direct" }.allSatisfy { $0.initialState == .pending })
        // By kind too.
        let byKind = Router.route(digestAlert(.low, handling: HandlingInstructions(excludeKinds: [.diplomaticDesk])), index: index(gathering))
        #expect(byKind.allSatisfy { $0.initialState == .skipped && $0.followUp == nil })
    }

    @Test func aGatheredAlertSchedulesNoEscalationNorReminder() {
        let policy = EscalationPolicy(minSeverity: .low, afterSeconds: 600, to: ["backup"], remindEverySeconds: 300, maxReminders: 2)
        let watched = desk("watched", [Subscription(countries: [CountryCode("BY")!], minSeverity: .low, digest: daily())], escalation: policy)
        let backup = desk("backup", [Subscription(countries: [CountryCode("CO")!], minSeverity: .low)])
        let idx = index(watched, backup)
        func followUps(_ stored: StoredAlert) -> [RoutedDelivery] {
            FollowUpSchedule.followUps(
                of: stored, routed: Router.route(stored, index: idx), index: idx, eventReminderSeconds: 3600, now: stored.alert.receivedAt)
        }
        // Gathered: nobody is waiting for an acknowledgement yet.
        #expect(followUps(digestAlert(.low)).isEmpty)
        #expect(followUps(digestAlert(.medium)).isEmpty)
        // Sent at once: the policy applies (so the empty results above are not for want of one).
        let high = followUps(digestAlert(.high))
        #expect(high.contains { $0.followUp == .escalation(from: "watched") && $0.subscriberID == "backup" })
        #expect(high.filter { $0.followUp == .reminder(1) }.count == 2)
    }

    @Test(arguments: [
        FollowUp.gathered(window: instant("2026-12-07T08:00:00Z")),
        .gathered(window: Timestamp(milliseconds: 0)),
        .gathered(window: Timestamp(milliseconds: -86_400_000)),
        .digest(DigestWindow(start: instant("2026-12-07T08:00:00Z"), end: instant("2026-12-08T08:00:00Z"))),
        .digest(DigestWindow(start: Timestamp(milliseconds: -5), end: Timestamp(milliseconds: 5))),
    ])
    func theStoredFormRoundTrips(followUp: FollowUp) {
        #expect(FollowUp(rawValue: followUp.rawValue) == followUp)
        #expect(followUp.isDigest)
    }

    @Test func theStoredFormsAreWrittenAsDocumented() {
        #expect(FollowUp.gathered(window: Timestamp(milliseconds: 1_796_630_400_000)).rawValue == "gathered:1796630400000")
        #expect(FollowUp.digest(DigestWindow(start: Timestamp(milliseconds: 10), end: Timestamp(milliseconds: 20))).rawValue == "digest:10/20")
        #expect(FollowUp.digest(window).eventType == "alerts.digest")
        #expect(FollowUp.gathered(window: window.start).eventType == nil)
        #expect(!FollowUp.reminder(1).isDigest)
    }

    @Test(arguments: [
        "gathered:", "gathered:x", "gathered:1.5", "gathered:99999999999999999999", "gathered: 5",
        "digest:", "digest:5/3", "digest:5/5", "digest:x/1", "digest:1/x", "digest:1", "digest:1/2/3", "digest:/2", "digest:1/",
        "digest:99999999999999999999/1", "digest:" + String(repeating: "1", count: 40) + "/" + String(repeating: "2", count: 40),
        "digests:1/2", "Digest:1/2",
    ])
    func refusesMalformedStoredForms(raw: String) {
        #expect(FollowUp(rawValue: raw) == nil, "\(raw) should be refused")
    }
}
