import Foundation
import Testing
import VigilCore
import VigilCrypto
import VigilHTTP
import VigilHTTPClient
import VigilStore
@testable import VigilConsole

/// The desk, admin and account pages on the real service over loopback (issue 20): a desk
/// edits its own subscribers through the subscribers API's own code, rotates a webhook secret
/// and sends itself a test alert; an admin invites and disables accounts through the code of
/// `vigil users`; anyone changes their password or enrols an authenticator.
@Suite(.serialized, .timeLimit(.minutes(3))) struct DeskPagesTests {
    let fixture: ConsoleFixture

    init() throws { fixture = try ConsoleFixture() }

    /// A subscriber of `organisation` following BY, with a webhook to a closed loopback port;
    /// its id, its webhook channel's id and the secret shown when it was made.
    func subscriber(
        _ organisation: String, name: String = "BY desk", subscription: String = #"{"countries":["BY"],"min_severity":"low"}"#
    ) throws -> (id: String, channelID: String, secret: String) {
        let response = try fixture.api("POST", "/v1/subscribers", json: """
            {"name":"\(organisation) \(name)","kind":"diplomatic_desk","organisation":"\(organisation)","contact":"desk@example.org",
             "clearance":"restricted","language":"en","channels":[{"type":"webhook","url":"http://127.0.0.1:9/hook"}],
             "subscriptions":[\(subscription)]}
            """)
        #expect(response.status == 201, "\(response.text)")
        guard case .object(let fields) = try JSONParser.parse(response.body), case .string(let id)? = fields["id"],
            case .array(let channels)? = fields["channels"], case .object(let channel)? = channels.first,
            case .string(let channelID)? = channel["id"], case .string(let secret)? = channel["secret"]
        else { throw ConsoleTestError("no id, channel or secret in \(response.text)") }
        return (id, channelID, secret)
    }

    func expectPageRules(_ response: BlockingHTTPClient.Response, _ what: String) {
        #expect(response.headers["cache-control"] == "no-store", "\(what): cache-control")
        #expect(response.headers["content-security-policy"]?.contains("default-src 'self'") == true, "\(what): CSP")
        let page = response.text
        #expect(PageStructure.problems(page).isEmpty, "\(what): \(PageStructure.problems(page))")
        #expect(response.body.count < 90_000, "\(what) weighs \(response.body.count) bytes without its stylesheet")
        // Ids are unique, and every label points at a control that exists.
        let ids = page.components(separatedBy: " id=\"").dropFirst().compactMap { $0.split(separator: "\"", maxSplits: 1).first.map(String.init) }
        #expect(Set(ids).count == ids.count, "\(what) repeats an id: \(ids.filter { id in ids.filter { $0 == id }.count > 1 })")
        let targets = page.components(separatedBy: "<label for=\"").dropFirst().compactMap { $0.split(separator: "\"", maxSplits: 1).first.map(String.init) }
        #expect(targets.allSatisfy(Set(ids).contains), "\(what) has a label for a missing control")
    }

    func waitFor<T>(_ what: String, _ probe: () throws -> T?) throws -> T {
        for _ in 0..<200 {
            if let found = try probe() { return found }
            Thread.sleep(forTimeInterval: 0.025)
        }
        throw ConsoleTestError("timed out waiting for \(what)")
    }

    /// Whether the audit trail (written in the background) soon holds an entry of `action` that `matches`.
    func audited(_ action: AuditAction, _ matches: (AuditEntry) -> Bool) throws -> Bool {
        for _ in 0..<200 {
            if try fixture.shared.audit.entries(action: action, limit: 1000).contains(where: matches) { return true }
            Thread.sleep(forTimeInterval: 0.025)
        }
        return false
    }

    // MARK: - Subscriptions

    @Test func aDeskEditsItsOwnSubscriberThroughTheAPIsCode() throws {
        let own = try subscriber("eu-desk")
        let colleague = try subscriber("eu-desk", name: "colleague's desk")
        let desk = try fixture.browser(role: .desk, organisation: "eu-desk", subscriberIDs: [own.id])
        let page = try desk.get("/console/subscriptions")
        #expect(page.status == 200)
        expectPageRules(page, "subscriptions")
        #expect(page.text.contains("<section data-subscriber-id=\"\(own.id)\"") && !page.text.contains(colleague.id))
        #expect(page.text.contains("http://127.0.0.1:9/hook") && page.text.contains("name=\"subscriptions[0].countries\" value=\"BY\""))

        let saved = try desk.post("/console/subscriptions/\(own.id)", [
            ("subscriptions[0].countries", "BY, co"), ("subscriptions[0].min_severity", "high"), ("subscriptions[0].threats", "arrest"),
            ("subscriptions[0].threats", "detention"), ("language", "fr"), ("ack_visibility", "recipients"),
            ("escalation.min_severity", "critical"), ("escalation.after_seconds", "3600"), ("escalation.to", colleague.id),
        ], formPage: "/console/subscriptions")
        #expect(saved.status == 303 && saved.headers["location"] == "/console/subscriptions?done=saved", "\(saved.text)")
        let stored = try #require(try fixture.shared.subscribers.subscriber(id: own.id))
        #expect(stored.subscriptions.first?.minSeverity == .high)
        #expect(stored.subscriptions.first?.countries == [CountryCode("BY")!, CountryCode("CO")!])
        #expect(stored.subscriptions.first?.threats == [.arrest, .detention])
        #expect(stored.language == "fr" && stored.ackVisibility == .recipients)
        #expect(stored.escalation == EscalationPolicy(minSeverity: .critical, afterSeconds: 3600, to: [colleague.id]))
        #expect(stored.channels.map(\.id) == [own.channelID] && stored.channels.first?.url == "http://127.0.0.1:9/hook", "channels are kept")
        #expect(stored.contact == "desk@example.org" && stored.clearance == .restricted && stored.organisation == "eu-desk")
        let after = try desk.get("/console/subscriptions?done=saved").text
        #expect(after.contains("id=\"notice\"") && after.contains("<option value=\"high\" selected>"))
        #expect(try audited(.subscriberSaved) { $0.tokenID == desk.account!.id && $0.target == own.id })

        // Emptying every escalation field (a browser sends them empty) removes the policy.
        let cleared = try desk.post("/console/subscriptions/\(own.id)", [
            ("subscriptions[0].countries", "BY"), ("subscriptions[0].min_severity", "high"), ("language", "fr"), ("ack_visibility", "filer"),
            ("escalation.min_severity", ""), ("escalation.after_seconds", ""), ("escalation.to", " "), ("escalation.remind_every_seconds", ""),
            ("escalation.max_reminders", ""),
        ], formPage: "/console/subscriptions")
        #expect(cleared.status == 303)
        #expect(try fixture.shared.subscribers.subscriber(id: own.id)?.escalation == nil)
        #expect(try fixture.shared.subscribers.subscriber(id: own.id)?.subscriptions.first?.threats == nil, "no threat ticked: every threat")
        // A form without a subscription's fields (added since the page was read) leaves it as it is.
        let languageOnly = try desk.post("/console/subscriptions/\(own.id)", [("language", "nl")], formPage: "/console/subscriptions")
        #expect(languageOnly.status == 303)
        let kept = try #require(try fixture.shared.subscribers.subscriber(id: own.id))
        #expect(kept.language == "nl" && kept.subscriptions.first?.minSeverity == .high && kept.subscriptions.first?.countries == [CountryCode("BY")!])
    }

    /// A digest set through the API (issue 21) is shown on the page and kept when the form,
    /// which does not edit it, is saved.
    @Test func aSubscriptionsDigestIsShownAndKeptWhenTheFormIsSaved() throws {
        let digest = DigestSchedule(below: .high, every: .days(1), at: TimeOfDay(hour: 8, minute: 0), timezone: "Europe/Brussels")
        let own = try subscriber("digest-desk", subscription: """
            {"countries":["BY"],"min_severity":"low","digest":{"below":"high","every":"P1D","at":"08:00","timezone":"Europe/Brussels"}}
            """)
        let desk = try fixture.browser(role: .desk, organisation: "digest-desk", subscriberIDs: [own.id])
        let page = try desk.get("/console/subscriptions")
        expectPageRules(page, "subscriptions with a digest")
        #expect(page.text.contains("id=\"\(own.id).subscriptions[0].digest\"") && page.text.contains("every P1D, aligned on 08:00 (Europe/Brussels)"))
        let saved = try desk.post("/console/subscriptions/\(own.id)", [
            ("subscriptions[0].countries", "BY"), ("subscriptions[0].min_severity", "medium"), ("language", "en"), ("ack_visibility", "filer"),
        ], formPage: "/console/subscriptions")
        #expect(saved.status == 303, "\(saved.text)")
        let stored = try #require(try fixture.shared.subscribers.subscriber(id: own.id))
        #expect(stored.subscriptions.first?.minSeverity == .medium && stored.subscriptions.first?.digest == digest)
    }

    @Test func aRefusedEditShowsTheAPIsMessagesBesideTheirFieldsAndKeepsWhatWasTyped() throws {
        let own = try subscriber("eu-desk")
        let desk = try fixture.browser(role: .desk, organisation: "eu-desk", subscriberIDs: [own.id])
        let refused = try desk.post("/console/subscriptions/\(own.id)", [
            ("subscriptions[0].countries", "BY ZZ"), ("subscriptions[0].min_severity", "low"), ("language", "en"), ("ack_visibility", "filer"),
            ("escalation.after_seconds", "soon"),
        ], formPage: "/console/subscriptions")
        #expect(refused.status == 422)
        expectPageRules(refused, "refused edit")
        let page = refused.text
        let countries = "\(own.id).subscriptions[0].countries"
        #expect(page.contains("id=\"error-\(countries)\""), "no problem beside the countries")
        #expect(page.contains("aria-describedby=\"hint-\(countries) error-\(countries)\" aria-invalid=\"true\""))
        // The API's own message for the same subscriber JSON.
        let api = try fixture.api("PUT", "/v1/subscribers/\(own.id)", json: """
            {"name":"eu-desk BY desk","kind":"diplomatic_desk","organisation":"eu-desk","contact":"desk@example.org","clearance":"restricted",
             "channels":[{"id":"\(own.channelID)","type":"webhook","url":"http://127.0.0.1:9/hook"}],
             "subscriptions":[{"countries":["BY","ZZ"],"min_severity":"low"}]}
            """)
        #expect(api.status == 422)
        let message = "'ZZ' is not an ISO 3166-1 alpha-2 code (or * for every country)"
        #expect(api.text.contains(message))
        #expect(page.contains(HTML.escape(message)))
        #expect(page.contains("id=\"error-\(own.id).escalation.after_seconds\"") && page.contains("must be a whole number from 1 to"))
        #expect(page.contains("value=\"BY ZZ\"") && page.contains("value=\"soon\""), "what was typed is kept")
        #expect(try fixture.shared.subscribers.subscriber(id: own.id)?.subscriptions.first?.countries == [CountryCode("BY")!], "nothing stored")
    }

    @Test func aDeskCannotTouchAnotherDesksSubscriber() throws {
        let own = try subscriber("eu-desk")
        let other = try subscriber("eu-desk", name: "another desk")
        let foreign = try subscriber("other-ministry")
        let desk = try fixture.browser(role: .desk, organisation: "eu-desk", subscriberIDs: [own.id])
        // Bound to a subscriber of another organisation (an old binding): still refused.
        let stray = try fixture.browser(role: .desk, organisation: "eu-desk", subscriberIDs: [own.id, foreign.id])
        for (browser, target) in [(desk, other), (desk, foreign), (stray, foreign)] {
            for path in ["/console/subscriptions/\(target.id)", "/console/subscriptions/\(target.id)/test",
                         "/console/subscriptions/\(target.id)/channels/\(target.channelID)/rotate-secret"] {
                let refused = try browser.post(path, [("subscriptions[0].countries", "*"), ("subscriptions[0].min_severity", "low")], formPage: "/console/subscriptions")
                #expect(refused.status == 403, "\(path)")
            }
        }
        #expect(!(try stray.get("/console/subscriptions").text.contains(foreign.id)))
        #expect(try fixture.shared.subscribers.subscriber(id: other.id)?.subscriptions.first?.allCountries == false)
        #expect(try fixture.shared.subscribers.secrets(channelID: other.channelID) == [other.secret])
        #expect(try audited(.accessRefused) { $0.tokenID == desk.account!.id && $0.target == other.id })
        #expect(try audited(.accessRefused) { $0.tokenID == stray.account!.id && $0.target == foreign.id })
        // Partners do not have the page at all.
        #expect(try fixture.browser(role: .partner).get("/console/subscriptions").status == 403)
    }

    @Test func rotatingAWebhookSecretShowsTheNewOneOnlyOnce() throws {
        let own = try subscriber("eu-desk")
        let desk = try fixture.browser(role: .desk, organisation: "eu-desk", subscriberIDs: [own.id])
        let path = "/console/subscriptions/\(own.id)/channels/\(own.channelID)/rotate-secret"
        #expect(try desk.get("/console/subscriptions").text.contains("action=\"\(path)\""))
        let rotated = try desk.post(path, [], formPage: "/console/subscriptions")
        #expect(rotated.status == 200, "a page, not a redirect: the secret must not go into a URL")
        expectPageRules(rotated, "new secret")
        let secret = try #require(rotated.text.components(separatedBy: "id=\"new-secret\">").dropFirst().first?.components(separatedBy: "<").first)
        #expect(secret.hasPrefix("whsec_") && secret != own.secret)
        // The new secret signs now; the old one is no longer the channel's secret (it only adds
        // a second signature during the API's one-day overlap).
        let secrets = try fixture.shared.subscribers.secrets(channelID: own.channelID)
        #expect(secrets.first == secret && secrets.first != own.secret && secrets == [secret, own.secret])
        #expect(!(try desk.get("/console/subscriptions").text.contains(secret)), "shown once")
        #expect(try audited(.secretRotated) { $0.tokenID == desk.account!.id && $0.target == own.id })
        // An email channel or an unknown one has no secret to rotate.
        let missing = try desk.post("/console/subscriptions/\(own.id)/channels/chn_nope/rotate-secret", [], formPage: "/console/subscriptions")
        #expect(missing.status == 404 && !missing.text.contains("new-secret"))
    }

    @Test func aTestAlertIsFiledAsATestAndReplayedToThatSubscriberOnly() throws {
        let own = try subscriber("eu-desk")
        let neighbour = try subscriber("eu-desk", name: "neighbour")
        let desk = try fixture.browser(role: .desk, organisation: "eu-desk", subscriberIDs: [own.id])
        let sent = try desk.post("/console/subscriptions/\(own.id)/test", [], formPage: "/console/subscriptions")
        #expect(sent.status == 303 && sent.headers["location"] == "/console/subscriptions?done=tested", "\(sent.text)")
        let log = fixture.service.backend.log
        let tests = try log.alerts(matching: AlertQuery(country: CountryCode("BY"), limit: 10)).filter { $0.alert.status == .test }
        #expect(tests.count == 1)
        let test = try #require(tests.first)
        #expect(test.alert.confidentiality == .public && test.alert.summary.contains("Test alert") && test.alert.defender.name.contains("not a real person"))
        #expect(try audited(.alertFiled) { $0.tokenID == desk.account!.id && $0.target == test.alert.id })
        let started = try waitFor("the replay's audit entry") {
            try fixture.shared.audit.entries(action: .replayStarted).first { $0.tokenID == desk.account!.id }
        }
        let replay = try waitFor("the replay to finish") { try fixture.shared.replays.replay(id: started.target).flatMap { $0.state == .running ? nil : $0 } }
        // ReplayRunner sends a test alert when a replay names it for one subscriber.
        #expect(replay.state == .done && replay.target.subscriberID == own.id && replay.selection.alertIDs == [test.alert.id])
        #expect(replay.alerts == 1 && replay.deliveries == 1)
        let deliveries = try waitFor("the live routing of the test alert") {
            let all = try fixture.service.backend.deliveries.deliveries(ofAlert: test.alert.id)
            return all.contains { $0.subscriberID == neighbour.id } ? all : nil
        }
        let replayed = deliveries.filter { $0.replayID == started.target }
        #expect(replayed.map(\.subscriberID) == [own.id] && replayed.allSatisfy { $0.state != .skipped })
        #expect(deliveries.filter { $0.subscriberID == neighbour.id }.allSatisfy { $0.state == .skipped && $0.replayID == nil }, "live routing skips a test")
        // A wider replay still leaves test alerts alone.
        var everything = ReplaySelection()
        everything.fromOffset = 1
        let sweep = try #require(try fixture.service.backend.log.alert(id: test.alert.id))
        #expect(Router.replay(sweep, index: try fixture.shared.subscribers.index(), target: ReplayTarget(subscriberID: own.id)).isEmpty)
        #expect(!Router.replaySendsTest(sweep, selection: everything, target: ReplayTarget(subscriberID: own.id)))
        #expect(try desk.get("/console/subscriptions?done=tested").text.contains("id=\"notice\""))
    }

    // MARK: - Users

    @Test func anAdminInvitesThroughTheCodeOfVigilUsers() throws {
        let own = try subscriber("eu-desk")
        let admin = try fixture.browser(role: .admin, organisation: "vigil-ops", clearance: .confidential)
        let page = try admin.get("/console/users")
        #expect(page.status == 200)
        expectPageRules(page, "users")
        #expect(page.text.contains("<table id=\"users\">") && page.text.contains("data-account-id=\"\(admin.account!.id)\"") && page.text.contains("id=\"invite-form\""))
        let invited = try admin.post("/console/users", [
            ("email", "New.Desk@Example.org"), ("role", "desk"), ("organisation", "eu-desk"), ("clearance", ""), ("subscriber_ids", own.id + "\r\n"),
            ("language", "nl"),
        ])
        #expect(invited.status == 200, "a page, not a redirect: the link is a secret")
        expectPageRules(invited, "invitation made")
        let link = try #require(invited.text.components(separatedBy: "id=\"invite-link\">").dropFirst().first?.components(separatedBy: "<").first)
        #expect(link.hasPrefix("http://127.0.0.1:\(fixture.port)/console/invite/"), "\(link)")
        let token = String(link.split(separator: "/").last ?? "")
        let invitation = try #require(try fixture.shared.accounts.invitation(token: token))
        #expect(invitation.email == "new.desk@example.org" && invitation.role == .desk && invitation.clearance == .public, "the desk's default clearance")
        #expect(invitation.subscriberIDs == [own.id] && invitation.language == "nl" && invitation.invitedBy == admin.account!.id)
        #expect(try fixture.anonymous().get("/console/invite/\(token)").status == 200)
        #expect(try audited(.accountInvited) { $0.tokenID == admin.account!.id && $0.target == invitation.id })
        #expect(try admin.get("/console/users").text.contains("data-invitation-id=\"\(invitation.id)\""))

        // The CLI's checks, with its messages.
        let unbound = try admin.post("/console/users", [("email", "d2@example.org"), ("role", "desk"), ("organisation", "eu-desk"), ("language", "en")])
        #expect(unbound.status == 422 && unbound.text.contains("id=\"error-subscriber_ids\""))
        #expect(unbound.text.contains(HTML.escape(InvitationError.deskWithoutSubscribers.description)) && unbound.text.contains("value=\"d2@example.org\""))
        let stranger = try admin.post("/console/users", [
            ("email", "d3@example.org"), ("role", "desk"), ("organisation", "other-ministry"), ("subscriber_ids", own.id), ("language", "en"),
        ])
        #expect(stranger.status == 422 && stranger.text.contains(HTML.escape(InvitationError.unknownSubscriber(own.id, "other-ministry").description)))
        let taken = try admin.post("/console/users", [("email", admin.account!.email), ("role", "partner"), ("organisation", "x"), ("language", "en")])
        #expect(taken.status == 422 && taken.text.contains("id=\"error-email\""))
        let noRole = try admin.post("/console/users", [("email", "d4@example.org"), ("organisation", "x"), ("language", "en")])
        #expect(noRole.status == 422 && noRole.text.contains("id=\"error-role\""))
        #expect(try fixture.shared.accounts.account(email: "d2@example.org") == nil && (try fixture.shared.accounts.invitations().filter { $0.usedAt == nil }.count) == 1)
    }

    @Test func anAdminDisablesAnotherAccountButNotItself() throws {
        let admin = try fixture.browser(role: .admin, organisation: "vigil-ops", clearance: .confidential)
        let partner = try fixture.browser(role: .partner)
        #expect(try partner.get("/console/users").status == 403, "a partner cannot open the users page")
        #expect(try fixture.browser(role: .operator, organisation: "vigil-ops").get("/console/users").status == 403)
        let page = try admin.get("/console/users").text
        #expect(page.contains("action=\"/console/users/\(partner.account!.id)/disable\"") && !page.contains("action=\"/console/users/\(admin.account!.id)/disable\""))
        let disabled = try admin.post("/console/users/\(partner.account!.id)/disable", [], formPage: "/console/users")
        #expect(disabled.status == 303 && disabled.headers["location"] == "/console/users?done=disabled")
        #expect(try fixture.shared.accounts.account(id: partner.account!.id)?.disabledAt != nil)
        #expect(try partner.get("/console/alerts").status == 303, "a disabled account's session is over")
        #expect(try audited(.accountDisabled) { $0.tokenID == admin.account!.id && $0.target == partner.account!.id })
        #expect(try admin.post("/console/users/\(admin.account!.id)/disable", [], formPage: "/console/users").status == 403)
        #expect(try fixture.shared.accounts.account(id: admin.account!.id)?.disabledAt == nil)
    }

    // MARK: - Account

    @Test func changingThePasswordEndsEverySessionAndTheNewOneSignsIn() throws {
        let partner = try fixture.browser(role: .partner, language: "es")
        let other = ConsoleBrowser(
            port: fixture.port, account: partner.account, cookie: "vigil_session=" + (try fixture.shared.sessions.create(accountID: partner.account!.id, stage: .signedIn)))
        let page = try partner.get("/console/account")
        #expect(page.status == 200 && page.text.contains("<html lang=\"es\">"))
        expectPageRules(page, "account")
        #expect(try partner.get("/console/alerts").text.contains("href=\"/console/account\""), "the navigation links to the account page")
        let newPassword = "a brand new passphrase for vigil"
        let wrong = try partner.post("/console/account/password", [
            ("current_password", "not my password at all"), ("password", newPassword), ("password_confirm", newPassword),
        ], formPage: "/console/account")
        #expect(wrong.status == 422 && wrong.text.contains("id=\"error-current_password\""))
        let short = try partner.post("/console/account/password", [
            ("current_password", ConsoleBrowser.password), ("password", "short"), ("password_confirm", "short"),
        ], formPage: "/console/account")
        #expect(short.status == 422 && short.text.contains("id=\"error-password\""), "the invitation page's rules")
        let mismatch = try partner.post("/console/account/password", [
            ("current_password", ConsoleBrowser.password), ("password", newPassword), ("password_confirm", newPassword + "!"),
        ], formPage: "/console/account")
        #expect(mismatch.status == 422 && mismatch.text.contains("id=\"error-password_confirm\""))
        let changed = try partner.post("/console/account/password", [
            ("current_password", ConsoleBrowser.password), ("password", newPassword), ("password_confirm", newPassword),
        ], formPage: "/console/account")
        #expect(changed.status == 303 && changed.headers["location"] == "/console/login?done=password", "\(changed.text)")
        #expect(changed.headers["set-cookie"]?.hasPrefix("vigil_session=;") == true)
        #expect(try partner.get("/console/alerts").status == 303, "this session is over")
        #expect(try other.get("/console/alerts").status == 303, "every other session is over")
        #expect(try audited(.accountUpdated) { $0.tokenID == partner.account!.id })

        func signIn(_ password: String) throws -> BlockingHTTPClient.Response {
            var browser = fixture.anonymous()
            browser.cookie = try browser.get("/console/login").headers["set-cookie"]?.split(separator: ";").first.map(String.init)
            return try browser.post("/console/login", [("email", partner.account!.email), ("password", password)])
        }
        #expect(try signIn(ConsoleBrowser.password).status == 401)
        let signedIn = try signIn(newPassword)
        #expect(signedIn.status == 303 && signedIn.headers["location"] == "/console/alerts")
        let session = ConsoleBrowser(port: fixture.port, account: nil, cookie: signedIn.headers["set-cookie"]?.split(separator: ";").first.map(String.init))
        #expect(try session.get("/console/alerts").status == 200)
    }

    @Test func anAccountWithoutAnAuthenticatorEnrolsOne() throws {
        let desk = try fixture.browser(role: .desk, organisation: "eu-desk", subscriberIDs: [try subscriber("eu-desk").id])
        let page = try desk.get("/console/account")
        #expect(page.text.contains("id=\"totp-form\"") && page.text.contains("id=\"totp-qr\"") && page.text.contains("otpauth://totp/"))
        let secret = page.text.components(separatedBy: "id=\"totp-secret\">").last?.components(separatedBy: "<").first ?? ""
        let totp = try #require(TOTP(base32Secret: secret))
        let enrolment = ConsoleBrowser.hiddenValue("enrolment", in: page.text) ?? ""
        let now = Int64(Date().timeIntervalSince1970)
        let code = totp.code(at: now)
        let wrong = try desk.post("/console/account/totp", [("enrolment", enrolment), ("totp", code == "000000" ? "111111" : "000000")], formPage: "/console/account")
        #expect(wrong.status == 422 && wrong.text.contains("id=\"error-totp\"") && wrong.text.contains(secret), "the same secret is offered again")
        // A sealed secret is bound to its account: another account's form does not open it.
        let stranger = try fixture.browser(role: .partner)
        #expect(try stranger.post("/console/account/totp", [("enrolment", enrolment), ("totp", code)], formPage: "/console/account").status == 422)
        let enrolled = try desk.post("/console/account/totp", [("enrolment", enrolment), ("totp", code)], formPage: "/console/account")
        #expect(enrolled.status == 303 && enrolled.headers["location"] == "/console/account?done=totp", "\(enrolled.text)")
        let account = try #require(try fixture.shared.accounts.account(id: desk.account!.id))
        let stored = try fixture.shared.accounts.totpSecret(accountID: account.id)
        #expect(account.totpEnrolled && stored == totp.secret)
        #expect(try fixture.shared.accounts.useTOTPStep(accountID: account.id, step: now / 30) == false, "the enrolling code cannot sign in again")
        let after = try desk.get("/console/account?done=totp").text
        #expect(after.contains("id=\"totp-enrolled\"") && !after.contains("id=\"totp-form\"") && after.contains("id=\"notice\""))
    }
}
