import VigilCore
import VigilCrypto
import VigilHTTP
import VigilStore

/// `/console/account`, for every role (issue 20): the signed-in account, a form to change
/// its password (the invitation page's rules, `SignInPages.passwordProblems`), and, while the
/// account has no authenticator, the offer to enrol one (secret, `otpauth://` URI and QR
/// code, sealed between showing and submitting by `TOTPEnrolment`).
///
/// A password change ends every session of the account, this one included, and sends the
/// browser to sign in again. A wrong current password counts against the sign-in throttle,
/// so a left-open session cannot be used to guess it.
struct AccountPage {
    let console: ConsoleRoutes

    func register(on router: inout HTTPRouter) {
        console.add(&router, "GET", "/console/account", partnerPage: true) { request, visitor, _ in
            let notice: String? = request.query["done"] == "totp" ? visitor.text["account.notice.totp"] : nil
            return page(visitor, notice: notice, passwordErrors: [:], totpErrors: [:], totp: TOTP.generate())
        }
        console.add(&router, "POST", "/console/account/password", partnerPage: true) { _, visitor, form in changePassword(visitor, form) }
        console.add(&router, "POST", "/console/account/totp", partnerPage: true) { _, visitor, form in enrol(visitor, form) }
    }

    private var accounts: AccountStore { console.backend.shared.accounts }
    private var enrolment: TOTPEnrolment { TOTPEnrolment(consoleKey: console.settings.key) }

    // MARK: - Password

    private func changePassword(_ visitor: ConsoleVisitor, _ form: FormBody) -> HTTPResponse {
        guard let account = visitor.account, let principal = visitor.principal else { return console.refusal(visitor, status: 403, "refused.signin") }
        let t = visitor.text
        if let wait = console.throttle.wait(account: account.email, address: visitor.address) {
            let message = t["login.throttled"].replacingOccurrences(of: "{minutes}", with: String((wait + 59) / 60))
            return page(visitor, passwordErrors: ["current_password": message], totpErrors: [:], totp: TOTP.generate(), status: 429)
        }
        var errors = SignInPages.passwordProblems(form, email: account.email, t)
        let current = form["current_password"] ?? ""
        let matches = current.utf8.count <= SignInPages.maxPasswordLength && (PasswordHash(encoded: account.passwordHash)?.verify(current) ?? false)
        if !matches {
            console.throttle.fail(account: account.email, address: visitor.address)
            errors["current_password"] = t["account.error.current"]
        }
        guard errors.isEmpty else { return page(visitor, passwordErrors: errors, totpErrors: [:], totp: TOTP.generate(), status: 422) }
        do {
            let hash = try PasswordHash.make(password: form["password"] ?? "")
            // Moves the account's sessions-valid-after: every session ends, this one included.
            try accounts.changePassword(accountID: account.id, passwordHash: hash.encoded)
            if let sessionID = visitor.sessionID { try? console.backend.shared.sessions.revoke(sessionID) }
        } catch {
            return page(visitor, passwordErrors: ["": t["common.unavailable"]], totpErrors: [:], totp: TOTP.generate(), status: 503)
        }
        console.throttle.succeed(account: account.email)
        console.backend.shared.audit.record([AuditEntry(principal, .accountUpdated, target: account.id, detail: "password changed in the console; every session ended")])
        let cleared = ConsoleVisitor.cookie(ConsoleVisitor.sessionCookie, "", secure: console.settings.secureCookies, maxAge: 0)
        return ConsoleResponse.redirect(to: "/console/login?done=password", cookies: [cleared])
    }

    // MARK: - TOTP

