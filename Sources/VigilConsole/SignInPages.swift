import VigilCore
import VigilCrypto
import VigilHTTP
import VigilStore

/// Signing in and out, and making an account from an invitation (issue 20):
/// `/console/login` (email and password, then the TOTP code when enrolled),
/// `POST /console/logout`, and `/console/invite/{token}` (set a password and enrol TOTP,
/// shown as text, an `otpauth://` URI and a QR code Vigil draws).
///
/// A refused sign-in never says whether the email or the password was wrong, an unknown
/// email costs the same scrypt as a known one, and failures are throttled per account and
/// per address. Every sign-in gets a new session id.
struct SignInPages {
    let console: ConsoleRoutes

    /// Shortest password accepted.
    static let minPasswordLength = 12
    /// Longest password accepted (scrypt takes any length; this bounds the work).
    static let maxPasswordLength = 1024

    func register(on router: inout HTTPRouter) {
        router.add("GET", "/console/login") { request, responder in responder.send(showLogin(request)) }
        router.add("POST", "/console/login") { request, responder in responder.send(submitLogin(request)) }
        router.add("POST", "/console/logout") { request, responder in responder.send(logout(request)) }
        router.add("GET", "/console/invite/{token}") { request, responder in responder.send(showInvitation(request)) }
        router.add("POST", "/console/invite/{token}") { request, responder in responder.send(acceptInvitation(request)) }
    }

    private var accounts: AccountStore { console.backend.shared.accounts }
    private var sessions: SessionStore { console.backend.shared.sessions }

    // MARK: - Sign in

    private func showLogin(_ request: HTTPRequest) -> HTTPResponse {
        let visitor = console.visitor(request, partnerPage: true)
        if visitor.account != nil { return ConsoleResponse.redirect(to: "/console/alerts", cookies: visitor.cookies) }
        let notice: String? =
            switch request.query["done"] {
            case "invited": visitor.text["login.notice.invited"]
            case "signedout": visitor.text["login.notice.signedout"]
            case "password": visitor.text["login.notice.password"]
            default: nil
            }
        if visitor.awaiting != nil { return totpPage(visitor, problems: []) }
        return loginPage(visitor, email: "", notice: notice, problems: [])
    }

    private func loginPage(_ visitor: ConsoleVisitor, email: String, notice: String? = nil, problems: [String], status: Int = 200) -> HTTPResponse {
        let t = visitor.text
        let body: HTML = """
            <form method="post" action="/console/login" novalidate>
            <input type="hidden" name="csrf_token" value="\(visitor.csrfToken)">
            <label for="email">\(t["login.email"])</label>
            <input type="email" id="email" name="email" autocomplete="username" required value="\(email)">
            <label for="password">\(t["login.password"])</label>
            <input type="password" id="password" name="password" autocomplete="current-password" required>
            <p><button type="submit">\(t["login.submit"])</button></p>
            </form>
            <p class="hint">\(t["login.hint"])</p>
            """
        var response = console.render(visitor, ConsoleLayout.Content(title: t["login.title"], body: body, notice: notice, problems: problems), status: status)
        for cookie in visitor.cookies { response.headers.add("set-cookie", cookie) }
        return response
    }

    private func totpPage(_ visitor: ConsoleVisitor, problems: [String], status: Int = 200) -> HTTPResponse {
        let t = visitor.text
        let invalid: HTML = problems.isEmpty ? "" : " aria-invalid=\"true\" aria-describedby=\"error-totp\""
        let error: HTML = problems.isEmpty ? "" : "<p class=\"error\" id=\"error-totp\">\(problems[0])</p>"
        let body: HTML = """
            <form method="post" action="/console/login" novalidate>
            <input type="hidden" name="csrf_token" value="\(visitor.csrfToken)">
            <label for="totp">\(t["login.totp"])</label>
            <p class="hint" id="totp-hint">\(t["login.totp.hint"])</p>
            \(error)<input type="text" id="totp" name="totp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required\(invalid)>
            <p><button type="submit">\(t["login.totp.submit"])</button></p>
            </form>
            """
        return console.render(visitor, ConsoleLayout.Content(title: t["login.totp.title"], body: body, problems: problems), status: status)
    }

