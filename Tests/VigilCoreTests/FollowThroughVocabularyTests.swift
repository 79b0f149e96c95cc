import Foundation
import Testing
@testable import VigilCore

/// Issue 19's vocabulary: case status and next event on updates, the filer's handling
/// instructions, escalation policies, and follow-up deliveries.
@Suite struct FollowThroughVocabularyTests {
    @Test func anUpdateCarriesItsCaseStatusAndNextEvent() throws {
        let alert = try validate(validBody([
            "kind": .string("update"), "case_id": .string(ULID(time: now).description), "case_status": .string("on_trial"),
            "next_event": .object(["type": .string("hearing"), "at": .string("2026-12-14T09:00:00Z"), "place": .string("Minsk city court")]),
        ]))
        #expect(alert.caseStatus == .onTrial)
        #expect(alert.nextEvent == CaseEvent(type: .hearing, at: Timestamp(rfc3339: "2026-12-14T09:00:00Z")!, place: "Minsk city court"))
        // The place is free text: sealed with the identity, erased with it.
        #expect(alert.sealedView.nextEvent?.place == RedactionMark.erased)
        #expect(alert.sealedView.restoring(alert.identity) == alert)
    }

    @Test func onlyUpdatesCarryACaseStatus() {
        #expect(throws: ValidationFailure.self) { try validate(validBody(["case_status": .string("released")])) }
        do {
            _ = try validate(validBody([
                "kind": .string("update"), "case_id": .string(ULID(time: now).description), "case_status": .string("free"),
                "next_event": .object(["type": .string("party"), "at": .string("soon")]),
            ]))
            Issue.record("an unknown case status and a malformed next event were accepted")
        } catch {
            #expect(Set(error.fields.map(\.field)) == ["case_status", "next_event.type", "next_event.at"])
        }
    }

