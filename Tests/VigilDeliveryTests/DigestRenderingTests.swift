import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilDelivery

/// What a digest looks like to its reader (issue 21): the email (a table in the subscriber's
/// language, times in the digest's time zone) and the `alerts.digest` webhook body.
@Suite struct DigestRenderingTests {
    static func instant(_ text: String) -> Timestamp { Timestamp(rfc3339: text)! }

    /// Brussels, daily at 08:00: 07:00Z to 07:00Z in winter.
    static let window = DigestWindow(start: instant("2026-12-07T07:00:00Z"), end: instant("2026-12-08T07:00:00Z"))

    static func alert(
        received: String, severity: Severity, summary: String, confidentiality: Confidentiality = .restricted, defender: String = "Ales B.",
        status: AlertStatus = .actual, kind: AlertKind = .alert, handling: HandlingInstructions? = nil
    ) -> Alert {
        let time = instant(received)
        return Alert(
            id: ULID(time: time).description, kind: kind, status: status, receivedAt: time, country: CountryCode("BY")!, region: "Minsk",
            threat: .judicialHarassment, severity: severity, certainty: .likely, confidentiality: confidentiality, defender: Defender(name: defender),
            summary: summary, source: AlertSource(organisation: "partner"), handling: handling)
    }

    static let handling = HandlingInstructions(noPublicStatement: true, note: "Call the family first")

    /// Three alerts, given out of order: one with handling instructions, one above the
    /// reader's clearance (redacted, its summary withheld), one whose summary is markup.
    static func digest(readerLanguage: String = "fr") -> Digest {
        let clearance = Confidentiality.restricted
        let alerts = [
            alert(received: "2026-12-07T09:15:00Z", severity: .medium, summary: "Second summons for questioning", handling: handling),
            alert(received: "2026-12-07T07:30:00Z", severity: .low, summary: "Kept under watch at home", confidentiality: .confidential, defender: "Secret Name"),
            alert(received: "2026-12-07T11:00:00Z", severity: .low, summary: "<script>alert(1)</script> & more", status: .exercise),
        ]
        // The redaction chose English; the email shows the withheld text in the reader's language.
        let entries = alerts.enumerated().map { index, alert in
            Digest.Entry(
                deliveryID: "dlv_gathered_\(index)", alert: alert.redacted(for: clearance, language: "en"),
                ackURL: "https://vigil.example.org/ack/\(alert.id)?t=tok\(index)&x=1")
        }
        return Digest(window: window, timezone: "Europe/Brussels", entries: entries)
    }

    static func email(_ digest: Digest, language: String = "fr") -> EmailMessage {
        DigestEmail.message(
            digest, to: "desk@example.org", language: language, deliveryID: "dlv_digest_0123456789abcdef01234567", from: "Vigil <alerts@vigil.example.org>",
            now: instant("2026-12-08T07:00:05Z"))
    }

    @Test func theEntriesAreInReceivedOrder() {
        let digest = Self.digest()
        #expect(digest.entries.map(\.alert.receivedAt) == ["2026-12-07T07:30:00Z", "2026-12-07T09:15:00Z", "2026-12-07T11:00:00Z"].map(Self.instant))
        #expect(digest.entries.map(\.deliveryID) == ["dlv_gathered_1", "dlv_gathered_0", "dlv_gathered_2"])
    }

    @Test(arguments: [
        ("fr", "[SYNTHÈSE] 3 alertes, 2026-12-07 08:00 – 2026-12-08 08:00 (Europe/Brussels)"),
        ("nl-BE", "[OVERZICHT] 3 meldingen, 2026-12-07 08:00 – 2026-12-08 08:00 (Europe/Brussels)"),
        ("es", "[RESUMEN] 3 alertas, 2026-12-07 08:00 – 2026-12-08 08:00 (Europe/Brussels)"),
        ("de", "[ZUSAMMENFASSUNG] 3 Meldungen, 2026-12-07 08:00 – 2026-12-08 08:00 (Europe/Brussels)"),
        ("en", "[DIGEST] 3 alerts, 2026-12-07 08:00 – 2026-12-08 08:00 (Europe/Brussels)"),
        ("pt", "[DIGEST] 3 alerts, 2026-12-07 08:00 – 2026-12-08 08:00 (Europe/Brussels)"),
    ])
    func theSubjectGivesTheCountAndPeriodInTheReadersLanguage(language: String, subject: String) {
        let message = Self.email(Self.digest(), language: language)
        #expect(message.subject == subject)
        // The introduction is in that language too.
        let intro = EmailLabels.forLanguage(language).label("digest_intro")
        #expect(message.text.hasPrefix("\(intro) 2026-12-07 08:00 – 2026-12-08 08:00 (Europe/Brussels)."))
    }

