import Foundation
import Testing
import VigilCore
import VigilCrypto
import VigilHTTPClient
import VigilStore
@testable import VigilConsole

/// The console's pages on the real service over loopback (issue 20): security headers,
/// sign-in with and without TOTP, invitations, CSRF and cross-site refusals, filing with its
/// problems beside their fields, a desk's redacted feed and acknowledgement, a case update.
@Suite(.serialized, .timeLimit(.minutes(2))) struct ConsolePagesTests {
    let fixture: ConsoleFixture

    init() throws { fixture = try ConsoleFixture() }

    static let requiredHeaders = [
        ("content-security-policy", "default-src 'self'"), ("content-security-policy", "frame-ancestors 'none'"),
        ("content-security-policy", "form-action 'self'"), ("x-content-type-options", "nosniff"), ("referrer-policy", "no-referrer"),
    ]

    func expectSecurityHeaders(_ response: BlockingHTTPClient.Response, noStore: Bool = true, _ what: String) {
        for (name, part) in Self.requiredHeaders {
            #expect(response.headers[name]?.contains(part) == true, "\(what): \(name) lacks \(part)")
        }
        if noStore { #expect(response.headers["cache-control"] == "no-store", "\(what): cache-control is \(response.headers["cache-control"] ?? "absent")") }
    }

    /// A desk subscriber of `organisation` following BY, webhook to a closed loopback port.
    func deskSubscriber(_ organisation: String, clearance: String = "restricted") throws -> String {
        let response = try fixture.api("POST", "/v1/subscribers", json: """
            {"name":"\(organisation) BY desk","kind":"diplomatic_desk","organisation":"\(organisation)","contact":"desk@example.org",
             "clearance":"\(clearance)","language":"en","channels":[{"type":"webhook","url":"http://127.0.0.1:9/hook"}],
             "subscriptions":[{"countries":["BY"],"min_severity":"low"}]}
            """)
        #expect(response.status == 201, "\(response.text)")
        guard case .object(let fields) = try JSONParser.parse(response.body), case .string(let id)? = fields["id"] else { throw ConsoleTestError("no id") }
        return id
    }

    static let goodFiling: [(String, String)] = [
        ("country", "BY"), ("threat", "arrest"), ("severity", "high"), ("urgency", "immediate"), ("certainty", "observed"),
        ("confidentiality", "confidential"), ("summary", "Arrested at the <b>union</b> office & taken to Okrestina."),
        ("summary_public", "A trade unionist was arrested in Minsk."), ("language", "en"), ("defender.name", "Aliaksandr Testovich"),
        ("defender.group", "trade_unionist"), ("links", "https://example.org/a\r\nhttps://example.org/b"), ("tags", "union"), ("kind", "alert"),
    ]

    func file(_ partner: ConsoleBrowser, _ fields: [(String, String)], key: String? = nil) throws -> BlockingHTTPClient.Response {
        let page = try partner.get("/console/alerts/new")
        let idempotency = key ?? ConsoleBrowser.hiddenValue("idempotency_key", in: page.text) ?? ""
        return try partner.post("/console/alerts/new", fields + [("idempotency_key", idempotency)])
    }

    @Test func everyResponseCarriesTheSecurityHeaders() throws {
        let anonymous = fixture.anonymous()
        let login = try anonymous.get("/console/login")
        #expect(login.status == 200 && PageStructure.problems(login.text).isEmpty, "login: \(PageStructure.problems(login.text))")
        expectSecurityHeaders(login, "login")
        let css = try anonymous.get("/console/assets/console.css")
        #expect(css.status == 200 && css.headers["content-type"]?.hasPrefix("text/css") == true)
        expectSecurityHeaders(css, noStore: false, "stylesheet")
        let redirect = try anonymous.get("/console/alerts")
        #expect(redirect.status == 303 && redirect.headers["location"] == "/console/login")
        expectSecurityHeaders(redirect, "redirect")
        let missing = try anonymous.get("/console/no-such-page")
        #expect(missing.status == 404 && PageStructure.problems(missing.text).isEmpty)
        expectSecurityHeaders(missing, "the console's not-found page")
        let partner = try fixture.browser(role: .partner)
        for path in ["/console/alerts", "/console/alerts/new"] {
            let page = try partner.get(path)
            #expect(page.status == 200, "\(path)")
            expectSecurityHeaders(page, path)
            #expect(PageStructure.problems(page.text).isEmpty, "\(path): \(PageStructure.problems(page.text))")
            #expect(page.body.count + css.body.count < 100_000, "\(path) weighs \(page.body.count + css.body.count) bytes with its stylesheet")
        }
    }

    @Test func signInWithPasswordSetsAStrictCookieAndRefusalsDoNotTellWhichWasWrong() throws {
        let partner = try fixture.browser(role: .partner)
        let email = partner.account!.email
        var anonymous = fixture.anonymous()
        let first = try anonymous.get("/console/login")
        anonymous.cookie = first.headers["set-cookie"]?.split(separator: ";").first.map(String.init)
        #expect(first.headers["set-cookie"]?.contains("HttpOnly") == true && first.headers["set-cookie"]?.contains("SameSite=Strict") == true)
        let wrongPassword = try anonymous.post("/console/login", [("email", email), ("password", "not the password at all")])
        let unknownEmail = try anonymous.post("/console/login", [("email", "nobody@example.org"), ("password", ConsoleBrowser.password)])
        #expect(wrongPassword.status == 401 && unknownEmail.status == 401)
        let problem = { (page: String) in page.components(separatedBy: "id=\"problems\"").last?.components(separatedBy: "</div>").first ?? "" }
        #expect(problem(wrongPassword.text) == problem(unknownEmail.text) && !problem(wrongPassword.text).isEmpty)
        let good = try anonymous.post("/console/login", [("email", email.uppercased()), ("password", ConsoleBrowser.password)])
        #expect(good.status == 303 && good.headers["location"] == "/console/alerts")
        let cookie = good.headers["set-cookie"] ?? ""
        #expect(cookie.hasPrefix("vigil_session=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/console"))
        #expect(!cookie.contains("Secure"), "no Secure over plain http unless console_secure_cookies")
        let signedIn = ConsoleBrowser(port: fixture.port, account: nil, cookie: String(cookie.split(separator: ";")[0]))
        #expect(try signedIn.get("/console/alerts").status == 200)
        // Signing out ends the session on the server, not only in the browser.
        let out = try signedIn.post("/console/logout", [], formPage: "/console/alerts")
        #expect(out.status == 303 && out.headers["location"] == "/console/login?done=signedout")
        #expect(try signedIn.get("/console/alerts").status == 303)
    }

    @Test func failedSignInsAreThrottled() throws {
        let partner = try fixture.browser(role: .partner)
        var anonymous = fixture.anonymous()
        anonymous.cookie = try anonymous.get("/console/login").headers["set-cookie"]?.split(separator: ";").first.map(String.init)
        var statuses: [Int] = []
        for _ in 0..<6 { statuses.append(try anonymous.post("/console/login", [("email", partner.account!.email), ("password", "wrong wrong wrong")]).status) }
        #expect(statuses.prefix(5).allSatisfy { $0 == 401 } && statuses.last == 429, "\(statuses)")
        // Even the right password waits out the throttle.
        #expect(try anonymous.post("/console/login", [("email", partner.account!.email), ("password", ConsoleBrowser.password)]).status == 429)
    }

    @Test func totpIsAskedAfterThePasswordAndACodeWorksOnce() throws {
        let totp = TOTP.generate()
        let (_, token) = try fixture.shared.accounts.invite(
            email: "op@example.org", organisation: "vigil-ops", role: .operator, clearance: .confidential, language: "fr", subscriberIDs: [],
            invitedBy: "test")
        let hash = try PasswordHash.make(password: ConsoleBrowser.password, parameters: .fast)
        _ = try fixture.shared.accounts.acceptInvitation(token: token, passwordHash: hash.encoded, totpSecret: totp.secret)
        var browser = fixture.anonymous()
        browser.cookie = try browser.get("/console/login").headers["set-cookie"]?.split(separator: ";").first.map(String.init)
        let password = try browser.post("/console/login", [("email", "op@example.org"), ("password", ConsoleBrowser.password)])
        #expect(password.status == 303 && password.headers["location"] == "/console/login")
        browser.cookie = password.headers["set-cookie"]?.split(separator: ";").first.map(String.init)
        // A password alone opens nothing.
        #expect(try browser.get("/console/alerts").status == 303)
        let page = try browser.get("/console/login")
        #expect(page.text.contains("name=\"totp\"") && page.text.contains("lang=\"fr\""))
        let code = totp.code(at: Int64(Date().timeIntervalSince1970))
        let wrong = try browser.post("/console/login", [("totp", code == "000000" ? "111111" : "000000")])
        #expect(wrong.status == 401 && wrong.text.contains("id=\"error-totp\""))
        let right = try browser.post("/console/login", [("totp", code)])
        #expect(right.status == 303 && right.headers["location"] == "/console/alerts", "\(right.status) \(right.text)")
        let session = right.headers["set-cookie"]?.split(separator: ";").first.map(String.init)
        #expect(session != browser.cookie, "a new session id after the second factor")
        #expect(try ConsoleBrowser(port: fixture.port, account: nil, cookie: session).get("/console/deliveries").status != 303)
        // The same code cannot sign in a second time.
        var again = fixture.anonymous()
        again.cookie = try again.get("/console/login").headers["set-cookie"]?.split(separator: ";").first.map(String.init)
        again.cookie = try again.post("/console/login", [("email", "op@example.org"), ("password", ConsoleBrowser.password)]).headers["set-cookie"]?
            .split(separator: ";").first.map(String.init)
        #expect(try again.post("/console/login", [("totp", code)]).status == 401)
    }

    @Test func anInvitationMakesAnAccountOnceWithItsAuthenticator() throws {
        let (_, token) = try fixture.shared.accounts.invite(
            email: "admin@example.org", organisation: "vigil-ops", role: .admin, clearance: .confidential, language: "nl", subscriberIDs: [],
            invitedBy: "test")
        var browser = fixture.anonymous()
        let page = try browser.get("/console/invite/\(token)")
        browser.cookie = page.headers["set-cookie"]?.split(separator: ";").first.map(String.init)
        #expect(page.status == 200 && page.text.contains("id=\"totp-qr\"") && page.text.contains("otpauth://totp/"))
        #expect(PageStructure.problems(page.text).isEmpty, "invitation page: \(PageStructure.problems(page.text))")
        let secret = page.text.components(separatedBy: "id=\"totp-secret\">").last?.components(separatedBy: "<").first ?? ""
        let totp = try #require(TOTP(base32Secret: secret))
        let enrolment = ConsoleBrowser.hiddenValue("enrolment", in: page.text) ?? ""
        // An admin must enrol: no code, no account.
        let without = try browser.post(
            "/console/invite/\(token)", [("password", "a long enough passphrase"), ("password_confirm", "a long enough passphrase"), ("enrolment", enrolment)])
        #expect(without.status == 422 && without.text.contains("id=\"error-totp\"") && without.text.contains("aria-describedby=\"hint-totp error-totp\""))
        let code = totp.code(at: Int64(Date().timeIntervalSince1970))
        let made = try browser.post(
            "/console/invite/\(token)",
            [("password", "a long enough passphrase"), ("password_confirm", "a long enough passphrase"), ("enrolment", enrolment), ("totp", code)])
        #expect(made.status == 303 && made.headers["location"] == "/console/login?done=invited", "\(made.text)")
        let account = try #require(try fixture.shared.accounts.account(email: "admin@example.org"))
        #expect(account.totpEnrolled && account.role == .admin)
        #expect(try fixture.shared.accounts.totpSecret(accountID: account.id) == totp.secret)
        // Used once.
        #expect(try browser.get("/console/invite/\(token)").status == 404)
        // The code that proved the enrolment does not also sign in.
        let signIn = try browser.post("/console/login", [("email", "admin@example.org"), ("password", "a long enough passphrase")])
        #expect(signIn.status == 303 && signIn.headers["location"] == "/console/login")
        browser.cookie = signIn.headers["set-cookie"]?.split(separator: ";").first.map(String.init)
        #expect(try browser.post("/console/login", [("totp", code)]).status == 401)
    }

    @Test func formsWithoutTheTokenOrFromAnotherSiteAreRefused() throws {
        let partner = try fixture.browser(role: .partner)
        let noToken = try partner.post("/console/alerts/new", Self.goodFiling, csrf: false)
        #expect(noToken.status == 403)
        let crossSite = try partner.post("/console/alerts/new", Self.goodFiling, headers: ["sec-fetch-site": "cross-site"])
        #expect(crossSite.status == 403)
        var foreign = partner
        foreign.cookie = partner.cookie
        let otherToken = try fixture.browser(role: .partner).csrfToken("/console/alerts/new") ?? ""
        let wrongToken = try partner.post("/console/alerts/new", Self.goodFiling + [("csrf_token", otherToken)], csrf: false)
        #expect(wrongToken.status == 403)
        #expect(try fixture.api("GET", "/v1/alerts?country=BY").text.contains("\"alerts\":[]"))
    }

    @Test func aRefusedFilingShowsEachProblemBesideItsFieldAndKeepsTheText() throws {
        let partner = try fixture.browser(role: .partner)
        var fields = Self.goodFiling.filter { $0.0 != "defender.name" }
        fields.append(("occurred_at", "not a time"))
        let refused = try file(partner, fields)
        #expect(refused.status == 422)
        let page = refused.text
        for field in ["defender.name", "occurred_at"] {
            #expect(page.contains("id=\"error-\(field)\""), "no problem shown for \(field)")
            #expect(page.contains("aria-describedby=\"error-\(field)\"") || page.contains("error-\(field)\" aria-invalid"), "\(field) not described by its problem")
        }
        #expect(page.contains("Arrested at the &lt;b&gt;union&lt;/b&gt; office &amp; taken to Okrestina."), "the summary was not kept (escaped)")
        #expect(page.contains("<option value=\"BY\" selected>"))
    }

    @Test func aFilingLandsOnceAndTheDeskAcknowledgesItAtItsClearance() throws {
        let deskID = try deskSubscriber("eu-desk")
        let partner = try fixture.browser(role: .partner, organisation: "union-aid", clearance: .confidential)
        let key = "console-test-key-1"
        let filed = try file(partner, Self.goodFiling, key: key)
        #expect(filed.status == 303, "\(filed.text)")
        let location = try #require(filed.headers["location"])
        let id = String(location.dropFirst("/console/alerts/".count).prefix(26))
        // The same form sent twice (a double click) files once.
        let twice = try file(partner, Self.goodFiling, key: key)
        #expect(twice.headers["location"] == location)
        let listed = try fixture.api("GET", "/v1/alerts?country=BY").text
        #expect(listed.components(separatedBy: "\"id\":\"\(id)\"").count == 2)
        let alertPage = try partner.get("/console/alerts/\(id)?filed=1")
        #expect(PageStructure.problems(alertPage.text).isEmpty, "alert page: \(PageStructure.problems(alertPage.text))")
        #expect(alertPage.text.contains("Aliaksandr Testovich") && alertPage.text.contains("id=\"notice\""))
        #expect(alertPage.text.contains("&lt;b&gt;union&lt;/b&gt;") && !alertPage.text.contains("<b>union</b>"))

        // The desk's subscriber got it once routed; its restricted desk sees it without the name.
        let desk = try fixture.browser(role: .desk, organisation: "eu-desk", clearance: .restricted, subscriberIDs: [deskID])
        var feed = ""
        for _ in 0..<100 {
            feed = try desk.get("/console/alerts").text
            if feed.contains("data-alert-id=\"\(id)\"") { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(feed.contains("data-alert-id=\"\(id)\"") && !feed.contains("Testovich"))
        let deskPage = try desk.get("/console/alerts/\(id)")
        #expect(deskPage.status == 200 && !deskPage.text.contains("Testovich") && deskPage.text.contains("id=\"ack-form\""))
        #expect(PageStructure.problems(deskPage.text).isEmpty, "desk's alert page: \(PageStructure.problems(deskPage.text))")
        let ack = try desk.post("/console/alerts/\(id)/acks", [("subscriber_id", deskID), ("action", "acting"), ("note", "raised with the MFA")], formPage: "/console/alerts/\(id)")
        #expect(ack.status == 303 && ack.headers["location"] == "/console/alerts/\(id)?done=acked", "\(ack.text)")
        // The partner sees who is acting, and the audit names the desk's account.
        let board = try partner.get("/console/alerts/\(id)").text
        #expect(board.contains("data-subscriber-id=\"\(deskID)\" data-action=\"acting\""))
        var audit: [AuditEntry] = []
        for _ in 0..<100 {
            audit = try fixture.shared.audit.entries(action: .alertAcknowledged)
            if !audit.isEmpty { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(audit.contains { $0.tokenID == desk.account!.id && $0.target == id })
        #expect(try fixture.shared.audit.entries(action: .alertFiled).contains { $0.tokenID == partner.account!.id && $0.target == id })
        // Another organisation's desk cannot open it.
        let stranger = try fixture.browser(role: .desk, organisation: "other", subscriberIDs: [])
        #expect(try stranger.get("/console/alerts/\(id)").status == 404)
        // The case update goes through the same filing path.
        let update = try partner.post("/console/cases/\(id)", [("kind", "update"), ("case_status", "charged"), ("summary", "Charged under article 342."), ("idempotency_key", "case-update-1")])
        #expect(update.status == 303, "\(update.text)")
        let casePage = try partner.get("/console/cases/\(id)").text
        #expect(PageStructure.problems(casePage).isEmpty, "case page: \(PageStructure.problems(casePage))")
        #expect(casePage.components(separatedBy: "<tr data-alert-id=").count == 3 && casePage.contains("id=\"case-status\">Charged"))
    }

    @Test func hostileCookiesQueriesAndPathsAreAnsweredNotTrusted() throws {
        let partner = try fixture.browser(role: .partner)
        // Cookies: huge, malformed, many, or a made-up session id are an anonymous visitor.
        for cookie in [
            "vigil_session=" + String(repeating: "A", count: 6000), "vigil_session", "=;=;=;;", "vigil_session=../../etc/passwd%00",
            (0..<500).map { "c\($0)=\($0)" }.joined(separator: "; "), "vigil_session=\u{1F600}; vigil_pre=\u{0}",
        ] {
            let page = try ConsoleBrowser(port: fixture.port, account: nil, cookie: cookie).get("/console/alerts")
            // A header with a control character is refused by the HTTP server itself (400).
            #expect((page.status == 303 && page.headers["location"] == "/console/login") || page.status == 400, "cookie \(cookie.prefix(40)): \(page.status)")
        }
        // Queries: numbers at and past the ends, and markup, never trap and are never echoed raw.
        for query in [
            "before=-9223372036854775808", "before=9223372036854775807", "before=99999999999999999999999", "before=abc&country=ZZZ",
            "severity=%3Cscript%3E&status=%22%3E%3Cb%3E", "country=" + String(repeating: "B", count: 5000),
        ] {
            let page = try partner.get("/console/alerts?" + query)
            #expect(page.status == 200, "?\(query.prefix(40)) → \(page.status)")
            #expect(!page.text.contains("<script>") && !page.text.contains("\"><b>"))
        }
        // Paths: an overlong or odd invitation token and alert id are not found, never a crash.
        #expect(try fixture.anonymous().get("/console/invite/" + String(repeating: "x", count: 3000)).status == 404)
        #expect(try partner.get("/console/alerts/%3Cscript%3E").status == 404)
        #expect(try partner.get("/console/cases/" + String(repeating: "9", count: 400)).status == 404)
        // An overlong email and password are refused before any hashing.
        var anonymous = fixture.anonymous()
        anonymous.cookie = try anonymous.get("/console/login").headers["set-cookie"]?.split(separator: ";").first.map(String.init)
        let huge = try anonymous.post("/console/login", [("email", String(repeating: "a", count: 10_000) + "@x.org"), ("password", String(repeating: "p", count: 100_000))])
        #expect(huge.status == 401)
        #expect(try fixture.api("GET", "/healthz").status == 200)
    }

    @Test func pagesFollowTheAccountsLanguage() throws {
        let partner = try fixture.browser(role: .partner, language: "es")
        let page = try partner.get("/console/alerts/new").text
        #expect(page.contains("<html lang=\"es\">") && page.contains("Presentar una alerta") && page.contains("Bielorrusia"))
        let anonymous = fixture.anonymous()
        #expect(try anonymous.get("/console/login", headers: ["accept-language": "nl-BE,nl;q=0.9"]).text.contains("<html lang=\"nl\">"))
    }
}

struct ConsoleTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