    @Test func handlingInstructionsAreReadAndExcludeByIdOrKind() throws {
        let alert = try validate(validBody([
            "handling": .object([
                "no_public_statement": .bool(true), "exclude_kinds": .array([.string("embassy")]),
                "exclude_subscribers": .array([.string("sub_x"), .string("sub_x")]), "note": .string("The family asks for discretion."),
            ])
        ]))
        let handling = try #require(alert.handling)
        #expect(handling.excludeSubscribers == ["sub_x"] && handling.excludeKinds == [.embassy])
        #expect(handling.forbids(.publicStatement) == "no_public_statement")
        #expect(handling.forbids(.demarche) == nil)
        #expect(alert.sealedView.handling?.note == RedactionMark.erased)
        #expect(alert.redacted(for: .public).handling?.note == RedactionMark.redacted)
        #expect(alert.redacted(for: .public).handling?.noPublicStatement == true)

        #expect(throws: ValidationFailure.self) {
            try validate(validBody(["handling": .object(["exclude_kinds": .array([.string("journalists")]), "no_public_statement": .string("yes")])]))
        }
    }

    @Test func theRouterSkipsWhomTheFilerExcludesLiveAndOnReplay() throws {
        func desk(_ id: String, kind: SubscriberKind) -> Subscriber {
            Subscriber(
                id: id, name: id, kind: kind, organisation: "o", contact: "d@example.org", clearance: .restricted, language: "en",
                channels: [Channel(id: "\(id)-hook", type: .webhook, url: "https://desk.example/\(id)")],
                subscriptions: [Subscription(countries: [CountryCode("BY")!], minSeverity: .low)])
        }
        let index = SubscriptionIndex([desk("sub_a", kind: .diplomaticDesk), desk("sub_b", kind: .embassy), desk("sub_c", kind: .ngo)])
        var alert = try validate(validBody())
        alert.handling = HandlingInstructions(excludeKinds: [.embassy], excludeSubscribers: ["sub_c"])
        let routed = Router.route(StoredAlert(offset: 1, alert: alert), index: index)
        #expect(routed.map { "\($0.subscriberID):\($0.reason.rawValue):\($0.initialState.rawValue)" }.sorted() == [
            "sub_a:matched:pending", "sub_b:excluded_by_filer:skipped", "sub_c:excluded_by_filer:skipped",
        ])
        let replayed = Router.replay(StoredAlert(offset: 1, alert: alert), index: index, target: ReplayTarget())
        #expect(replayed.map(\.subscriberID) == ["sub_a"])
        #expect(Router.replayCount(StoredAlert(offset: 1, alert: alert), index: index, target: ReplayTarget()) == 1)
    }

    @Test func escalationPoliciesAreValidated() throws {
        func subscriber(_ escalation: JSONValue) throws(ValidationFailure) -> Subscriber {
            try SubscriberSubmission(body: .object([
                "name": .string("Belarus desk"), "kind": .string("diplomatic_desk"), "organisation": .string("MFA"),
                "contact": .string("desk@example.org"),
                "channels": .array([.object(["type": .string("webhook"), "url": .string("https://desk.example/hook")])]),
                "subscriptions": .array([.object(["countries": .array([.string("BY")]), "min_severity": .string("high")])]),
                "escalation": escalation, "reports": .bool(true), "ack_visibility": .string("recipients"),
            ])).validate(id: "sub_me") { "chn_1" }
        }
        let made = try subscriber(.object([
            "min_severity": .string("critical"), "after_seconds": .number(1800), "to": .array([.string("sub_backup")]),
            "remind_every_seconds": .number(900), "max_reminders": .number(3),
        ]))
        #expect(made.escalation == EscalationPolicy(minSeverity: .critical, afterSeconds: 1800, to: ["sub_backup"], remindEverySeconds: 900, maxReminders: 3))
        #expect(made.reports && made.ackVisibility == .recipients)
        for bad: JSONValue in [
            .object(["min_severity": .string("critical"), "after_seconds": .number(0), "to": .array([.string("sub_b")])]),
            .object(["min_severity": .string("critical"), "after_seconds": .number(1e30), "to": .array([.string("sub_b")])]),
            .object(["min_severity": .string("critical"), "after_seconds": .number(60), "to": .array([.string("sub_me")])]),
            .object(["min_severity": .string("critical"), "after_seconds": .number(60), "to": .array([])]),
            .object(["min_severity": .string("critical"), "after_seconds": .number(60), "remind_every_seconds": .number(60)]),
        ] {
            #expect(throws: ValidationFailure.self) { try subscriber(bad) }
        }
        // Stored before issue 19: no escalation, no reports, filer-only visibility.
        let old = #"{"id":"sub_1","name":"n","kind":"ngo","organisation":"o","contact":"c@example.org","clearance":"public","language":"en","channels":[],"subscriptions":[]}"#
        let decoded = try VigilJSON.decode(Subscriber.self, from: Data(old.utf8))
        #expect(decoded.escalation == nil && !decoded.reports && decoded.ackVisibility == .filer)
    }

    @Test func followUpsRoundTripAndRefuseWhatTheyDoNotKnow() {
        for followUp: FollowUp in [.escalation(from: "sub_a"), .reminder(3), .caseReminder(eventAt: Timestamp(milliseconds: 42)), .acknowledged(by: "sub_b"), .escalated(from: "sub_c")] {
            #expect(FollowUp(rawValue: followUp.rawValue) == followUp)
        }
        for text in ["", "reminder:0", "reminder:99999999999999999999", "case_reminder:x", "other:1", "escalation:", "reminder"] {
            #expect(FollowUp(rawValue: text) == nil)
        }
    }
}

/// What routing schedules beyond an alert's first sendings.
@Suite struct FollowUpScheduleTests {
    static func subscriber(
        _ id: String, organisation: String = "mfa", escalation: EscalationPolicy? = nil, reports: Bool = false, kind: SubscriberKind = .diplomaticDesk
    ) -> Subscriber {
        Subscriber(
            id: id, name: id, kind: kind, organisation: organisation, contact: "d@example.org", clearance: .restricted, language: "en",
            channels: [Channel(id: "\(id)-hook", type: .webhook, url: "https://desk.example/\(id)")],
            subscriptions: [Subscription(countries: [CountryCode("BY")!], minSeverity: .low)], escalation: escalation, reports: reports)
    }