    private func submitLogin(_ request: HTTPRequest) -> HTTPResponse {
        let visitor = console.visitor(request, partnerPage: true)
        let form = FormBody(request.body)
        guard console.mayChangeState(request, form, visitor) else { return console.refusal(visitor, status: 403, "refused.csrf") }
        if let account = visitor.awaiting, let sessionID = visitor.sessionID { return submitTOTP(visitor, account, sessionID, form) }
        let t = visitor.text
        let email = (form.text("email") ?? "").lowercased()
        let password = form["password"] ?? ""
        guard email.utf8.count <= 320, password.utf8.count <= Self.maxPasswordLength else {
            return loginPage(visitor, email: "", problems: [t["login.refused"]], status: 401)
        }
        if let wait = console.throttle.wait(account: email, address: visitor.address) {
            return loginPage(visitor, email: email, problems: [t["login.throttled"].replacingOccurrences(of: "{minutes}", with: String((wait + 59) / 60))], status: 429)
        }
        let account = try? accounts.account(email: email)
        // An unknown email costs the same scrypt as a known one, so timing does not tell them apart.
        let hash = account.flatMap { PasswordHash(encoded: $0.passwordHash) } ?? PasswordHash.decoy
        let passwordMatches = hash.verify(password)
        guard let account, passwordMatches, account.disabledAt == nil else {
            console.throttle.fail(account: email, address: visitor.address)
            console.metrics.increment("vigil_console_sign_ins_total", labels: "outcome=\"refused\"")
            return loginPage(visitor, email: email, problems: [t["login.refused"]], status: 401)
        }
        console.throttle.succeed(account: email)
        let stage: ConsoleSession.Stage = account.totpEnrolled ? .awaitingTOTP : .signedIn
        guard let raw = try? sessions.create(accountID: account.id, stage: stage) else {
            return loginPage(visitor, email: email, problems: [t["common.unavailable"]], status: 503)
        }
        let cookie = ConsoleVisitor.cookie(ConsoleVisitor.sessionCookie, raw, secure: console.settings.secureCookies)
        if stage == .signedIn { signedIn(account) }
        return ConsoleResponse.redirect(to: stage == .signedIn ? "/console/alerts" : "/console/login", cookies: visitor.cookies + [cookie])
    }

    private func submitTOTP(_ visitor: ConsoleVisitor, _ account: Account, _ sessionID: String, _ form: FormBody) -> HTTPResponse {
        let t = visitor.text
        if let wait = console.throttle.wait(account: account.email, address: visitor.address) {
            return totpPage(visitor, problems: [t["login.throttled"].replacingOccurrences(of: "{minutes}", with: String((wait + 59) / 60))], status: 429)
        }
        let now = Timestamp.now()
        let code = form.text("totp") ?? ""
        guard let secret = try? accounts.totpSecret(accountID: account.id),
            let step = TOTP(secret: secret).matchingStep(code, at: now.milliseconds / 1000),
            (try? accounts.useTOTPStep(accountID: account.id, step: step)) == true,
            let promoted = try? sessions.promote(sessionID, now: now)
        else {
            console.throttle.fail(account: account.email, address: visitor.address)
            console.metrics.increment("vigil_console_sign_ins_total", labels: "outcome=\"refused\"")
            return totpPage(visitor, problems: [t["login.totp.refused"]], status: 401)
        }
        console.throttle.succeed(account: account.email)
        signedIn(account)
        let cookie = ConsoleVisitor.cookie(ConsoleVisitor.sessionCookie, promoted, secure: console.settings.secureCookies)
        return ConsoleResponse.redirect(to: "/console/alerts", cookies: [cookie])
    }

    private func signedIn(_ account: Account) {
        console.metrics.increment("vigil_console_sign_ins_total", labels: "outcome=\"signed_in\"")
        console.backend.shared.audit.record([AuditEntry(ConsoleVisitor.principal(account), .accountSignedIn, target: account.id, detail: "signed in to the console")])
    }

    private func logout(_ request: HTTPRequest) -> HTTPResponse {
        let visitor = console.visitor(request, partnerPage: true)
        let form = FormBody(request.body)
        guard console.mayChangeState(request, form, visitor) else { return console.refusal(visitor, status: 403, "refused.csrf") }
        if let sessionID = visitor.sessionID { try? sessions.revoke(sessionID) }
        let cleared = ConsoleVisitor.cookie(ConsoleVisitor.sessionCookie, "", secure: console.settings.secureCookies, maxAge: 0)
        return ConsoleResponse.redirect(to: "/console/login?done=signedout", cookies: [cleared])
    }

    // MARK: - Invitations

    /// The enrolment sealing the invitation form's TOTP secret, bound to the invitation.
    private var enrolment: TOTPEnrolment { TOTPEnrolment(consoleKey: console.settings.key) }

    /// The problems of a new `password` and its confirmation (`password_confirm`) in `form`,
    /// for the account of `email`, by field: the one set of password rules of the console
    /// (the invitation page and the account page).
    static func passwordProblems(_ form: FormBody, email: String, _ t: ConsoleText) -> [String: String] {
        var errors: [String: String] = [:]
        let password = form["password"] ?? ""
        if password.count < minPasswordLength {
            errors["password"] = t["invite.error.short"].replacingOccurrences(of: "{n}", with: String(minPasswordLength))
        } else if password.utf8.count > maxPasswordLength {
            errors["password"] = t["invite.error.long"].replacingOccurrences(of: "{n}", with: String(maxPasswordLength))
        } else if password.lowercased() == email.lowercased() {
            errors["password"] = t["invite.error.email"]
        }
        if form["password_confirm"] != password { errors["password_confirm"] = t["invite.error.confirm"] }
        return errors
    }

