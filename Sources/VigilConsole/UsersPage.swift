import Foundation
import VigilCore
import VigilHTTP
import VigilStore

/// `/console/users` for admins (issue 20): every account (email, organisation, role,
/// clearance, whether it has TOTP, when it was made and disabled) with a button to disable it,
/// the invitations still pending, and a form to invite someone.
///
/// Inviting goes through `AccountRoster`, the same code as `vigil users invite`: the same
/// checks (a desk is bound to existing subscribers of its own organisation), the same
/// default clearances, the same messages, the same audit entry, naming the admin's account.
/// The answer shows the invitation link once, on a page (not a redirect: the link is a secret).
struct UsersPage {
    let console: ConsoleRoutes

    func register(on router: inout HTTPRouter) {
        console.add(&router, "GET", "/console/users", roles: [.admin]) { request, visitor, _ in
            let notice: String? = request.query["done"] == "disabled" ? visitor.text["users.notice.disabled"] : nil
            return page(visitor, notice: notice, values: FormBody(values: [:]), errors: [:])
        }
        console.add(&router, "POST", "/console/users", roles: [.admin]) { _, visitor, form in invite(visitor, form) }
        console.add(&router, "POST", "/console/users/{id}/disable", roles: [.admin]) { request, visitor, _ in
            disable(request.pathParameters["id"] ?? "", visitor)
        }
    }

    private var roster: AccountRoster {
        let shared = console.backend.shared
        return AccountRoster(accounts: shared.accounts, subscribers: shared.subscribers, audit: shared.audit)
    }

    // MARK: - Invite

    private func invite(_ visitor: ConsoleVisitor, _ form: FormBody) -> HTTPResponse {
        guard let account = visitor.account else { return console.refusal(visitor, status: 403, "refused.signin") }
        let t = visitor.text
        var errors: [String: String] = [:]
        let role = form.text("role").flatMap { AccountRole(rawValue: $0) }
        if role == nil { errors["role"] = t["users.error.role"] }
        var clearance: Confidentiality?
        if let text = form.text("clearance") {
            clearance = Confidentiality(rawValue: text)
            if clearance == nil { errors["clearance"] = t["users.error.clearance"] }
        }
        guard errors.isEmpty, let role else { return page(visitor, values: form, errors: errors, status: 422) }
        do {
            let (invitation, token) = try roster.invite(
                email: form.text("email") ?? "", organisation: form.text("organisation") ?? "", role: role, clearance: clearance,
                language: form.text("language") ?? "en", subscriberIDs: form.lines("subscriber_ids"), invitedBy: account.id,
                inviterOrganisation: account.organisation)
            var base = console.settings.publicURL()
            while base.hasSuffix("/") { base.removeLast() }
            let link = base + "/console/invite/" + token
            let body: HTML = """
                <p>\(t["users.invited.intro"])</p>
                <dl>
                <dt>\(t["users.email"])</dt><dd>\(invitation.email)</dd>
                <dt>\(t["common.organisation"])</dt><dd>\(invitation.organisation)</dd>
                <dt>\(t["users.role"])</dt><dd>\(t.word("role", invitation.role.rawValue))</dd>
                <dt>\(t["users.clearance"])</dt><dd>\(t.word("confidentiality", invitation.clearance.rawValue))</dd>
                <dt>\(t["users.expires"])</dt><dd>\(invitation.expiresAt.description)</dd>
                </dl>
                <p><code class="secret" id="invite-link">\(link)</code></p>
                <p>\(t["users.invited.once"])</p>
                <p><a href="/console/users">\(t["users.back"])</a></p>
                """
            return console.render(visitor, ConsoleLayout.Content(title: t["users.invited.title"], body: body))
        } catch let error as InvitationError {
            return page(visitor, values: form, errors: ["subscriber_ids": error.description], status: 422)
        } catch let error as AccountError {
            let field: String
            switch error {
            case .invalidEmail, .emailTaken: field = "email"
            case .invalidOrganisation: field = "organisation"
            case .unsupportedLanguage: field = "language"
            case .invalidSubscriberIDs: field = "subscriber_ids"
            case .invitationInvalid, .unknownAccount: field = ""
            }
            return page(visitor, values: form, errors: [field: error.description], status: 422)
        } catch {
            return page(visitor, values: form, errors: ["": t["common.unavailable"]], status: 503)
        }
    }

    // MARK: - Disable

    private func disable(_ id: String, _ visitor: ConsoleVisitor) -> HTTPResponse {
        guard let account = visitor.account else { return console.refusal(visitor, status: 403, "refused.signin") }
        guard id != account.id else { return console.refusal(visitor, status: 403, "users.refused.self") }
        guard id.hasPrefix("acct_"), id.utf8.count <= 80 else {
            return page(visitor, values: FormBody(values: [:]), errors: ["": visitor.text["users.missing"]], status: 404)
        }
        do {
            _ = try roster.disable(id, by: account.id, of: account.organisation)
            return ConsoleResponse.redirect(to: "/console/users?done=disabled")
        } catch AccountError.unknownAccount {
            return page(visitor, values: FormBody(values: [:]), errors: ["": visitor.text["users.missing"]], status: 404)
        } catch {
            return page(visitor, values: FormBody(values: [:]), errors: ["": visitor.text["common.unavailable"]], status: 503)
        }
    }

