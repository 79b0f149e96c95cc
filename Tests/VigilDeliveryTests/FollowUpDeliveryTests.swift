import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilDelivery

/// Issue 19 in the workers: whether a follow-up (or a first sending) is still wanted when it
/// comes due, and what escalations, reminders and reports look like on the wire.
@Suite struct FollowUpDeliveryTests {
    /// Acknowledgements in memory.
    final class Ledger: AcknowledgementLedger {
        private let acks: Mutex<[Acknowledgement]>
        init(_ acks: [Acknowledgement] = []) { self.acks = Mutex(acks) }

        func acknowledge(_ ack: Acknowledgement) throws -> Bool {
            acks.withLock { acks in
                let first = !acks.contains { $0.alertID == ack.alertID && $0.subscriberID == ack.subscriberID }
                acks.removeAll { $0.alertID == ack.alertID && $0.subscriberID == ack.subscriberID }
                acks.append(ack)
                return first
            }
        }
        func acknowledgements(ofAlert id: String) throws -> [Acknowledgement] { acks.withLock { $0.filter { $0.alertID == id } } }
        func isAcknowledged(_ alertID: String, byAnyOf subscriberIDs: Set<String>) throws -> Bool {
            acks.withLock { $0.contains { $0.alertID == alertID && subscriberIDs.contains($0.subscriberID) } }
        }
    }

    /// A log of fixed alerts whose routing views are the whole alerts (as they carry
    /// case_status and next_event once the storage helper's views do).
    final class CaseLog: AlertLog {
        let stored: [StoredAlert]
        init(_ alerts: [Alert]) { stored = alerts.enumerated().map { StoredAlert(offset: LogOffset($0.offset + 1), alert: $0.element) } }

        func append(_ alert: Alert, idempotency: IdempotencyClaim?, completion: @escaping @Sendable (Result<AppendReceipt, AlertLogError>) -> Void) {
            completion(.failure(.closed))
        }
        func alert(id: String) throws -> StoredAlert? { stored.first { $0.alert.id == id } }
        func alerts(matching query: AlertQuery) throws -> [StoredAlert] { try routingViews(matching: query) }
        func routingViews(matching query: AlertQuery) throws -> [StoredAlert] {
            Array(stored.filter {
                (query.caseID == nil || $0.alert.caseID == query.caseID) && $0.offset >= (query.fromOffset ?? 0)
                    && $0.alert.receivedAt >= (query.since ?? $0.alert.receivedAt)
            }.prefix(query.limit))
        }
        func lastOffset() throws -> LogOffset { LogOffset(stored.count) }
        func observeAppends(_ handler: @escaping @Sendable (LogOffset) -> Void) -> AppendObservation { AppendObservation {} }
        func erase(_ target: ErasureTarget) throws -> [String] { [] }
    }

    struct Directory: SubscriberDirectory {
        let subscribers: [Subscriber]
        let secret = WebhookSecret.generate().description

        func subscriber(id: String) throws -> Subscriber? { subscribers.first { $0.id == id } }
        func secrets(channelID: String) throws -> [String] { [secret] }
        func disabledReason(channelID: String) throws -> String? { nil }
        func disable(channelID: String, reason: String) throws {}
    }

    static func subscriber(_ id: String, clearance: Confidentiality = .confidential, escalation: EscalationPolicy? = nil, reports: Bool = false) -> Subscriber {
        Subscriber(
            id: id, name: id, kind: .embassy, organisation: reports ? "Partner" : "Org \(id)", contact: "\(id)@example.org", clearance: clearance,
            language: "en", channels: [Channel(id: "ch_\(id)", type: .webhook, url: "http://127.0.0.1:9/\(id)")], subscriptions: [],
            escalation: escalation, reports: reports)
    }

    static let directory = Directory(subscribers: [
        subscriber("sub_desk", escalation: EscalationPolicy(minSeverity: .high, afterSeconds: 60, to: ["sub_backup"], remindEverySeconds: 60, maxReminders: 3)),
        subscriber("sub_backup"), subscriber("sub_other"), subscriber("sub_report", reports: true),
        subscriber("sub_lowreport", clearance: .public, reports: true),
    ])