    @Test func anUnansweredCriticalAlertEscalatesRemindsAndReports() throws {
        let policy = EscalationPolicy(minSeverity: .critical, afterSeconds: 60, to: ["sub_backup", "sub_gone"], remindEverySeconds: 30, maxReminders: 2)
        let index = SubscriptionIndex([
            Self.subscriber("sub_desk", escalation: policy), Self.subscriber("sub_backup", organisation: "eu"),
            Self.subscriber("sub_reports", organisation: "partner-org", reports: true),
        ])
        let alert = try validate(validBody())
        let stored = StoredAlert(offset: 7, alert: alert)
        let routed = Router.route(stored, index: index).filter { $0.subscriberID == "sub_desk" }
        let followUps = FollowUpSchedule.followUps(of: stored, routed: routed, index: index, eventReminderSeconds: 86_400, now: alert.receivedAt)
        let due = alert.receivedAt.milliseconds + 60_000
        #expect(followUps.map { "\($0.subscriberID) \($0.followUp!.rawValue) +\($0.dueAt!.milliseconds - due)" } == [
            "sub_backup escalation:sub_desk +0", "sub_reports escalated:sub_desk +0", "sub_desk reminder:1 +0", "sub_desk reminder:2 +30000",
        ])
        #expect(followUps.allSatisfy { $0.reason == .followUp && $0.initialState == .pending && $0.alertOffset == 7 })

        // Below the policy's severity, or a cancel: nothing.
        var high = alert
        high.severity = .high
        #expect(FollowUpSchedule.followUps(of: StoredAlert(offset: 8, alert: high), routed: routed, index: index, eventReminderSeconds: 0, now: .now()).isEmpty)
        // An excluded backup is not escalated to.
        var excluding = alert
        excluding.handling = HandlingInstructions(excludeSubscribers: ["sub_backup"])
        #expect(!FollowUpSchedule.followUps(of: StoredAlert(offset: 9, alert: excluding), routed: routed, index: index, eventReminderSeconds: 0, now: .now())
            .contains { $0.subscriberID == "sub_backup" })
    }

    @Test func aCasesNextEventIsRemindedOnceBeforehand() throws {
        let index = SubscriptionIndex([Self.subscriber("sub_desk")])
        var update = try validate(validBody(["kind": .string("update"), "case_id": .string(ULID(time: now).description)]))
        update.nextEvent = CaseEvent(type: .hearing, at: Timestamp(milliseconds: now.milliseconds + 48 * 3_600_000))
        let stored = StoredAlert(offset: 3, alert: update)
        let routed = Router.route(stored, index: index)
        let followUps = FollowUpSchedule.followUps(of: stored, routed: routed, index: index, eventReminderSeconds: 24 * 3600, now: now)
        #expect(followUps.map { "\($0.subscriberID) \($0.followUp!.eventType ?? "") \($0.dueAt!.milliseconds - now.milliseconds)" } == ["sub_desk case.reminder 86400000"])
        // An event already past is not reminded; one closer than the lead is reminded at once.
        update.nextEvent = CaseEvent(type: .hearing, at: Timestamp(milliseconds: now.milliseconds + 3_600_000))
        let soon = FollowUpSchedule.followUps(of: StoredAlert(offset: 4, alert: update), routed: routed, index: index, eventReminderSeconds: 24 * 3600, now: now)
        #expect(soon.map(\.dueAt) == [now])
        update.nextEvent = CaseEvent(type: .hearing, at: Timestamp(milliseconds: now.milliseconds - 1))
        #expect(FollowUpSchedule.followUps(of: StoredAlert(offset: 5, alert: update), routed: routed, index: index, eventReminderSeconds: 0, now: now).isEmpty)
    }
}