    // MARK: - The page

    private func page(_ visitor: ConsoleVisitor, notice: String? = nil, values: FormBody, errors: [String: String], status: Int = 200) -> HTTPResponse {
        guard let me = visitor.account else { return console.refusal(visitor, status: 403, "refused.signin") }
        let t = visitor.text
        let store = console.backend.shared.accounts
        guard let accounts = try? store.accounts(), let invitations = try? store.invitations() else {
            return console.render(visitor, ConsoleLayout.Content(title: t["users.title"], body: "<p>\(t["common.unavailable"])</p>"), status: 503)
        }
        let rows = accounts.map { account -> HTML in
            let action: HTML =
                account.id == me.id || account.disabledAt != nil
                ? ""
                : """
                    <form method="post" action="/console/users/\(account.id)/disable">\
                    <input type="hidden" name="csrf_token" value="\(visitor.csrfToken)">\
                    <button type="submit" class="secondary" aria-label="\(t["users.disable"]) · \(account.email)">\(t["users.disable"])</button></form>
                    """
            return """
                <tr data-account-id="\(account.id)" data-role="\(account.role.rawValue)" data-disabled="\(account.disabledAt == nil ? "false" : "true")">\
                <td>\(account.email)</td><td>\(account.organisation)</td><td>\(t.word("role", account.role.rawValue))</td>\
                <td>\(t.word("confidentiality", account.clearance.rawValue))</td><td>\(account.totpEnrolled ? t["common.yes"] : t["common.no"])</td>\
                <td>\(account.createdAt.description)</td><td>\(account.disabledAt?.description ?? "")</td><td>\(action)</td></tr>
                """
        }
        let now = Timestamp.now()
        let pending = invitations.filter { $0.usedAt == nil && $0.expiresAt > now }.map { invitation -> HTML in
            """
            <tr data-invitation-id="\(invitation.id)"><td>\(invitation.email)</td><td>\(invitation.organisation)</td>\
            <td>\(t.word("role", invitation.role.rawValue))</td><td>\(t.word("confidentiality", invitation.clearance.rawValue))</td>\
            <td>\(invitation.expiresAt.description)</td></tr>
            """
        }
        let invitationTable: HTML =
            pending.isEmpty
            ? "<p id=\"no-invitations\">\(t["users.invitations.none"])</p>"
            : """
                <table id="invitations"><caption>\(t["users.invitations.caption"])</caption>
                <thead><tr><th scope="col">\(t["users.email"])</th><th scope="col">\(t["common.organisation"])</th><th scope="col">\(t["users.role"])</th><th scope="col">\(t["users.clearance"])</th><th scope="col">\(t["users.expires"])</th></tr></thead>
                <tbody>\(pending)</tbody></table>
                """
        let f = FormFields(errors: errors, values: values)
        let locale = Locale(identifier: visitor.language.rawValue)
        let languages = Account.languages.map { (value: $0, label: locale.localizedString(forLanguageCode: $0) ?? $0) }
        let body: HTML = """
            <table id="users"><caption>\(t["users.caption"])</caption>
            <thead><tr><th scope="col">\(t["users.email"])</th><th scope="col">\(t["common.organisation"])</th><th scope="col">\(t["users.role"])</th><th scope="col">\(t["users.clearance"])</th><th scope="col">\(t["users.totp"])</th><th scope="col">\(t["users.created"])</th><th scope="col">\(t["users.disabled"])</th><th scope="col">\(t["users.actions"])</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            <h2>\(t["users.invitations"])</h2>
            \(invitationTable)
            <h2 id="invite-heading">\(t["users.invite.title"])</h2>
            <form method="post" action="/console/users" id="invite-form" aria-labelledby="invite-heading" novalidate>
            <input type="hidden" name="csrf_token" value="\(visitor.csrfToken)">
            \(f.input("email", label: t["users.email"], type: "email", autocomplete: "off", required: true))
            \(f.select("role", label: t["users.role"], options: ConsoleVocabulary.options(AccountRole.self, "role", t), blank: t["common.choose"]))
            \(f.input("organisation", label: t["common.organisation"], hint: t["users.organisation.hint"], required: true))
            \(f.select("clearance", label: t["users.clearance"], options: ConsoleVocabulary.options(Confidentiality.self, "confidentiality", t), blank: t["users.clearance.default"], hint: t["users.clearance.hint"]))
            \(f.textarea("subscriber_ids", label: t["users.subscribers"], hint: t["users.subscribers.hint"], rows: 3))
            \(f.select("language", label: t["users.language"], options: languages, selected: values["language"] ?? "en"))
            <p><button type="submit" id="invite">\(t["users.invite.submit"])</button></p>
            </form>
            """
        var problems: [String] = []
        if errors.keys.contains(where: { !$0.isEmpty }) { problems.append(t["common.fix"]) }
        if let general = errors[""] { problems.append(general) }
        return console.render(visitor, ConsoleLayout.Content(title: t["users.title"], body: body, notice: notice, problems: problems), status: status)
    }
}