    static let caseID = "01M825CFCJ7PXX86Y361FVVH2B"
    static let hearing = Timestamp(milliseconds: 1_796_000_000_000)

    /// The case's first alert, with a hearing and handling instructions.
    static func first() -> Alert {
        EmailTests().alert {
            $0.caseID = caseID
            $0.confidentiality = .confidential
            $0.nextEvent = CaseEvent(type: .hearing, at: hearing, place: "Court 3")
            $0.handling = HandlingInstructions(noPublicStatement: true, excludeKinds: [.ngo], note: "Speak to <the> lawyer & family first")
        }
    }

    /// A later alert of the case.
    static func later(_ n: Int, _ changes: (inout Alert) -> Void) -> Alert {
        EmailTests().alert {
            $0.id = "01M825CFCJ7PXX86Y361FVVH3\(n)"
            $0.caseID = caseID
            $0.kind = .update
            changes(&$0)
        }
    }

    static func delivery(_ id: String, to subscriberID: String, alertID: String = caseID, offset: LogOffset = 1, _ followUp: FollowUp?, replay: String? = nil) -> DeliveryRecord {
        DeliveryRecord(
            id: id, alertID: alertID, alertOffset: offset, subscriberID: subscriberID, channelID: "ch_\(subscriberID)", channelType: .webhook,
            reason: followUp == nil ? .matched : .followUp, clearance: .confidential, severity: .critical, state: .inFlight, attempts: 1,
            nextAttemptAt: nil, lastError: nil, createdAt: Timestamp(milliseconds: 0), updatedAt: Timestamp(milliseconds: 0), replayID: replay,
            followUp: followUp)
    }

    static func ack(_ subscriberID: String, alertID: String = caseID, note: String? = nil) -> Acknowledgement {
        Acknowledgement(
            alertID: alertID, subscriberID: subscriberID, organisation: "Org \(subscriberID)", kind: .embassy, action: .acting,
            at: Timestamp(milliseconds: 1_795_339_000_000), via: .link, note: note)
    }

    enum Later: String, CustomTestStringConvertible {
        case nothing, released, charged, cancel, eventMoved, eventKept
        var testDescription: String { rawValue }
        var alerts: [Alert] {
            switch self {
            case .nothing: []
            case .released: [FollowUpDeliveryTests.later(1) { $0.caseStatus = .released }]
            case .charged: [FollowUpDeliveryTests.later(1) { $0.caseStatus = .charged }]
            case .cancel: [FollowUpDeliveryTests.later(1) { $0.kind = .cancel }]
            case .eventMoved: [FollowUpDeliveryTests.later(1) { $0.nextEvent = CaseEvent(type: .hearing, at: hearing.adding(milliseconds: 86_400_000)) }]
            case .eventKept: [FollowUpDeliveryTests.later(1) { $0.caseStatus = .charged }, FollowUpDeliveryTests.later(2) { $0.nextEvent = CaseEvent(type: .hearing, at: hearing) }]
            }
        }
    }

    static let acked = "the alert was acknowledged", closed = "the case was closed"

