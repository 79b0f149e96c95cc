import Foundation
import Testing
import VigilCore
import VigilObservability
import VigilTestSupport
@testable import VigilStore

/// Routing schedules follow-ups (issue 19) from routing views, on the embedded log and the
/// in-memory double: the views carry what `FollowUpSchedule` and the workers' checks read
/// (the filing organisation, case status, next event, handling without its note), and
/// `BatchRouting` appends each alert's follow-ups after its first sendings.
@Suite(.timeLimit(.minutes(1))) struct FollowUpRoutingTests {
    static let receivedAt = Timestamp(milliseconds: 1_795_338_843_120)

    func subscriber(
        _ id: String, organisation: String = "be-fps", kind: SubscriberKind = .diplomaticDesk, escalation: EscalationPolicy? = nil,
        reports: Bool = false, countries: Set<String> = ["BY"]
    ) -> Subscriber {
        Subscriber(
            id: id, name: id, kind: kind, organisation: organisation, contact: "\(id)@example.org", clearance: .restricted, language: "en",
            channels: [Channel(id: "chn_\(id)", type: .webhook, url: "https://hooks.example.org/\(id)")],
            subscriptions: countries.isEmpty ? [] : [Subscription(countries: Set(countries.map { CountryCode($0)! }), minSeverity: .low)],
            escalation: escalation, reports: reports)
    }

    func caseAlert(nextEventAt: Timestamp) -> Alert {
        var alert = makeAlert(at: Self.receivedAt.milliseconds, caseID: "case-1")
        alert.source = AlertSource(organisation: "partner")
        alert.caseStatus = .detained
        alert.nextEvent = CaseEvent(type: .hearing, at: nextEventAt, place: "Minsk City Court, room 4")
        alert.handling = HandlingInstructions(noPublicStatement: true, excludeKinds: [.ngo], excludeSubscribers: ["sub_x"], note: "Family asks for discretion")
        return alert
    }

    @Test(arguments: StoreKind.allCases)
    func routingViewsCarryCaseStatusNextEventAndHandlingWithoutFreeText(kind: StoreKind) async throws {
        let log = try kind.makeLog()
        let eventAt = Timestamp(milliseconds: Self.receivedAt.milliseconds + 5 * 86_400_000)
        let alert = caseAlert(nextEventAt: eventAt)
        let plain = makeAlert()
        _ = try await log.appended(alert).get()
        _ = try await log.appended(plain).get()
        let views = try log.routingViews(matching: AlertQuery())
        let view = try #require(views.first { $0.alert.id == alert.id }).alert
        #expect(view.source.organisation == "partner" && view.caseStatus == .detained)
        #expect(view.nextEvent == CaseEvent(type: .hearing, at: eventAt), "type and time, not the place")
        #expect(view.handling == HandlingInstructions(noPublicStatement: true, excludeKinds: [.ngo], excludeSubscribers: ["sub_x"]), "no note")
        #expect(view.defender.name.isEmpty && view.summary.isEmpty)
        let other = try #require(views.first { $0.alert.id == plain.id }).alert
        #expect(other.caseStatus == nil && other.nextEvent == nil && other.handling == nil && other.source.organisation == "partner")
    }

    @Test(arguments: StoreKind.allCases)
    func batchRoutingAppendsEachAlertsFollowUps(kind: StoreKind) async throws {
        let log = try kind.makeLog()
        let queue = try kind.makeQueue()
        let subscribers = SubscriberRegistry(database: try Database(path: temporaryDatabasePath()), seal: SecretSeal(masterKey: testMasterKey))
        try subscribers.saveAll([
            subscriber("sub_desk", escalation: EscalationPolicy(minSeverity: .high, afterSeconds: 3600, to: ["sub_backup"], remindEverySeconds: 7200, maxReminders: 2)),
            subscriber("sub_backup", countries: []),
            subscriber("sub_reports", organisation: "partner", kind: .other, reports: true, countries: []),
            subscriber("sub_ngo", kind: .ngo),
        ])
        // The next event is ten days ahead of now, so its reminder (a day before) is still to come.
        let eventAt = Timestamp(milliseconds: Timestamp.now().milliseconds + 10 * 86_400_000)
        let alert = caseAlert(nextEventAt: eventAt)
        _ = try await log.appended(alert).get()
        let routing = BatchRouting(log: log, recipients: queue, subscribers: subscribers, metrics: Metrics(), eventReminderSeconds: 86_400)
        let deliveries = try routing.deliveries(for: try log.routingViews(matching: AlertQuery()))

        #expect(deliveries.prefix(2).map(\.subscriberID).sorted() == ["sub_desk", "sub_ngo"] && deliveries.prefix(2).allSatisfy { $0.followUp == nil })
        #expect(deliveries.first { $0.subscriberID == "sub_ngo" }?.initialState == .skipped, "excluded by the filer")
        let followUps = Dictionary(uniqueKeysWithValues: deliveries.compactMap { d in d.followUp.map { ($0, d) } })
        let escalationDue = Timestamp(milliseconds: Self.receivedAt.milliseconds + 3_600_000)
        #expect(followUps[.escalation(from: "sub_desk")]?.subscriberID == "sub_backup" && followUps[.escalation(from: "sub_desk")]?.dueAt == escalationDue)
        #expect(followUps[.reminder(1)]?.dueAt == escalationDue && followUps[.reminder(2)]?.dueAt == Timestamp(milliseconds: escalationDue.milliseconds + 7_200_000))
        #expect(followUps[.escalated(from: "sub_desk")]?.subscriberID == "sub_reports", "the filing organisation's reports desk, read from the view")
        #expect(followUps[.escalated(from: "sub_desk")]?.dueAt == escalationDue)
        #expect(followUps[.caseReminder(eventAt: eventAt)]?.dueAt == Timestamp(milliseconds: eventAt.milliseconds - 86_400_000))
        #expect(followUps[.caseReminder(eventAt: eventAt)]?.subscriberID == "sub_desk", "only to those who were sent the alert")
        #expect(deliveries.count == 2 + 5)

        // Recorded, they wait for their due times; recording the routing again changes nothing.
        try queue.recordRouting(deliveries, through: 1, consumer: "router")
        try queue.recordRouting(deliveries, through: 1, consumer: "router")
        let recorded = try queue.deliveries(ofAlert: alert.id)
        #expect(recorded.count == 7 && recorded.filter { $0.followUp != nil }.allSatisfy { $0.state == .pending && $0.reason == .followUp })
        #expect(recorded.first { $0.followUp == .escalation(from: "sub_desk") }?.nextAttemptAt == escalationDue)
    }
}
