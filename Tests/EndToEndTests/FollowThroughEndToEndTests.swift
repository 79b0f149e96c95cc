import Foundation
import Testing
import VigilHTTPClient
import VigilTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A webhook the receiver logged, as issue 19's follow-ups need it: the event type, the link,
/// who an escalation came from, and whether `standardwebhooks` verified it.
struct FollowThroughHook: Decodable {
    struct Payload: Decodable {
        struct Data: Decodable { let id: String }
        let type: String
        let delivery_id: String
        let ack_url: String?
        let escalated_from: String?
        let data: Data?
    }
    let path: String
    let id: String
    let verified: Bool
    let status: Int
    let payload: Payload?
}

/// A subscriber body: a desk of `organisation` with one webhook at `url`, following `country`.
func deskBody(
    organisation: String, url: String, country: String = "BY", clearance: String = "restricted", language: String = "en",
    kind: String = "ngo", escalation: String? = nil, reports: Bool = false, ackVisibility: String = "filer"
) -> String {
    let extra = (escalation.map { #","escalation":\#($0)"# } ?? "") + #","reports":\#(reports),"ack_visibility":"\#(ackVisibility)""#
    return #"{"name":"Desk","kind":"\#(kind)","organisation":"\#(organisation)","contact":"desk@example.org","clearance":"\#(clearance)","language":"\#(language)","channels":[{"type":"webhook","url":"\#(url)"}],"subscriptions":[{"countries":["\#(country)"],"min_severity":"low"}]\#(extra)}"#
}

/// A service with the receivers, the subscribers it made and the secrets the receiver trusts.
final class FollowThroughBed {
    let receivers: Receivers
    let service = ServiceProcess()
    private var secrets: [String] = []

    init() throws {
        receivers = try Receivers()
        try service.start(environment: fastRetries(smtp: receivers.smtp.port))
    }

    deinit { service.kill(signal: SIGKILL) }

    var client: BlockingHTTPClient { get throws { try BlockingHTTPClient(port: service.port) } }

    /// Stores a subscriber (as the bootstrap operator) and trusts its webhook secret.
    func subscriber(_ body: String) throws -> String {
        let response = try client.request("POST", "/v1/subscribers", body: body, headers: auth)
        #expect(response.status == 201, "\(response.text)")
        let made = try JSONDecoder().decode(CreatedSubscriber.self, from: Data(response.body))
        secrets += made.channels.compactMap(\.secret)
        try receivers.trust(secrets)
        return made.id
    }

    /// Files `body` with `headers` (the bootstrap operator by default); the alert id.
    func file(_ body: String, headers: [String: String] = auth) throws -> String {
        let response = try client.request("POST", "/v1/alerts", body: body, headers: headers)
        #expect(response.status == 202, "\(response.text)")
        return try JSONDecoder().decode(Accepted.self, from: Data(response.body)).id
    }

    /// Every webhook the receiver logged.
    var hooks: [FollowThroughHook] { Receivers.lines(receivers.webhookLog) }

    /// The webhooks to paths under `path` about `alert`, of event `type`.
    func hooks(_ path: String, alert: String, type: String) -> [FollowThroughHook] {
        hooks.filter { $0.path.hasPrefix(path) && $0.payload?.data?.id == alert && $0.payload?.type == type }
    }

    /// The path of an `ack_url` (`http://127.0.0.1:PORT/ack/…`) on this service.
    func ackPath(_ url: String) throws -> String {
        let parsed = try #require(URL(string: url))
        #expect(parsed.port == service.port, "ack_url \(url) must point at the service")
        return parsed.path
    }
}

/// An alert body: critical, in Belarus, restricted, with optional case fields.
func followThroughAlert(kind: String = "alert", caseID: String? = nil, severity: String = "critical", extra: String = "") -> String {
    let head = caseID.map { #""kind":"\#(kind)","case_id":"\#($0)","# } ?? ""
    return #"{\#(head)"country":"BY","threat":"arrest","severity":"\#(severity)","certainty":"observed","confidentiality":"restricted","summary":"Union leader detained in Minsk.","defender":{"name":"Follow Defender"}\#(extra)}"#
}

/// Issue 19's promises against the real service with real receivers, on both backends
/// (`VIGIL_E2E_LOG=kafka` runs them on the Kafka backend).
@Suite(.serialized) struct FollowThroughEndToEndTests {
    /// An unacknowledged critical alert escalates to the backup desk after its window and
    /// reminds the first desk; one acknowledged through its `ack_url` (POST) does not, and a
    /// `GET` on the link changes nothing; the filer's `reports` subscriber hears of both.
    @Test func silenceEscalatesAndAnAcknowledgementThroughTheLinkStopsIt() throws {
        let bed = try FollowThroughBed()
        let backup = try bed.subscriber(deskBody(organisation: "backup-org", url: bed.receivers.url("/ok/backup"), country: "UA"))
        let policy = #"{"min_severity":"critical","after_seconds":2,"to":["\#(backup)"],"remind_every_seconds":1,"max_reminders":2}"#
        let primary = try bed.subscriber(deskBody(organisation: "desk-org", url: bed.receivers.url("/ok/primary"), language: "fr", escalation: policy))
        // The bootstrap token files as "vigil-operators": its reports desk follows another country.
        _ = try bed.subscriber(deskBody(organisation: "vigil-operators", url: bed.receivers.url("/ok/reports"), country: "UA", reports: true))

        let silent = try bed.file(followThroughAlert())
        #expect(try eventually(20) { bed.hooks("/ok/backup", alert: silent, type: "alert.escalated").count == 1 })
        #expect(bed.hooks("/ok/backup", alert: silent, type: "alert.escalated").first?.payload?.escalated_from == primary)
        #expect(try eventually(20) { bed.hooks("/ok/primary", alert: silent, type: "alert.reminder").count == 2 })
        #expect(try eventually(10) { bed.hooks("/ok/reports", alert: silent, type: "alert.escalated").count == 1 })

        let answered = try bed.file(followThroughAlert())
        #expect(try eventually(10) { !bed.hooks("/ok/primary", alert: answered, type: "alert.created").isEmpty })
        let created = try #require(bed.hooks("/ok/primary", alert: answered, type: "alert.created").first)
        let link = try bed.ackPath(try #require(created.payload?.ack_url))
        let page = try bed.client.request("GET", link)
        #expect(page.status == 200 && page.text.contains("<form method=\"post\">") && page.text.contains("Accuser réception"), "\(page.text)")
        for directive in ["default-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "script-src 'self'"] {
            #expect(page.headers["content-security-policy"]?.contains(directive) == true, "the link page's policy lacks \(directive)")
        }
        #expect(page.headers["cache-control"] == "no-store" && page.headers["x-content-type-options"] == "nosniff")
        #expect(try bed.client.request("GET", "/v1/alerts/\(answered)/acks", headers: auth).text.contains(#""acks":[]"#), "a GET must change nothing")
        let posted = try bed.client.request(
            "POST", link, body: "action=acting&note=Lawyer+called", headers: ["Content-Type": "application/x-www-form-urlencoded"])
        #expect(posted.status == 200 && posted.text.contains("Merci"), "\(posted.text)")
        let again = try bed.client.request("POST", link, body: #"{"action":"demarche"}"#, headers: ["Content-Type": "application/json"])
        #expect(again.status == 200 && again.text.contains(#""first":false"#), "acknowledging again updates: \(again.text)")
        // On Kafka the ledger is a cache of vigil.acks: the first record read back may briefly stand for the update.
        var acks = ""
        #expect(try eventually(5) {
            acks = try bed.client.request("GET", "/v1/alerts/\(answered)/acks", headers: auth).text
            return acks.contains(#""action":"demarche""#)
        })
        #expect(acks.contains(#""via":"link""#) && acks.contains("Lawyer called"), "\(acks)")
        #expect(try eventually(10) { bed.hooks("/ok/reports", alert: answered, type: "alert.acknowledged").count == 1 })

        // Past the window and both reminders: nothing more for the answered alert.
        usleep(4_500_000)
        #expect(bed.hooks("/ok/backup", alert: answered, type: "alert.escalated").isEmpty)
        #expect(bed.hooks("/ok/primary", alert: answered, type: "alert.reminder").isEmpty)
        #expect(bed.hooks("/ok/reports", alert: answered, type: "alert.escalated").isEmpty)
        let stopped = try deliveries(bed.service.port, of: answered).filter { $0.reason == "follow_up" && [backup, primary].contains($0.subscriber_id) }
        #expect(stopped.count == 3 && stopped.allSatisfy { $0.state == "cancelled" }, "\(stopped.map(\.state))")
        let metrics = try bed.client.request("GET", "/metrics").text
        #expect(metrics.contains("vigil_escalations_total{severity=\"critical\"} 1\n"), "one escalation, one channel")
        #expect(metrics.contains("vigil_time_to_ack_seconds_count{kind=\"ngo\",severity=\"critical\"} 1\n"), "one first acknowledgement")
        #expect(metrics.contains("vigil_unacknowledged_alerts{severity=\"critical\"} "))
        #expect(try auditEntries(bed.service.port, action: "alert.escalated").contains { $0.target == silent && $0.detail.contains(primary) })
        // A hearing within event_reminder_hours (24) of now: the desks of the case are reminded at once.
        let hearing = ISO8601DateFormatter().string(from: Date().addingTimeInterval(7200))
        let scheduled = try bed.file(followThroughAlert(
            kind: "update", caseID: silent, extra: #","case_status":"charged","next_event":{"type":"hearing","at":"\#(hearing)"}"#))
        #expect(try eventually(10) { bed.hooks("/ok/primary", alert: scheduled, type: "case.reminder").count == 1 })
        let board = try bed.client.request("GET", "/v1/cases/\(silent)", headers: auth).text
        #expect(board.contains(#""status":"charged""#) && board.contains(#""type":"hearing""#), "\(board)")
        #expect(bed.hooks.allSatisfy { $0.verified }, "every webhook, new types included, verifies with standardwebhooks")
        let types = Set(bed.hooks.compactMap { $0.payload?.type })
        #expect(types.isSuperset(of: ["alert.escalated", "alert.reminder", "alert.acknowledged", "case.reminder"]), "\(types)")
        let audit = try auditEntries(bed.service.port, action: "alert.acknowledged")
        #expect(audit.filter { $0.target == answered }.count == 2 && !audit.contains { $0.detail.contains("Lawyer") })
    }

    /// A SIGKILL inside the window neither loses nor doubles the escalation.
    @Test func aSIGKILLInsideTheWindowStillEscalatesExactlyOnce() throws {
        let bed = try FollowThroughBed()
        let backup = try bed.subscriber(deskBody(organisation: "backup-org", url: bed.receivers.url("/ok/backup"), country: "UA"))
        let policy = #"{"min_severity":"critical","after_seconds":6,"to":["\#(backup)"]}"#
        _ = try bed.subscriber(deskBody(organisation: "desk-org", url: bed.receivers.url("/ok/primary"), escalation: policy))
        let alert = try bed.file(followThroughAlert())
        // Killed as soon as the routing (and with it the escalation, due in 6 s) is recorded.
        #expect(try eventually(10) { try deliveries(bed.service.port, of: alert).contains { $0.subscriber_id == backup } })
        bed.service.kill(signal: SIGKILL)
        #expect(bed.hooks("/ok/backup", alert: alert, type: "alert.escalated").isEmpty, "killed inside the window")
        try bed.service.start(environment: fastRetries(smtp: bed.receivers.smtp.port))
        #expect(try eventually(20) { bed.hooks("/ok/backup", alert: alert, type: "alert.escalated").count == 1 })
        usleep(2_000_000)
        let escalations = bed.hooks("/ok/backup", alert: alert, type: "alert.escalated")
        #expect(escalations.count == 1 && escalations.allSatisfy { $0.verified })
        #expect(try deliveries(bed.service.port, of: alert).filter { $0.subscriber_id == backup }.map(\.state) == ["delivered"])
    }

    /// A closing update stops the reminders still pending.
    @Test func aClosingUpdateStopsReminders() throws {
        let bed = try FollowThroughBed()
        // A window long enough for the update to be filed and routed inside it on either backend.
        let policy = #"{"min_severity":"high","after_seconds":4,"to":[],"remind_every_seconds":1,"max_reminders":3}"#
        let desk = try bed.subscriber(deskBody(organisation: "desk-org", url: bed.receivers.url("/ok/desk"), escalation: policy))
        let alert = try bed.file(followThroughAlert())
        #expect(try eventually(10) { !bed.hooks("/ok/desk", alert: alert, type: "alert.created").isEmpty })
        let update = try bed.file(followThroughAlert(kind: "update", caseID: alert, extra: #","case_status":"released""#))
        #expect(try eventually(10) { !bed.hooks("/ok/desk", alert: update, type: "alert.created").isEmpty || !bed.hooks("/ok/desk", alert: update, type: "alert.updated").isEmpty })
        usleep(7_500_000)  // past the window and the three reminders
        #expect(bed.hooks("/ok/desk", alert: alert, type: "alert.reminder").isEmpty, "a released defender's case needs no reminders")
        let reminders = try deliveries(bed.service.port, of: alert).filter { $0.subscriber_id == desk && $0.reason == "follow_up" }
        #expect(reminders.count == 3 && reminders.allSatisfy { $0.state == "cancelled" }, "\(reminders.map(\.state))")
        let board = try bed.client.request("GET", "/v1/cases/\(alert)", headers: auth).text
        #expect(board.contains(#""status":"released""#), "\(board)")
        #expect(try auditEntries(bed.service.port, action: "case.status_changed").contains { $0.target == alert && $0.detail.contains("released") })
    }

    /// A subscriber the filer excluded receives nothing, live or replayed.
    @Test func anExcludedSubscriberReceivesNothingLiveOrReplayed() throws {
        let bed = try FollowThroughBed()
        let kept = try bed.subscriber(deskBody(organisation: "desk-org", url: bed.receivers.url("/ok/kept")))
        let excluded = try bed.subscriber(deskBody(organisation: "embassy-org", url: bed.receivers.url("/ok/excluded")))
        let alert = try bed.file(followThroughAlert(extra: #","handling":{"exclude_subscribers":["\#(excluded)"],"no_public_statement":true}"#))
        #expect(try eventually(10) { try deliveries(bed.service.port, of: alert).contains { $0.subscriber_id == kept && $0.state == "delivered" } })
        let skipped = try deliveries(bed.service.port, of: alert).filter { $0.subscriber_id == excluded }
        #expect(skipped.map(\.state) == ["skipped"])
        let replay = try bed.client.request("POST", "/v1/replays", body: #"{"alert_ids":["\#(alert)"]}"#, headers: auth)
        #expect(replay.status == 202, "\(replay.text)")
        let progress = try JSONDecoder().decode(ReplayProgressBody.self, from: Data(replay.body))
        #expect(try eventually(15) {
            try JSONDecoder().decode(ReplayProgressBody.self, from: Data(try bed.client.request("GET", "/v1/replays/\(progress.id)", headers: auth).body)).state == "done"
        })
        usleep(1_000_000)
        #expect(!bed.hooks.contains { $0.path.hasPrefix("/ok/excluded") }, "the excluded desk must never be called")
        // The handling instructions travel with the alert and forbid contradicting actions.
        let refused = try bed.client.request(
            "POST", "/v1/alerts/\(alert)/acks", body: #"{"subscriber_id":"\#(kept)","action":"public_statement"}"#, headers: auth)
        #expect(refused.status == 409 && refused.text.contains("no_public_statement"), "\(refused.text)")
    }

    /// The who-is-acting board shows each organisation's acknowledgement to the readers allowed
    /// to see it and hides notes below clearance; `vigil ack` and `vigil case` work through the API.
    @Test func theBoardShowsAcknowledgementsToTheReadersAllowed() throws {
        let bed = try FollowThroughBed()
        let service = bed.service
        let filer = try issueToken(service, org: "filer-ngo", scopes: "alerts:write,alerts:read", clearance: "restricted")
        let one = try issueToken(service, org: "desk-one", scopes: "alerts:read", clearance: "public")
        let two = try issueToken(service, org: "desk-two", scopes: "alerts:read", clearance: "restricted")
        let stranger = try issueToken(service, org: "stranger", scopes: "alerts:read", clearance: "confidential")
        let open = try bed.subscriber(deskBody(organisation: "desk-one", url: bed.receivers.url("/ok/one"), ackVisibility: "recipients"))
        let discreet = try bed.subscriber(deskBody(organisation: "desk-two", url: bed.receivers.url("/ok/two")))
        let alert = try bed.file(followThroughAlert(), headers: filer.headers)
        #expect(try eventually(10) { try deliveries(service.port, of: alert).filter { $0.state == "delivered" }.count == 2 })

        let intrusion = try bed.client.request("POST", "/v1/alerts/\(alert)/acks", body: #"{"subscriber_id":"\#(open)"}"#, headers: two.headers)
        #expect(intrusion.status == 403, "\(intrusion.text)")
        let cli = try VigilCommand.run(
            ["ack", alert, "--subscriber", open, "--action", "acting", "--note", "Consul informed"],
            environment: ["VIGIL_URL": "http://127.0.0.1:\(service.port)", "VIGIL_TOKEN": one.token])
        #expect(cli.status == 0 && cli.stdout.contains("acknowledged"), "\(cli.stderr)")
        let viaAPI = try bed.client.request(
            "POST", "/v1/alerts/\(alert)/acks", body: #"{"subscriber_id":"\#(discreet)","action":"trial_observation","note":"Observer sent"}"#,
            headers: two.headers)
        #expect(viaAPI.status == 201, "\(viaAPI.text)")

        struct Board: Decodable {
            struct Row: Decodable { let subscriber_id: String; let delivered: Bool; let acknowledged: Bool; let action: String?; let note: String? }
            let status: String?
            let alerts: [ListedAlert]
            let board: [Row]
        }
        func board(_ headers: [String: String]) throws -> [String: Board.Row] {
            let response = try bed.client.request("GET", "/v1/cases/\(alert)", headers: headers)
            #expect(response.status == 200, "\(response.text)")
            return Dictionary(uniqueKeysWithValues: try JSONDecoder().decode(Board.self, from: Data(response.body)).board.map { ($0.subscriber_id, $0) })
        }
        let asFiler = try board(filer.headers)
        #expect(Set(asFiler.keys) == [open, discreet])
        #expect(asFiler[open]?.action == "acting" && asFiler[open]?.note == "Consul informed" && asFiler[open]?.delivered == true)
        #expect(asFiler[discreet]?.action == "trial_observation" && asFiler[discreet]?.note == "Observer sent")
        let asOperator = try board(auth)
        #expect(Set(asOperator.keys) == [open, discreet])
        // desk-two received the case: it sees its own row and desk-one's, which is marked for recipients.
        let asTwo = try board(two.headers)
        #expect(Set(asTwo.keys) == [open, discreet] && asTwo[open]?.note == "Consul informed")
        // desk-one sees its own row only (desk-two's are for the filer), and below the alert's clearance no note.
        let asOne = try board(one.headers)
        #expect(Set(asOne.keys) == [open] && asOne[open]?.acknowledged == true && asOne[open]?.note == "[redacted]")
        #expect(try board(stranger.headers).isEmpty, "an organisation that did not receive the case sees no one")
        let acksBelow = try bed.client.request("GET", "/v1/alerts/\(alert)/acks", headers: one.headers).text
        #expect(!acksBelow.contains("Consul informed") && !acksBelow.contains("Observer sent"), "\(acksBelow)")
        let printed = try VigilCommand.run(["case", alert], environment: ["VIGIL_URL": "http://127.0.0.1:\(service.port)", "VIGIL_TOKEN": filer.token])
        #expect(printed.status == 0 && printed.stdout.contains("acting") && printed.stdout.contains("trial_observation"), "\(printed.stderr)")
    }
}
