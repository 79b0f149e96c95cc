import Foundation
import VigilCore
import VigilCrypto
import VigilHTTP
import VigilStore

/// Who is asking, as the console sees a request: the signed-in account (if any), the account
/// whose TOTP code is still due, the CSRF token its forms carry, and the language of its pages.
struct ConsoleVisitor: Sendable {
    /// The cookie of a session (signed in, or awaiting the TOTP code).
    static let sessionCookie = "vigil_session"
    /// The cookie of an anonymous browser, which the sign-in and invitation forms' CSRF tokens are bound to.
    static let preSessionCookie = "vigil_pre"

    /// The signed-in account.
    var account: Account?
    /// The account that gave its password and still owes its TOTP code.
    var awaiting: Account?
    /// The session cookie's value, when it names a live session.
    var sessionID: String?
    /// What the CSRF token is bound to: the session id, or the anonymous pre-session id.
    var binding: String
    /// The token this visitor's forms carry.
    var csrfToken: String
    /// The language of the pages.
    var language: ConsoleLanguage
    /// `Set-Cookie` values the response must carry (a new pre-session).
    var cookies: [String] = []
    /// The client's address, for the sign-in throttle.
    var address: String

    /// The words of the pages.
    var text: ConsoleText { ConsoleText(language) }

    /// The account as the API's code sees a caller: its organisation, role's scopes and clearance.
    var principal: TokenRecord? { account.map(Self.principal) }

    /// The caller record of `account` for the code the console shares with the API. Its id is
    /// the account's, so the audit trail names the account.
    static func principal(_ account: Account) -> TokenRecord {
        let scopes: Set<Scope> =
            switch account.role {
            case .partner: [.alertsWrite, .alertsRead]
            case .desk: [.alertsRead]
            case .operator, .admin: [.alertsRead, .replay, .subscribersAdmin]
            }
        return TokenRecord(id: account.id, organisation: account.organisation, scopes: scopes, clearance: account.clearance, createdAt: account.createdAt)
    }

    /// The cookies of `request` by name (the first of each name wins); at most 32 are read.
    static func cookies(of request: HTTPRequest) -> [String: String] {
        var found: [String: String] = [:]
        for header in request.headers.values("cookie") {
            for pair in header.split(separator: ";").prefix(32) {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let name = parts[0].trimmingCharacters(in: .whitespaces)
                if found[name] == nil { found[name] = parts[1].trimmingCharacters(in: .whitespaces) }
            }
        }
        return found
    }

    /// A `Set-Cookie` value for `name`: `HttpOnly; SameSite=Strict; Path=/console`, `Secure`
    /// when asked, and `Max-Age` when given (a session cookie otherwise: the server keeps the clock).
    static func cookie(_ name: String, _ value: String, secure: Bool, maxAge: Int? = nil) -> String {
        var text = "\(name)=\(value); Path=/console; HttpOnly; SameSite=Strict"
        if secure { text += "; Secure" }
        if let maxAge { text += "; Max-Age=\(maxAge)" }
        return text
    }
}