    /// Design decision 1, row by row: (follow-up, to, acknowledged by, what was filed later, replay, cancellation reason or nil to send).
    static let table: [(FollowUp?, String, [String], Later, Bool, String?)] = [
        (.escalation(from: "sub_desk"), "sub_backup", [], .nothing, false, nil),
        (.escalation(from: "sub_desk"), "sub_backup", ["sub_desk"], .nothing, false, acked),
        (.escalation(from: "sub_desk"), "sub_backup", ["sub_backup"], .nothing, false, acked),
        (.escalation(from: "sub_desk"), "sub_backup", ["sub_other"], .nothing, false, nil),
        (.escalation(from: "sub_desk"), "sub_backup", [], .released, false, closed),
        (.escalation(from: "sub_desk"), "sub_backup", [], .charged, false, nil),
        (.escalation(from: "sub_desk"), "sub_backup", [], .cancel, false, closed),
        (.reminder(2), "sub_desk", [], .nothing, false, nil),
        (.reminder(2), "sub_desk", ["sub_desk"], .nothing, false, acked),
        (.reminder(2), "sub_desk", ["sub_backup"], .nothing, false, acked),
        (.reminder(2), "sub_desk", [], .released, false, closed),
        (.escalated(from: "sub_desk"), "sub_report", [], .nothing, false, nil),
        (.escalated(from: "sub_desk"), "sub_report", ["sub_backup"], .nothing, false, acked),
        (.caseReminder(eventAt: hearing), "sub_desk", [], .nothing, false, nil),
        (.caseReminder(eventAt: hearing), "sub_desk", ["sub_desk"], .nothing, false, nil),
        (.caseReminder(eventAt: hearing), "sub_desk", [], .eventMoved, false, "the case's next event moved"),
        (.caseReminder(eventAt: hearing), "sub_desk", [], .eventKept, false, nil),
        (.caseReminder(eventAt: hearing), "sub_desk", [], .released, false, closed),
        (.acknowledged(by: "sub_backup"), "sub_report", ["sub_backup"], .cancel, false, nil),
        (nil, "sub_desk", [], .nothing, false, nil),
        (nil, "sub_desk", ["sub_desk"], .nothing, false, nil),
        (nil, "sub_desk", [], .released, false, nil),
        (nil, "sub_desk", [], .cancel, false, "the case was cancelled after this alert"),
        (nil, "sub_desk", [], .cancel, true, nil),
    ]

    @Test(arguments: table)
    func stillWanted(followUp: FollowUp?, to subscriberID: String, ackedBy: [String], later: Later, replay: Bool, reason: String?) throws {
        let log = CaseLog([Self.first()] + later.alerts)
        let stored = try #require(try log.alert(id: Self.caseID))
        let ledger = Ledger(ackedBy.map { Self.ack($0) })
        let delivery = Self.delivery("dlv_x", to: subscriberID, followUp, replay: replay ? "rpl_1" : nil)
        let decided = try StillWanted.cancellation(
            of: delivery, stored, caseAlerts: try StillWanted.caseAlerts(of: stored, in: log), ledger: ledger, directory: Self.directory)
        #expect(decided == reason)
    }

    /// A cancel filed before the alert (lower offset) is not "after" it; and without a
    /// ledger no acknowledgement is known.
    @Test func onlyLaterAlertsAndKnownAcknowledgementsCount() throws {
        let cancel = Self.later(1) { $0.kind = .cancel }
        let log = CaseLog([cancel, Self.first()])
        let stored = try #require(try log.alert(id: Self.caseID))
        #expect(stored.offset == 2)
        let first = Self.delivery("dlv_y", to: "sub_desk", offset: 2, nil)
        #expect(try StillWanted.cancellation(of: first, stored, caseAlerts: StillWanted.caseAlerts(of: stored, in: log), ledger: nil, directory: Self.directory) == nil)
        let escalation = Self.delivery("dlv_z", to: "sub_backup", offset: 2, .escalation(from: "sub_desk"))
        #expect(try StillWanted.acknowledged(Self.caseID, by: "sub_desk", ledger: nil, directory: Self.directory) == false)
        #expect(try StillWanted.cancellation(of: escalation, stored, caseAlerts: [stored], ledger: nil, directory: Self.directory) == nil)
    }