    private func showInvitation(_ request: HTTPRequest) -> HTTPResponse {
        var visitor = console.visitor(request, partnerPage: true)
        let token = request.pathParameters["token"] ?? ""
        guard token.utf8.count <= 64, let invitation = try? accounts.invitation(token: token) else { return invalidInvitation(visitor) }
        visitor.language = ConsoleLanguage(tag: invitation.language) ?? visitor.language
        var response = invitationPage(visitor, invitation, token: token, totp: TOTP.generate(), errors: [:])
        for cookie in visitor.cookies { response.headers.add("set-cookie", cookie) }
        return response
    }

    private func invalidInvitation(_ visitor: ConsoleVisitor) -> HTTPResponse {
        let t = visitor.text
        var response = console.render(
            visitor, ConsoleLayout.Content(title: t["invite.title"], body: "<p>\(t["invite.invalid"])</p>"), status: 404)
        for cookie in visitor.cookies { response.headers.add("set-cookie", cookie) }
        return response
    }

    private func invitationPage(_ visitor: ConsoleVisitor, _ invitation: Invitation, token: String, totp: TOTP, errors: [String: String]) -> HTTPResponse {
        let t = visitor.text
        let required = invitation.role.requiresTOTP
        let fields = FormFields(errors: errors)
        let body: HTML = """
            <p>\(t["invite.intro"])</p>
            <dl>
            <dt>\(t["invite.email"])</dt><dd>\(invitation.email)</dd>
            <dt>\(t["invite.organisation"])</dt><dd>\(invitation.organisation)</dd>
            <dt>\(t["invite.role"])</dt><dd>\(t.word("role", invitation.role.rawValue))</dd>
            </dl>
            <form method="post" action="/console/invite/\(token)" novalidate>
            <input type="hidden" name="csrf_token" value="\(visitor.csrfToken)">
            <input type="hidden" name="enrolment" value="\(enrolment.seal(totp, binding: TOTPEnrolment.binding(invitationToken: token)))">
            \(fields.input("password", label: t["invite.password"], type: "password", hint: t["invite.password.hint"], autocomplete: "new-password"))
            \(fields.input("password_confirm", label: t["invite.password_confirm"], type: "password", autocomplete: "new-password"))
            <h2>\(t["invite.totp.title"])</h2>
            <p>\(required ? t["invite.totp.required"] : t["invite.totp.offered"])</p>
            \(TOTPEnrolment.offer(totp, email: invitation.email, t))
            \(fields.input("totp", label: t["invite.totp.code"], hint: t["invite.totp.code.hint"], autocomplete: "one-time-code"))
            <p><button type="submit">\(t["invite.submit"])</button></p>
            </form>
            """
        return console.render(
            visitor, ConsoleLayout.Content(title: t["invite.title"], body: body, problems: errors.isEmpty ? [] : [t["common.fix"]]),
            status: errors.isEmpty ? 200 : 422)
    }

    private func acceptInvitation(_ request: HTTPRequest) -> HTTPResponse {
        var visitor = console.visitor(request, partnerPage: true)
        let form = FormBody(request.body)
        guard console.mayChangeState(request, form, visitor) else { return console.refusal(visitor, status: 403, "refused.csrf") }
        let token = request.pathParameters["token"] ?? ""
        guard token.utf8.count <= 64, let invitation = try? accounts.invitation(token: token) else { return invalidInvitation(visitor) }
        visitor.language = ConsoleLanguage(tag: invitation.language) ?? visitor.language
        let t = visitor.text
        let totp = enrolment.open(form["enrolment"], binding: TOTPEnrolment.binding(invitationToken: token)) ?? TOTP.generate()
        var errors = Self.passwordProblems(form, email: invitation.email, t)
        let password = form["password"] ?? ""
        var enrolled: (secret: [UInt8], step: Int64)?
        if let code = form.text("totp") {
            if let step = totp.matchingStep(code, at: Timestamp.now().milliseconds / 1000) {
                enrolled = (totp.secret, step)
            } else {
                errors["totp"] = t["invite.error.totp"]
            }
        } else if invitation.role.requiresTOTP {
            errors["totp"] = t["invite.error.totp_required"]
        }
        guard errors.isEmpty else { return invitationPage(visitor, invitation, token: token, totp: totp, errors: errors) }
        do {
            let hash = try PasswordHash.make(password: password)
            let account = try accounts.acceptInvitation(token: token, passwordHash: hash.encoded, totpSecret: enrolled?.secret)
            // The code that proved the enrolment cannot sign in as well.
            if let step = enrolled?.step { _ = try accounts.useTOTPStep(accountID: account.id, step: step) }
            console.backend.shared.audit.record([AuditEntry(
                ConsoleVisitor.principal(account), .accountCreated, target: account.id,
                detail: "account \(account.email) (\(account.role.rawValue), \(account.organisation)) made from invitation \(invitation.id)")])
            return ConsoleResponse.redirect(to: "/console/login?done=invited")
        } catch AccountError.invitationInvalid {
            return invalidInvitation(visitor)
        } catch {
            return console.render(visitor, ConsoleLayout.Content(title: t["invite.title"], body: "<p>\(t["common.unavailable"])</p>"), status: 503)
        }
    }
}