    @Test func windowsShorterThanAMinuteShowSeconds() {
        let alert = Self.alert(received: "2026-12-07T12:00:13.250Z", severity: .low, summary: "Summoned")
        let window = DigestWindow(start: Self.instant("2026-12-07T12:00:10Z"), end: Self.instant("2026-12-07T12:00:20Z"))
        let digest = Digest(window: window, timezone: "Asia/Kolkata", entries: [Digest.Entry(deliveryID: "dlv_g", alert: alert, ackURL: nil)])
        let message = Self.email(digest, language: "en")
        #expect(message.subject == "[DIGEST] 1 alert, 2026-12-07 17:30:10 – 2026-12-07 17:30:20 (Asia/Kolkata)")
        #expect(message.text.contains("Received: 2026-12-07 17:30:13\n"))
    }

    @Test func everyLanguageHasTheDigestsWords() {
        for language in ["en", "fr", "nl", "es", "de"] {
            let labels = EmailLabels.forLanguage(language)
            for key in ["digest_prefix", "digest_alerts", "digest_alert", "digest_intro"] {
                #expect(labels.fields[key] != nil, "\(language) lacks \(key)")
            }
        }
    }

    @Test func oneTableRowPerAlertInReceivedOrderWithLocalTimes() {
        let message = Self.email(Self.digest())
        // A header row and one row per alert.
        #expect(message.html.components(separatedBy: "<tr>").count - 1 == 4)
        // Times in Brussels (UTC+1 in December), in received order, in both parts.
        for part in [message.text, message.html] {
            let positions = ["2026-12-07 08:30", "2026-12-07 10:15", "2026-12-07 12:00"].map { part.range(of: $0)?.lowerBound }
            #expect(positions.allSatisfy { $0 != nil })
            #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
            #expect(!part.contains("07:30") && !part.contains("09:15"))
        }
        // French words.
        #expect(message.text.contains("Gravité: FAIBLE") && message.text.contains("Menace: harcèlement judiciaire"))
        #expect(message.html.contains("<th align=\"left\">Reçue</th>"))
    }

    @Test func handlingInstructionsAndAckLinksAreShown() {
        let digest = Self.digest()
        let message = Self.email(digest)
        let instruction = "Aucune déclaration publique au sujet du/de la défenseur·e."
        #expect(message.text.contains(instruction) && message.html.contains(MarkupText.escaped(instruction)))
        #expect(message.text.contains("Note de l'organisation qui signale: Call the family first"))
        for entry in digest.entries {
            let url = entry.ackURL!
            #expect(message.text.contains("Accuser réception de cette alerte: \(url)"))
            #expect(message.html.contains("<a href=\"\(MarkupText.escaped(url))\">"))
            #expect(message.text.contains(entry.alert.caseID))
        }
        #expect(!message.html.contains("?t=tok0&x=1"), "an ampersand in a link is escaped in HTML")
    }

    @Test func aSummaryAboveTheClearanceIsTheWithheldTextInTheReadersLanguage() {
        let message = Self.email(Self.digest())
        let withheld = WithheldSummary.text(for: "fr")
        #expect(message.text.contains(withheld))
        #expect(message.html.contains(MarkupText.escaped(withheld)))
        for part in [message.text, message.html, message.subject] {
            #expect(!part.contains("Kept under watch"))
            #expect(!part.contains("Secret Name"))
            #expect(!part.contains(WithheldSummary.text(for: "en")))
        }
        #expect(message.text.contains(RedactionMark.redacted))
    }

    @Test func markupInASummaryIsEscaped() {
        let message = Self.email(Self.digest())
        #expect(!message.html.contains("<script>"))
        #expect(message.html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"))
        // A drill says so, in the reader's language.
        #expect(message.text.contains("[EXERCICE] <script>"))
    }

    @Test func theMessageIDComesFromTheDeliveryID() {
        let digest = Self.digest()
        let message = Self.email(digest)
        #expect(message.messageID == "dlv_digest_0123456789abcdef01234567@vigil.example.org")
        let wire = String(decoding: message.bytes(boundary: "b"), as: UTF8.self)
        #expect(wire.contains("Message-ID: <dlv_digest_0123456789abcdef01234567@vigil.example.org>\r\n"))
        #expect(wire.contains("X-Vigil-Delivery: dlv_digest_0123456789abcdef01234567\r\n"))
        #expect(wire.contains("X-Vigil-Digest: 3\r\n"))
        #expect(wire.contains("Subject: =?UTF-8?B?"), "the non-ASCII subject is encoded")
        // The same digest renders the same message: a resend is recognised.
        #expect(Self.email(digest) == message)
    }

    // MARK: - Webhook

    static func object(_ value: JSONValue?) -> [String: JSONValue] {
        if case .object(let fields)? = value { return fields }
        return [:]
    }