    private func enrol(_ visitor: ConsoleVisitor, _ form: FormBody) -> HTTPResponse {
        guard let account = visitor.account, let principal = visitor.principal else { return console.refusal(visitor, status: 403, "refused.signin") }
        guard !account.totpEnrolled else { return ConsoleResponse.redirect(to: "/console/account") }
        let t = visitor.text
        let binding = TOTPEnrolment.binding(accountID: account.id)
        guard let totp = enrolment.open(form["enrolment"], binding: binding) else {
            return page(visitor, passwordErrors: [:], totpErrors: ["totp": t["account.error.enrolment"]], totp: TOTP.generate(), status: 422)
        }
        guard let code = form.text("totp"), let step = totp.matchingStep(code, at: Timestamp.now().milliseconds / 1000) else {
            return page(visitor, passwordErrors: [:], totpErrors: ["totp": t["invite.error.totp"]], totp: totp, status: 422)
        }
        do {
            try accounts.enrolTOTP(accountID: account.id, secret: totp.secret)
            // The code just typed cannot sign in again.
            _ = try accounts.useTOTPStep(accountID: account.id, step: step)
        } catch {
            return page(visitor, passwordErrors: [:], totpErrors: ["": t["common.unavailable"]], totp: totp, status: 503)
        }
        console.backend.shared.audit.record([AuditEntry(principal, .accountUpdated, target: account.id, detail: "TOTP authenticator enrolled in the console")])
        return ConsoleResponse.redirect(to: "/console/account?done=totp")
    }

    // MARK: - The page

    private func page(
        _ visitor: ConsoleVisitor, notice: String? = nil, passwordErrors: [String: String], totpErrors: [String: String], totp: TOTP, status: Int = 200
    ) -> HTTPResponse {
        guard let account = visitor.account else { return console.refusal(visitor, status: 403, "refused.signin") }
        let t = visitor.text
        let p = FormFields(errors: passwordErrors)
        var body: HTML = """
            <dl id="account">
            <dt>\(t["invite.email"])</dt><dd>\(account.email)</dd>
            <dt>\(t["invite.organisation"])</dt><dd>\(account.organisation)</dd>
            <dt>\(t["invite.role"])</dt><dd>\(t.word("role", account.role.rawValue))</dd>
            <dt>\(t["account.clearance"])</dt><dd>\(t.word("confidentiality", account.clearance.rawValue))</dd>
            </dl>
            <h2 id="password-heading">\(t["account.password.title"])</h2>
            <p>\(t["account.password.intro"])</p>
            <form method="post" action="/console/account/password" id="password-form" aria-labelledby="password-heading" novalidate>
            <input type="hidden" name="csrf_token" value="\(visitor.csrfToken)">
            \(p.input("current_password", label: t["account.current_password"], type: "password", autocomplete: "current-password", required: true))
            \(p.input("password", label: t["invite.password"], type: "password", hint: t["invite.password.hint"], autocomplete: "new-password", required: true))
            \(p.input("password_confirm", label: t["invite.password_confirm"], type: "password", autocomplete: "new-password", required: true))
            <p><button type="submit" id="change-password">\(t["account.password.submit"])</button></p>
            </form>
            <h2 id="totp-heading">\(t["invite.totp.title"])</h2>
            """
        if account.totpEnrolled {
            body.append("<p id=\"totp-enrolled\">\(t["account.totp.enrolled"])</p>")
        } else {
            let f = FormFields(errors: totpErrors)
            body.append("""
                <p>\(t["account.totp.offer"])</p>
                <form method="post" action="/console/account/totp" id="totp-form" aria-labelledby="totp-heading" novalidate>
                <input type="hidden" name="csrf_token" value="\(visitor.csrfToken)">
                <input type="hidden" name="enrolment" value="\(enrolment.seal(totp, binding: TOTPEnrolment.binding(accountID: account.id)))">
                \(TOTPEnrolment.offer(totp, email: account.email, t))
                \(f.input("totp", label: t["invite.totp.code"], hint: t["invite.totp.code.hint"], autocomplete: "one-time-code", required: true))
                <p><button type="submit" id="enrol-totp">\(t["account.totp.submit"])</button></p>
                </form>
                """)
        }
        let errors = passwordErrors.merging(totpErrors) { $0 + " " + $1 }
        var problems: [String] = []
        if errors.keys.contains(where: { !$0.isEmpty }) { problems.append(t["common.fix"]) }
        if let general = errors[""] { problems.append(general) }
        return console.render(visitor, ConsoleLayout.Content(title: t["account.title"], body: body, notice: notice, problems: problems), status: status)
    }
}