    /// Reception time orders a case, not the offset: on Kafka an update filed under another
    /// country sits in another partition, whose offsets may sort before the alert's.
    @Test func anUpdateInAnotherPartitionReceivedLaterCounts() throws {
        let relocated = Self.later(1) {
            $0.caseStatus = .relocated
            $0.country = CountryCode("LT")!
            $0.receivedAt = $0.receivedAt.adding(milliseconds: 1000)
        }
        let moved = Self.later(2) {
            $0.nextEvent = CaseEvent(type: .appeal, at: Self.hearing.adding(milliseconds: 1))
            $0.receivedAt = $0.receivedAt.adding(milliseconds: -1000)
        }
        let log = CaseLog([relocated, Self.first(), moved])
        let stored = try #require(try log.alert(id: Self.caseID))
        let views = try StillWanted.caseAlerts(of: stored, in: log)
        #expect(views.map(\.offset) == [1, 2], "what was received before the alert is not read")
        let escalation = Self.delivery("dlv_e", to: "sub_backup", offset: 2, .escalation(from: "sub_desk"))
        #expect(try StillWanted.cancellation(of: escalation, stored, caseAlerts: views, ledger: nil, directory: Self.directory) == Self.closed)
        let reminder = Self.delivery("dlv_c", to: "sub_desk", offset: 2, .caseReminder(eventAt: Self.hearing))
        #expect(try StillWanted.cancellation(of: reminder, stored, caseAlerts: [stored, try #require(try log.alert(id: moved.id))], ledger: nil, directory: Self.directory)
            == nil, "a next event received before the alert's is older, not newer")
    }

    /// A case longer than one page is read whole.
    @Test func longCasesAreReadInPages() throws {
        let updates = (0..<(StillWanted.page + 3)).map { n in
            EmailTests().alert {
                $0.id = ULID().description
                $0.caseID = Self.caseID
                $0.kind = n == StillWanted.page + 2 ? .cancel : .update
            }
        }
        let log = CaseLog([Self.first()] + updates)
        let stored = try #require(try log.alert(id: Self.caseID))
        let views = try StillWanted.caseAlerts(of: stored, in: log)
        #expect(views.count == StillWanted.page + 4)
        #expect(try StillWanted.cancellation(of: Self.delivery("d", to: "sub_desk", nil), stored, caseAlerts: views, ledger: nil, directory: Self.directory)
            == "the case was cancelled after this alert")
    }

    // MARK: On the wire

    /// Runs a pool over `deliveries` until each has an outcome (at most 5 s).
    static func run(
        _ deliveries: [DeliveryRecord], log: CaseLog, ledger: Ledger, escalations: Recorded = Recorded()
    ) throws -> (DeliveryWorkerPoolTests.FakeQueue, DeliveryWorkerPoolTests.FakeTransport) {
        let queue = DeliveryWorkerPoolTests.FakeQueue(deliveries)
        let transport = DeliveryWorkerPoolTests.FakeTransport([.success(HTTPOutcome(status: 204, retryAfterMilliseconds: nil, latencyMilliseconds: 1))])
        var configuration = WorkerConfiguration()
        configuration.allowPrivateWebhooks = true
        configuration.maxConcurrent = 4
        configuration.ackURL = AckLink.urls(publicURL: "https://vigil.example.org/", key: Self.linkKey)
        var events = DeliveryEvents()
        events.escalated = { delivery, from in escalations.items.withLock { $0.append("\(delivery.id)<\(from)") } }
        let pool = DeliveryWorkerPool(
            queue: queue, log: log, directory: Self.directory, acknowledgements: ledger, configuration: configuration, transport: transport,
            events: events)
        pool.start()
        let deadline = Date().addingTimeInterval(5)
        while queue.outcomes.count < deliveries.count && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        pool.stop(timeout: 5)
        return (queue, transport)
    }

    /// What the pool's `escalated` event reported.
    final class Recorded: Sendable {
        let items = Mutex<[String]>([])
    }

    static let linkKey = [UInt8](repeating: 7, count: 32)

    struct Sent {
        let headers: [String: String]
        let json: [String: Any]
    }

    /// The request sent for `id`, its signature checked by the `standardwebhooks` package
    /// against `secrets` (the directory's).
    static func sent(_ id: String, in transport: DeliveryWorkerPoolTests.FakeTransport, secrets: [String] = [directory.secret]) throws -> Sent {
        let request = try #require(transport.requests.first { $0.headers.contains { $0 == ("webhook-id", id) } }, "\(id) was sent")
        let headers = Dictionary(request.headers, uniquingKeysWith: { a, _ in a })
        let body = String(decoding: request.body, as: UTF8.self)
        #expect(try verify(
            id: id, timestamp: Int64(headers["webhook-timestamp"] ?? "") ?? 0, body: body, signature: headers["webhook-signature"] ?? "",
            secrets: secrets), "\(id) verifies with Standard Webhooks")
        return Sent(headers: headers, json: try #require(JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any]))
    }

    @Test func followUpsCarryTheirTypeFieldsAndHeadersSigned() throws {
        let other = EmailTests().alert { $0.id = "01M825CFCJ7PXX86Y361FVVH2C"; $0.confidentiality = .confidential }
        let log = CaseLog([Self.first(), other])
        // The desk's backup acknowledged the other alert, with a note.
        let ledger = Ledger([Self.ack("sub_backup", alertID: other.id, note: "Consul visiting")])
        let deliveries = [
            Self.delivery("dlv_first", to: "sub_desk", nil),
            Self.delivery("dlv_lowfirst", to: "sub_lowreport", nil),
            Self.delivery("dlv_escalation", to: "sub_backup", .escalation(from: "sub_desk")),
            Self.delivery("dlv_reminder", to: "sub_desk", .reminder(2)),
            Self.delivery("dlv_case", to: "sub_desk", .caseReminder(eventAt: Self.hearing)),
            Self.delivery("dlv_escalated", to: "sub_report", .escalated(from: "sub_desk")),
            Self.delivery("dlv_acked", to: "sub_report", alertID: other.id, offset: 2, .acknowledged(by: "sub_backup")),
            Self.delivery("dlv_lowacked", to: "sub_lowreport", alertID: other.id, offset: 2, .acknowledged(by: "sub_backup")),
            Self.delivery("dlv_cancelled", to: "sub_backup", alertID: other.id, offset: 2, .escalation(from: "sub_desk")),
            Self.delivery("dlv_waiting", to: "sub_report", alertID: other.id, offset: 2, .acknowledged(by: "sub_other")),
        ]
        let escalations = Recorded()
        let (queue, transport) = try Self.run(deliveries, log: log, ledger: ledger, escalations: escalations)
        #expect(queue.outcomes.count == deliveries.count)
        #expect(queue.outcomes["dlv_cancelled"] == .cancelled(reason: "the alert was acknowledged"))
        guard case .retry(_, let error) = queue.outcomes["dlv_waiting"] else {
            Issue.record("a report whose acknowledgement is not readable yet waits: \(String(describing: queue.outcomes["dlv_waiting"]))")
            return
        }
        #expect(error == "the acknowledgement is not readable here yet")
        #expect(transport.requests.count == 8)
        #expect(escalations.items.withLock { $0 } == ["dlv_escalation<sub_desk"], "only the escalation sent counts, not the cancelled one")

        func ackLink(_ sent: Sent) throws -> AckLink {
            let url = try #require(sent.json["ack_url"] as? String)
            #expect(url.hasPrefix("https://vigil.example.org/ack/"))
            return try AckLink.verify(String(url.dropFirst("https://vigil.example.org/ack/".count)), key: Self.linkKey, now: .now()).get()
        }

        let first = try Self.sent("dlv_first", in: transport)
        #expect(first.json["type"] as? String == "alert.created")
        let firstLink = try ackLink(first)
        #expect(firstLink.alertID == Self.caseID && firstLink.subscriberID == "sub_desk")
        let handling = try #require(first.json["handling"] as? [String: Any])
        #expect(handling["note"] as? String == "Speak to <the> lawyer & family first")
        #expect(handling["no_public_statement"] as? Bool == true && handling["exclude_kinds"] as? [String] == ["ngo"])
        #expect(first.headers["vigil-escalation"] == nil && first.headers["vigil-reminder"] == nil)
        let lowFirst = try Self.sent("dlv_lowfirst", in: transport)
        #expect((lowFirst.json["handling"] as? [String: Any])?["note"] as? String == "[redacted]", "the note as the reader may see it")

        let escalation = try Self.sent("dlv_escalation", in: transport)
        #expect(escalation.json["type"] as? String == "alert.escalated")
        #expect(escalation.json["escalated_from"] as? String == "sub_desk")
        #expect(escalation.headers["vigil-escalation"] == "true")
        #expect(try ackLink(escalation).subscriberID == "sub_backup")
        #expect(escalation.json["handling"] != nil)

        let reminder = try Self.sent("dlv_reminder", in: transport)
        #expect(reminder.json["type"] as? String == "alert.reminder")
        #expect(reminder.json["reminder"] as? Int == 2)
        #expect(reminder.headers["vigil-reminder"] == "2")
        #expect(try ackLink(reminder).subscriberID == "sub_desk")

        let caseReminder = try Self.sent("dlv_case", in: transport)
        #expect(caseReminder.json["type"] as? String == "case.reminder")
        #expect((caseReminder.json["data"] as? [String: Any])?["next_event"] != nil)
        #expect(caseReminder.json["ack_url"] != nil)

        let escalated = try Self.sent("dlv_escalated", in: transport)
        #expect(escalated.json["type"] as? String == "alert.escalated")
        #expect(escalated.json["escalated_from"] as? String == "sub_desk")
        #expect(escalated.headers["vigil-escalation"] == nil && escalated.headers["vigil-report"] == "true")
        #expect(escalated.json["ack_url"] == nil, "a report is not the alert sent for action")

        let acked = try Self.sent("dlv_acked", in: transport)
        #expect(acked.json["type"] as? String == "alert.acknowledged")
        #expect(acked.headers["vigil-report"] == "true" && acked.json["ack_url"] == nil)
        let ack = try #require(acked.json["acknowledgement"] as? [String: Any])
        #expect(ack["subscriber_id"] as? String == "sub_backup" && ack["organisation"] as? String == "Org sub_backup")
        #expect(ack["kind"] as? String == "embassy" && ack["action"] as? String == "acting" && ack["at"] as? String == "2026-11-22T09:16:40.000Z")
        #expect(ack["note"] as? String == "Consul visiting")
        let lowAck = try #require(try Self.sent("dlv_lowacked", in: transport).json["acknowledgement"] as? [String: Any])
        #expect(lowAck["subscriber_id"] as? String == "sub_backup")
        #expect(lowAck["note"] == nil, "no note below the alert's confidentiality")
    }

    /// An alert whose instructions exclude the subscriber is never sent to it, whatever
    /// was recorded before the instructions were read.
    @Test func anExcludedSubscriberIsCancelledAtSendTime() throws {
        let ngo = Subscriber(
            id: "sub_ngo", name: "NGO", kind: .ngo, organisation: "NGO", contact: "n@example.org", clearance: .confidential, language: "en",
            channels: [Channel(id: "ch_sub_ngo", type: .webhook, url: "http://127.0.0.1:9/ngo")], subscriptions: [])
        let directory = Directory(subscribers: Self.directory.subscribers + [ngo])
        let queue = DeliveryWorkerPoolTests.FakeQueue([Self.delivery("dlv_ngo", to: "sub_ngo", nil)])
        let transport = DeliveryWorkerPoolTests.FakeTransport([.success(HTTPOutcome(status: 204, retryAfterMilliseconds: nil, latencyMilliseconds: 1))])
        var configuration = WorkerConfiguration()
        configuration.allowPrivateWebhooks = true
        let pool = DeliveryWorkerPool(queue: queue, log: CaseLog([Self.first()]), directory: directory, configuration: configuration, transport: transport)
        pool.start()
        let deadline = Date().addingTimeInterval(5)
        while queue.outcomes.isEmpty && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        pool.stop(timeout: 5)
        #expect(queue.outcomes["dlv_ngo"] == .cancelled(reason: "excluded by the filer"))
        #expect(transport.requests.isEmpty)
    }
}

