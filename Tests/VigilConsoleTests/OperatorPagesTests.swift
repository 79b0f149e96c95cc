import Foundation
import Testing
import VigilConcurrency
import VigilCore
import VigilHTTPClient
import VigilStore
@testable import VigilConsole

/// The operator pages on the real service over loopback (issue 20): dead letters and their
/// retry, a replay's preview, confirmation and progress, the audit trail newest first with
/// accounts named by email, and the subscribers, each through the API's own code and refused
/// to partners and desks.
@Suite(.serialized, .timeLimit(.minutes(2))) struct OperatorPagesTests {
    let fixture: ConsoleFixture

    init() throws { fixture = try ConsoleFixture() }

    /// A desk subscriber of `organisation` following `country`: a webhook to a closed loopback
    /// port (with a path the page must not show) and an email channel.
    func subscriber(_ organisation: String, country: String = "BY") throws -> Subscriber {
        let response = try fixture.api("POST", "/v1/subscribers", json: """
            {"name":"\(organisation) desk","kind":"diplomatic_desk","organisation":"\(organisation)","contact":"desk@example.org",
             "clearance":"restricted","language":"en",
             "channels":[{"type":"webhook","url":"http://127.0.0.1:9/hooks/secret-path-4f2a"},{"type":"email","address":"duty@\(organisation).example"}],
             "subscriptions":[{"countries":["\(country)"],"min_severity":"low"}],
             "escalation":{"min_severity":"high","after_seconds":3600,"to":["sub_elsewhere"],"remind_every_seconds":1800,"max_reminders":2}}
            """)
        guard response.status == 201, case .object(let fields) = try JSONParser.parse(response.body), case .string(let id)? = fields["id"],
            let subscriber = try fixture.shared.subscribers.subscriber(id: id)
        else { throw ConsoleTestError("subscriber not made: \(response.status) \(response.text)") }
        return subscriber
    }

    /// Files an alert through the API with the bootstrap token; its id.
    func file(country: String = "BY", confidentiality: String = "restricted", name: String = "Operator Testovich") throws -> String {
        let response = try fixture.api("POST", "/v1/alerts", json: """
            {"country":"\(country)","threat":"arrest","severity":"high","certainty":"observed","confidentiality":"\(confidentiality)",
             "summary":"Union organiser detained after a strike meeting.","defender":{"name":"\(name)"}}
            """)
        guard (200..<300).contains(response.status), case .object(let fields) = try JSONParser.parse(response.body), case .string(let id)? = fields["id"]
        else { throw ConsoleTestError("alert not filed: \(response.status) \(response.text)") }
        return id
    }

    /// Waits until the router has read past `alertID`, so a subscriber made afterwards gets no live delivery of it.
    func routed(_ alertID: String) throws {
        let offset = try #require(try fixture.service.backend.log.alert(id: alertID)).offset
        let queue = try #require(fixture.service.backend.deliveries as? EmbeddedDeliveryQueue)
        for _ in 0..<250 where try queue.position(of: AlertRouter.consumer) < offset { Thread.sleep(forTimeInterval: 0.02) }
        #expect(try queue.position(of: AlertRouter.consumer) >= offset, "the router did not reach \(alertID)")
    }

    /// The audit entries of `action` once `satisfied` holds (the trail is written behind the answer).
    func audited(_ action: AuditAction, until satisfied: ([AuditEntry]) -> Bool) throws -> [AuditEntry] {
        var entries: [AuditEntry] = []
        for _ in 0..<200 {
            entries = try fixture.shared.audit.entries(action: action, limit: 1000)
            if satisfied(entries) { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return entries
    }

    /// The hidden inputs of the form `id` in `page`, in order.
    static func hiddenFields(ofForm id: String, in page: String) -> [(String, String)] {
        guard let start = page.range(of: "id=\"\(id)\"") else { return [] }
        let form = page[start.upperBound...].prefix { $0 != "\u{0}" }.components(separatedBy: "</form>")[0]
        return form.components(separatedBy: "<input type=\"hidden\" name=\"").dropFirst().compactMap { piece in
            let parts = piece.components(separatedBy: "\" value=\"")
            guard parts.count >= 2, let value = parts[1].components(separatedBy: "\"").first else { return nil }
            return (parts[0], value.replacingOccurrences(of: "&amp;", with: "&"))
        }
    }

    @Test func everyOperatorPageOpensForOperatorsAndAdminsAndIsRefusedToOthers() throws {
        _ = try subscriber("eu-desk")
        let operatorBrowser = try fixture.browser(role: .operator, organisation: "vigil-ops")
        let admin = try fixture.browser(role: .admin, organisation: "vigil-ops")
        let partner = try fixture.browser(role: .partner)
        let desk = try fixture.browser(role: .desk, organisation: "eu-desk")
        let pages = [
            ("/console/deliveries", "id=\"delivery-counts\""), ("/console/replays/new", "id=\"replay-form\""), ("/console/audit", "id=\"audit\""),
            ("/console/subscribers", "id=\"subscribers\""),
        ]
        for (path, marker) in pages {
            for browser in [operatorBrowser, admin] {
                let page = try browser.get(path)
                #expect(page.status == 200 && page.text.contains(marker), "\(path) for \(browser.account!.role): \(page.status)")
                #expect(page.headers["cache-control"] == "no-store" && page.headers["content-security-policy"]?.contains("form-action 'self'") == true)
                #expect(PageStructure.problems(page.text).isEmpty, "\(path): \(PageStructure.problems(page.text))")
            }
            for browser in [partner, desk] {
                let refused = try browser.get(path)
                #expect(refused.status == 403 && !refused.text.contains(marker), "\(path) for \(browser.account!.role): \(refused.status)")
            }
        }
        #expect(try partner.get("/console/replays/rpl_whatever").status == 403)
        #expect(try fixture.anonymous().get("/console/audit").headers["location"] == "/console/login")
        // Every control of the replay form has its label.
        let form = try operatorBrowser.get("/console/replays/new").text
        for name in ReplayPages.fields where !["severities", "threats"].contains(name) {
            #expect(form.contains("<label for=\"\(name)\">") && form.contains("id=\"\(name)\" name=\"\(name)\""), "\(name) unlabelled")
        }
        #expect(form.contains("<input type=\"checkbox\" id=\"severities-0\" name=\"severities\" value=\"low\"><label for=\"severities-0\""))
    }

    @Test func retryingADeadLetterQueuesItAgainUnderTheAccountsName() throws {
        let alertID = try file()
        try routed(alertID)
        // The subscriber comes after the routing, so it made no delivery; the dead letter is made by hand.
        let desk = try subscriber("eu-desk")
        let stored = try #require(try fixture.service.backend.log.alert(id: alertID))
        try fixture.service.backend.deliveries.record([RoutedDelivery(
            alertID: alertID, alertOffset: stored.offset, subscriberID: desk.id, channelID: desk.channels[0].id, channelType: .webhook,
            clearance: .restricted, severity: .high, reason: .matched, initialState: .dead)])
        let dead = try #require(try fixture.service.backend.deliveries.deadLetters(limit: 10).first)
        // An error recorded before issue 17 carries the receiver's reply, which may echo a name: shown up to the status only.
        let queue = fixture.service.backend.deliveries
        let marked: String? = BlockingPool.wait { done in
            queue.complete(dead.id, outcome: .dead(error: #"the receiver answered 500: {"defender":"Echoed Name"}"#), at: .now()) { done($0.map { "\($0)" }) }
        }
        #expect(marked == nil)
        let operatorBrowser = try fixture.browser(role: .operator, organisation: "vigil-ops")
        let page = try operatorBrowser.get("/console/deliveries")
        #expect(page.text.contains("<tr data-delivery-id=\"\(dead.id)\"") && page.text.contains("href=\"/console/alerts/\(alertID)\""))
        #expect(page.text.contains("eu-desk desk") && page.text.contains("<dd data-state=\"dead\">1</dd>"))
        #expect(page.text.contains("action=\"/console/deliveries/\(dead.id)/retry\""))
        #expect(page.text.contains("<td>the receiver answered 500</td>") && !page.text.contains("Echoed Name"))
        #expect(PageStructure.problems(page.text).isEmpty, "dead letters: \(PageStructure.problems(page.text))")

        // Without the token: refused, and still dead.
        #expect(try operatorBrowser.post("/console/deliveries/\(dead.id)/retry", [], formPage: "/console/deliveries", csrf: false).status == 403)
        #expect(try fixture.service.backend.deliveries.deadLetters(limit: 10).map(\.id) == [dead.id])

        let retried = try operatorBrowser.post("/console/deliveries/\(dead.id)/retry", [], formPage: "/console/deliveries")
        #expect(retried.status == 303 && retried.headers["location"] == "/console/deliveries?done=retried", "\(retried.status) \(retried.text)")
        #expect(try fixture.service.backend.deliveries.deadLetters(limit: 10).isEmpty)
        // Pending again (the workers may already have tried it: a closed port fails it for a later retry, never dead at once).
        let state = try #require(try fixture.service.backend.deliveries.deliveries(ofAlert: alertID).first { $0.id == dead.id }?.state)
        #expect([.pending, .inFlight, .failed].contains(state), "\(state)")
        let entries = try audited(.deliveriesRetried) { !$0.isEmpty }
        #expect(entries.count == 1 && entries[0].tokenID == operatorBrowser.account!.id && entries[0].target == dead.id)
        let after = try operatorBrowser.get("/console/deliveries?done=retried").text
        #expect(after.contains("id=\"notice\"") && after.contains("id=\"no-dead-letters\""))
        // A second retry of the same delivery finds nothing dead: the page says so, nothing is audited.
        let again = try operatorBrowser.post("/console/deliveries/\(dead.id)/retry", [], formPage: "/console/deliveries")
        #expect(again.status == 404 && again.text.contains("id=\"problems\""))
        Thread.sleep(forTimeInterval: 0.1)
        #expect(try fixture.shared.audit.entries(action: .deliveriesRetried).count == 1)
    }

    @Test func aPreviewListsTheMatchingAlertsRedactedAndConfirmStartsOneReplay() throws {
        let hidden = try file(confidentiality: "confidential", name: "Previewed Hiddenname")
        let shown = try file(confidentiality: "public", name: "Public Visiblename")
        let elsewhere = try file(country: "CO")
        // No live deliveries, so the replay's count is exact (one in flight would not be queued again).
        try routed(elsewhere)
        let desk = try subscriber("eu-desk")
        let operatorBrowser = try fixture.browser(role: .operator, organisation: "vigil-ops", clearance: .restricted)
        let selection = [("from_offset", "1"), ("countries", "by"), ("severities", "high"), ("severities", "critical")]
        let preview = try operatorBrowser.post("/console/replays/new", selection + [("step", "preview")])
        #expect(preview.status == 200, "\(preview.text)")
        let page = preview.text
        #expect(page.contains("id=\"preview\"") && page.contains("<tr data-alert-id=\"\(hidden)\"") && page.contains("<tr data-alert-id=\"\(shown)\""))
        #expect(!page.contains("data-alert-id=\"\(elsewhere)\""), "a CO alert is not in a BY replay")
        #expect(!page.contains("Hiddenname") && page.contains("Public Visiblename"), "the confidential name is withheld at restricted clearance")
        #expect(page.contains("id=\"preview-summary\">2 alerts would be sent again, as 4 deliveries"), "two channels each")
        // The selection is kept in the form, and again in the confirm form's hidden fields.
        #expect(page.contains("id=\"countries\" name=\"countries\" value=\"by\"") && page.contains("value=\"critical\" checked>"))
        let confirmFields = Self.hiddenFields(ofForm: "confirm-form", in: page)
        #expect(confirmFields.filter { $0.0 != "csrf_token" }.map { "\($0.0)=\($0.1)" } == ["from_offset=1", "countries=by", "severities=high", "severities=critical"])
        #expect(page.contains("id=\"confirm\" name=\"step\" value=\"confirm\""))
        #expect(page.components(separatedBy: "id=\"preview\"").count == 2, "one element is #preview: the table")
        #expect(PageStructure.problems(page).isEmpty, "preview: \(PageStructure.problems(page))")
        // A preview starts nothing: only the dry run is audited, under the operator's account.
        let dryRuns = try audited(.replayStarted) { !$0.isEmpty }
        #expect(dryRuns.count == 1 && dryRuns[0].target == "dry-run" && dryRuns[0].tokenID == operatorBrowser.account!.id)
        #expect(try fixture.shared.replays.running().isEmpty)

        let confirmed = try operatorBrowser.post("/console/replays/new", confirmFields.filter { $0.0 != "csrf_token" } + [("step", "confirm")])
        #expect(confirmed.status == 303, "\(confirmed.text)")
        let location = try #require(confirmed.headers["location"])
        #expect(location.hasPrefix("/console/replays/rpl_"))
        let replayID = String(location.dropFirst("/console/replays/".count))
        var progress = try operatorBrowser.get(location)
        for _ in 0..<200 where !progress.text.contains("data-state=\"done\"") {
            #expect(progress.headers["refresh"] == "5" || progress.text.contains("data-state=\"done\""), "a running replay's page reloads itself")
            Thread.sleep(forTimeInterval: 0.02)
            progress = try operatorBrowser.get(location)
        }
        #expect(progress.status == 200 && progress.text.contains("id=\"replay-state\" data-state=\"done\">done<"), "\(progress.text)")
        #expect(progress.text.contains("id=\"replay-deliveries\">4<") && progress.headers["refresh"] == nil)
        #expect(progress.text.contains("href=\"/console/replays/\(replayID)\" id=\"reload\""))
        #expect(PageStructure.problems(progress.text).isEmpty, "progress: \(PageStructure.problems(progress.text))")
        let stored = try #require(try fixture.shared.replays.replay(id: replayID))
        #expect(stored.selection.countries == [CountryCode("BY")!] && stored.selection.severities == [.high, .critical] && stored.target.subscriberID == nil)
        let started = try audited(.replayStarted) { $0.count >= 2 }.filter { $0.target != "dry-run" }
        #expect(started.map(\.target) == [replayID] && started[0].tokenID == operatorBrowser.account!.id, "one replay, named after the account")
        #expect(try fixture.service.backend.deliveries.deliveries(ofAlert: shown).contains { $0.replayID == replayID && $0.subscriberID == desk.id })
        #expect(try operatorBrowser.get("/console/replays/rpl_unknown").status == 404)
    }

    @Test func badSelectionsShowTheAPIsMessagesBesideTheirFields() throws {
        let operatorBrowser = try fixture.browser(role: .operator, organisation: "vigil-ops")
        let letters = try operatorBrowser.post("/console/replays/new", [("from_offset", "abc"), ("countries", "BY XX"), ("step", "preview")])
        #expect(letters.status == 422)
        #expect(letters.text.contains("id=\"error-from_offset\">must be a log offset (a whole number from 1)<"), "\(letters.text)")
        #expect(letters.text.contains("id=\"error-countries\">is not an ISO 3166-1 alpha-2 code<"))
        #expect(letters.text.contains("value=\"abc\"") && letters.text.contains("aria-describedby=\"hint-from_offset error-from_offset\""))
        #expect(PageStructure.problems(letters.text).isEmpty, "refused replay: \(PageStructure.problems(letters.text))")
        #expect(!letters.text.contains("<table id=\"preview\"") && letters.text.contains("<button type=\"submit\" id=\"preview\""))
        // The API says the same thing about the same field.
        let api = try fixture.api("POST", "/v1/replays", json: #"{"from_offset":"abc","dry_run":true}"#)
        #expect(api.status == 422 && api.text.contains("must be a log offset (a whole number from 1)"))

        let backwards = try operatorBrowser.post("/console/replays/new", [("from_offset", "5"), ("to_offset", "2"), ("step", "confirm")])
        #expect(backwards.status == 422 && backwards.text.contains("id=\"error-to_offset\">must not be below from_offset<"))
        let channelAlone = try operatorBrowser.post("/console/replays/new", [("from_offset", "1"), ("channel_id", "ch_x"), ("step", "preview")])
        #expect(channelAlone.status == 422 && channelAlone.text.contains("id=\"error-channel_id\">needs subscriber_id<"))
        let nothing = try operatorBrowser.post("/console/replays/new", [("step", "preview")])
        #expect(nothing.status == 422 && nothing.text.contains("id=\"problems\"") && nothing.text.contains("name at least one of"))
        Thread.sleep(forTimeInterval: 0.1)
        #expect(try fixture.shared.audit.entries(action: .replayStarted).isEmpty, "nothing refused is run or audited")
        // Without the CSRF token, or from another site: refused before anything is read.
        #expect(try operatorBrowser.post("/console/replays/new", [("from_offset", "1"), ("step", "confirm")], csrf: false).status == 403)
        #expect(try operatorBrowser.post("/console/replays/new", [("from_offset", "1"), ("step", "confirm")], headers: ["sec-fetch-site": "cross-site"]).status == 403)
        #expect(try fixture.shared.replays.running().isEmpty)
    }

    @Test func theAuditTrailReadsNewestFirstNamesAccountsAndPages() throws {
        let operatorBrowser = try fixture.browser(role: .operator, organisation: "vigil-ops")
        let trail = fixture.shared.audit
        trail.record((1...130).map { AuditEntry(tokenID: "tok_cli", organisation: "vigil-operators", action: .subscriberSaved, target: "sub_\($0)") })
        _ = try fixture.api("POST", "/v1/replays", json: #"{"from_offset":1,"dry_run":true}"#)
        _ = try operatorBrowser.post("/console/replays/new", [("from_offset", "1"), ("step", "preview")])
        _ = try audited(.replayStarted) { $0.count == 2 }
        _ = try audited(.subscriberSaved) { $0.count >= 130 }

        let first = try operatorBrowser.get("/console/audit").text
        let seqs = first.components(separatedBy: "<tr data-seq=\"").dropFirst().compactMap { Int64($0.prefix { $0.isNumber }) }
        #expect(seqs.count == AuditPage.pageSize && seqs == seqs.sorted(by: >), "newest first, one page")
        // The console's dry run names the account by email, the API's by its token id.
        let rows = first.components(separatedBy: "<tr data-seq=").filter { $0.contains("data-action=\"replay.started\"") }
        #expect(rows.count == 2)
        #expect(rows.contains { $0.contains("<td class=\"actor\">\(operatorBrowser.account!.email)</td>") })
        #expect(rows.contains { !$0.contains("@") && $0.contains("<td class=\"actor\">tok_") })
        #expect(!first.contains("id=\"audit-newer\""))
        let olderLink = try #require(first.components(separatedBy: "<a href=\"").first { $0.contains("id=\"audit-older\"") }?.components(separatedBy: "\"").first)
        #expect(olderLink == "/console/audit?before=\(seqs.last!)")
        let second = try operatorBrowser.get(olderLink).text
        let olderSeqs = second.components(separatedBy: "<tr data-seq=\"").dropFirst().compactMap { Int64($0.prefix { $0.isNumber }) }
        #expect(!olderSeqs.isEmpty && olderSeqs.allSatisfy { $0 < seqs.last! } && olderSeqs == olderSeqs.sorted(by: >))
        #expect(second.contains("id=\"audit-newer\"") && second.contains("href=\"/console/audit?after=\(olderSeqs.first!)\""))
        let back = try operatorBrowser.get("/console/audit?after=\(olderSeqs.first!)").text
        let backSeqs = back.components(separatedBy: "<tr data-seq=\"").dropFirst().compactMap { Int64($0.prefix { $0.isNumber }) }
        #expect(backSeqs == seqs, "newer from the second page is the first page again")

        let filtered = try operatorBrowser.get("/console/audit?action=replay.started").text
        #expect(filtered.components(separatedBy: "<tr data-seq=").count == 3 && filtered.contains("<option value=\"replay.started\" selected>"))
        // Junk in the query is ignored, never echoed.
        let junk = try operatorBrowser.get("/console/audit?action=%3Cscript%3E&before=-4&after=abc")
        #expect(junk.status == 200 && !junk.text.contains("<script>") && junk.text.components(separatedBy: "<tr data-seq=").count == AuditPage.pageSize + 1)
    }

    @Test func theSubscribersPageShowsChannelsWithoutWebhookPaths() throws {
        let desk = try subscriber("eu-desk")
        let other = try subscriber("nl-mfa", country: "CO")
        let page = try fixture.browser(role: .operator, organisation: "vigil-ops").get("/console/subscribers").text
        for shown in [desk, other] { #expect(page.contains("<tr data-subscriber-id=\"\(shown.id)\"")) }
        #expect(page.contains("<code>127.0.0.1</code>") && !page.contains("secret-path-4f2a") && page.contains("duty@eu-desk.example"))
        #expect(page.contains("Belarus") && page.contains("Colombia") && page.contains("Diplomatic desk") && page.contains("Restricted"))
        #expect(page.contains("High or above, unacknowledged after 3600 s: to sub_elsewhere.") && page.contains("Reminders every 1800 s, at most 2."))
        #expect(page.contains("the filer and operators"))
        #expect(page.range(of: "eu-desk desk")!.lowerBound < page.range(of: "nl-mfa desk")!.lowerBound, "sorted by organisation")
    }

    @Test func operatorPagesSpeakFrenchAndDutch() throws {
        for (language, title) in [("fr", "Rejouer des alertes"), ("nl", "Meldingen opnieuw versturen")] {
            let browser = try fixture.browser(role: .operator, organisation: "vigil-ops", language: language)
            let page = try browser.get("/console/replays/new").text
            #expect(page.contains("<html lang=\"\(language)\">") && page.contains("<h1>\(title)</h1>"))
        }
        for key in ConsoleCatalogue.entries.keys where ["deadletters.", "replay.", "audit.", "subscriberlist."].contains(where: { key.hasPrefix($0) }) {
            let entry = ConsoleCatalogue.entries[key] ?? []
            #expect(entry.count >= 3 && entry.prefix(3).allSatisfy { !$0.isEmpty }, "\(key) lacks French or Dutch")
        }
    }
}