    @Test func theWebhookBodyListsTheWindowAndEachAlert() throws {
        let digest = Self.digest()
        let bytes = WebhookPayload.digestBody(digest, deliveryID: "dlv_digest_0123456789abcdef01234567", sentAt: Self.instant("2026-12-08T07:00:05Z"))
        let body = Self.object(try JSONParser.parse(bytes))
        #expect(body["type"] == .string("alerts.digest"))
        #expect(body["delivery_id"] == .string("dlv_digest_0123456789abcdef01234567"))
        #expect(body["timestamp"] == .string("2026-12-08T07:00:05.000Z"))
        let data = Self.object(body["data"])
        #expect(data["count"] == .number(3))
        #expect(Self.object(data["window"]) == [
            "start": .string("2026-12-07T07:00:00.000Z"), "end": .string("2026-12-08T07:00:00.000Z"), "timezone": .string("Europe/Brussels"),
        ])
        guard case .array(let alerts)? = data["alerts"] else {
            Issue.record("no alerts array")
            return
        }
        #expect(alerts.count == 3)
        for (item, entry) in zip(alerts.map { Self.object($0) }, digest.entries) {
            #expect(item["delivery_id"] == .string(entry.deliveryID))
            #expect(item["ack_url"] == entry.ackURL.map { .string($0) })
            #expect(Self.object(item["alert"])["id"] == .string(entry.alert.id))
            #expect(item["exercise"] == .bool(entry.alert.status == .exercise))
        }
        // In received order; the filer's instructions beside the one that has them.
        let items = alerts.map { Self.object($0) }
        #expect(items.map { Self.object($0["alert"])["received_at"] } == [
            .string("2026-12-07T07:30:00.000Z"), .string("2026-12-07T09:15:00.000Z"), .string("2026-12-07T11:00:00.000Z"),
        ])
        #expect(items.map { $0["handling"] != nil } == [false, true, false])
        #expect(Self.object(items[1]["handling"])["no_public_statement"] == .bool(true))
        #expect(Self.object(items[1]["handling"])["note"] == .string("Call the family first"))
    }

    @Test func aRedactedAlertShowsNoNameInTheWebhook() throws {
        let bytes = WebhookPayload.digestBody(Self.digest(), deliveryID: "dlv_digest_x", sentAt: Self.instant("2026-12-08T07:00:05Z"))
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains("Secret Name"))
        #expect(!text.contains("Kept under watch"))
        let data = Self.object(Self.object(try JSONParser.parse(bytes))["data"])
        guard case .array(let alerts)? = data["alerts"] else {
            Issue.record("no alerts array")
            return
        }
        let redacted = Self.object(Self.object(alerts.first)["alert"])
        #expect(Self.object(redacted["defender"])["name"] == .string(RedactionMark.redacted))
        #expect(redacted["summary"] == .string(WithheldSummary.text(for: "en")))
        #expect(redacted["region"] == .string(RedactionMark.redacted))
        // The cleared ones keep theirs.
        #expect(Self.object(Self.object(Self.object(alerts.last)["alert"])["defender"])["name"] == .string("Ales B."))
    }

    // MARK: - Through the workers

    /// A desk with digests in two zones: Colombia daily at 08:00 UTC, Belarus daily at 08:00 in Kolkata.
    static let twoZoneDesk = Subscriber(
        id: "sub_desk", name: "Desk", kind: .embassy, organisation: "Org", contact: "desk@example.org", clearance: .restricted, language: "fr",
        channels: [Channel(id: "ch_hook", type: .webhook, url: "http://127.0.0.1:9/hook")],
        subscriptions: [
            Subscription(countries: [CountryCode("CO")!], minSeverity: .low, digest: DigestSchedule(below: .high, every: .days(1), at: TimeOfDay(hour: 8, minute: 0))),
            Subscription(
                countries: [CountryCode("BY")!], minSeverity: .low,
                digest: DigestSchedule(below: .high, every: .days(1), at: TimeOfDay(hour: 8, minute: 0), timezone: "Asia/Kolkata")),
        ])

    static func record(_ id: String, alert: Alert, followUp: FollowUp, state: DeliveryState) -> DeliveryRecord {
        let reason: RoutingReason = if case .digest = followUp { .digest } else { .matched }
        return DeliveryRecord(
            id: id, alertID: alert.id, alertOffset: 1, subscriberID: "sub_desk", channelID: "ch_hook", channelType: .webhook,
            reason: reason, clearance: .restricted, severity: alert.severity,
            state: state, attempts: 1, nextAttemptAt: nil, lastError: nil, createdAt: alert.receivedAt, updatedAt: alert.receivedAt, followUp: followUp)
    }

    /// Runs a pool over one due digest (at most 5 s) and returns the queue and what was posted.
    static func send(digest: DeliveryRecord, gathered: [DeliveryRecord], log: DeliveryWorkerPoolTests.OneAlertLog) -> (DeliveryWorkerPoolTests.FakeQueue, [CurlRequest]) {
        let queue = DeliveryWorkerPoolTests.FakeQueue([digest], gathered: gathered)
        let transport = DeliveryWorkerPoolTests.FakeTransport([.success(HTTPOutcome(status: 204, retryAfterMilliseconds: nil, latencyMilliseconds: 1))])
        var configuration = WorkerConfiguration()
        configuration.allowPrivateWebhooks = true
        configuration.ackURL = { alertID, subscriberID in "https://vigil.example.org/ack/\(alertID)/\(subscriberID)" }
        let pool = DeliveryWorkerPool(
            queue: queue, log: log, directory: DeliveryWorkerPoolTests.OneSubscriber(subscriber: twoZoneDesk), configuration: configuration,
            transport: transport)
        pool.start()
        let deadline = Date().addingTimeInterval(5)
        while queue.outcomes.isEmpty && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        pool.stop(timeout: 5)
        return (queue, transport.requests)
    }

    @Test func theWorkersSendTheDigestInTheZoneOfTheScheduleThatMadeItsWindow() throws {
        // Kolkata's 08:00 is 02:30Z.
        let kolkata = Self.twoZoneDesk.subscriptions[1].digest!
        let window = kolkata.window(containing: Self.instant("2026-12-07T12:00:00Z"))
        #expect(window == DigestWindow(start: Self.instant("2026-12-07T02:30:00Z"), end: Self.instant("2026-12-08T02:30:00Z")))
        let alert = Self.alert(received: "2026-12-07T12:00:00Z", severity: .low, summary: "Summoned")
        let gathered = Self.record("dlv_gathered", alert: alert, followUp: .gathered(window: window.start), state: .pending)
        // Gathered into another window: not listed, not settled.
        let other = Self.record("dlv_other", alert: alert, followUp: .gathered(window: window.end), state: .pending)
        let digest = Self.record("dlv_digest_1", alert: alert, followUp: .digest(window), state: .inFlight)
        let (queue, requests) = Self.send(digest: digest, gathered: [gathered, other], log: DeliveryWorkerPoolTests.OneAlertLog(alert))

        #expect(queue.outcomes["dlv_digest_1"] == .delivered)
        #expect(queue.settled == ["dlv_gathered"])
        let request = try #require(requests.first)
        #expect(requests.count == 1)
        #expect(request.headers.contains { $0.0 == "vigil-digest" && $0.1 == "true" })
        let data = Self.object(Self.object(try JSONParser.parse(request.body))["data"])
        #expect(Self.object(data["window"])["timezone"] == .string("Asia/Kolkata"))
        #expect(data["count"] == .number(1))
        guard case .array(let alerts)? = data["alerts"] else {
            Issue.record("no alerts array")
            return
        }
        #expect(alerts.map { Self.object($0)["delivery_id"] } == [.string("dlv_gathered")])
        #expect(Self.object(alerts.first)["ack_url"] == .string("https://vigil.example.org/ack/\(alert.id)/sub_desk"))
    }

    @Test func aDigestWithNothingGatheredIsCancelledAndNothingIsSent() {
        let alert = Self.alert(received: "2026-12-07T12:00:00Z", severity: .low, summary: "Summoned")
        let window = DigestWindow(start: Self.instant("2026-12-07T02:30:00Z"), end: Self.instant("2026-12-08T02:30:00Z"))
        // Its only alert was already sent on its own (delivered): nothing waits for the digest.
        let sent = Self.record("dlv_gathered", alert: alert, followUp: .gathered(window: window.start), state: .delivered)
        let digest = Self.record("dlv_digest_1", alert: alert, followUp: .digest(window), state: .inFlight)
        let (queue, requests) = Self.send(digest: digest, gathered: [sent], log: DeliveryWorkerPoolTests.OneAlertLog(alert))
        guard case .cancelled? = queue.outcomes["dlv_digest_1"] else {
            Issue.record("an empty digest is cancelled: \(queue.outcomes)")
            return
        }
        #expect(requests.isEmpty)
        #expect(queue.settled.isEmpty)
    }

    @Test func anEmptyDigestStillParses() throws {
        let empty = Digest(window: Self.window, timezone: "UTC", entries: [])
        let data = Self.object(Self.object(try JSONParser.parse(WebhookPayload.digestBody(empty, deliveryID: "dlv_digest_x", sentAt: Self.window.end)))["data"])
        #expect(data["count"] == .number(0))
        #expect(data["alerts"] == .array([]))
    }
}