/// Issue 19 in emails: follow-ups' subject prefixes, the instructions first, the ack link.
@Suite struct FollowUpEmailTests {
    static func message(_ language: String, followUp: FollowUp? = nil, _ changes: (inout Alert) -> Void = { _ in }) -> EmailMessage {
        var alert = FollowUpDeliveryTests.first()
        changes(&alert)
        return AlertEmail.message(
            alert: alert.redacted(for: .confidential), to: "d@example.org", language: language, deliveryID: "dlv_1",
            from: "a@vigil.test", followUp: followUp, ackURL: "https://vigil.example.org/ack/T?a=1&b=2")
    }

    @Test(arguments: [
        ("en", "[ESCALATED] [CRITICAL]", "[REMINDER] [CRITICAL]"), ("fr", "[ESCALADE] [CRITIQUE]", "[RAPPEL] [CRITIQUE]"),
        ("nl-BE", "[ESCALATIE] [KRITIEK]", "[HERINNERING] [KRITIEK]"), ("es", "[ESCALADO] [CRITICAL]", "[RECORDATORIO] [CRITICAL]"),
        ("de", "[ESKALIERT] [CRITICAL]", "[ERINNERUNG] [CRITICAL]"),
    ])
    func subjectsSayWhatAFollowUpIs(language: String, escalated: String, reminder: String) {
        #expect(Self.message(language, followUp: .escalation(from: "sub_desk")).subject.hasPrefix(escalated + " Belarus"))
        #expect(Self.message(language, followUp: .reminder(1)).subject.hasPrefix(reminder + " Belarus"))
        #expect(Self.message(language).subject.hasPrefix("[" + escalated.split(separator: "[").last!))
    }

    @Test(arguments: [
        ("en", "Handling instructions:\n- No public statement about the defender.\n- Not to be shared with: ngo\n- Note from the filer: Speak to <the> lawyer & family first\n"),
        ("fr", "Consignes de traitement:\n- Aucune déclaration publique au sujet du/de la défenseur·e.\n- À ne pas partager avec: ngo\n- Note de l'organisation qui signale: Speak to <the> lawyer & family first\n"),
        ("nl", "Behandelingsinstructies:\n- Geen publieke verklaring over de verdediger.\n- Niet te delen met: ngo\n- Opmerking van de melder: Speak to <the> lawyer & family first\n"),
        ("de", "Hinweise zum Umgang:\n- Keine öffentliche Stellungnahme zur betroffenen Person.\n"),
        ("es", "Instrucciones de manejo:\n- Ninguna declaración pública sobre la persona defensora.\n"),
    ])
    func theInstructionsComeFirstTranslated(language: String, start: String) throws {
        let message = Self.message(language, followUp: .escalation(from: "sub_desk")) { $0.status = .exercise }
        #expect(message.text.hasPrefix(start))
        let heading = start.prefix { $0 != ":" }
        #expect(message.html.hasPrefix("<!doctype html><html lang=\"\(language)\"><body><h3>\(heading)</h3><ul><li>"))
        // Before the follow-up line, the drill banner and the alert itself.
        let text = message.text
        let after = try #require(text.range(of: "sub_desk")?.lowerBound)
        #expect(try #require(text.range(of: "\n\n")).lowerBound < after)
        #expect(try #require(text.range(of: EmailLabels.forLanguage(language).label("exercise"))).lowerBound > after)
        #expect(try #require(text.range(of: "Belarus")).lowerBound > after)
    }

    @Test func theNoteAndTheLinkAreEscapedInHTMLAndInBothParts() {
        let message = Self.message("en", followUp: .reminder(3))
        #expect(message.html.contains("Note from the filer: Speak to &lt;the&gt; lawyer &amp; family first"))
        #expect(!message.html.contains("<the>"))
        #expect(message.text.contains("Acknowledge this alert:\nhttps://vigil.example.org/ack/T?a=1&b=2\n"))
        #expect(message.html.contains("<a href=\"https://vigil.example.org/ack/T?a=1&amp;b=2\">Acknowledge this alert</a>"))
        #expect(message.text.contains("Reminder: this alert has not been acknowledged yet."))
        let plain = AlertEmail.message(alert: EmailTests().alert(), to: "d@example.org", language: "en", deliveryID: "dlv_1", from: "a@vigil.test")
        #expect(!plain.text.contains("Handling") && !plain.text.contains("Acknowledge"), "no instructions, no link: nothing shown")
    }

    @Test func anAcknowledgedReportSaysWhoAndWhat() {
        let ack = Acknowledgement(
            alertID: "a", subscriberID: "sub_backup", organisation: "FPS <Foreign>", kind: .diplomaticDesk, action: .prisonVisit,
            at: Timestamp(milliseconds: 0), via: .api, note: "Visit on Monday")
        let message = AlertEmail.message(
            alert: EmailTests().alert(), to: "d@example.org", language: "fr", deliveryID: "dlv_1", from: "a@vigil.test",
            followUp: .acknowledged(by: "sub_backup"), acknowledgement: ack)
        #expect(message.subject.hasPrefix("[ACCUSÉ DE RÉCEPTION] [CRITIQUE]"))
        #expect(message.text.hasPrefix("Accusé de réception par FPS <Foreign> (diplomatic desk, sub_backup) — Action: prison visit, 1970-01-01T00:00:00.000Z\nNote: Visit on Monday\n"))
        #expect(message.html.contains("FPS &lt;Foreign&gt;"))
    }
}
