import VigilAPI
import VigilCore
import VigilCrypto
import VigilDelivery
import VigilHTTP
import VigilObservability
import VigilStore

/// The web console of issue 20, served under `/console` by `vigil serve`: server-rendered
/// pages over the same code as the API (filing, acknowledgement, replays, subscribers and
/// the audit trail are the API's own paths, called with the account as the caller).
///
/// Every page needs a signed-in account of a role that may open it; every POST must come
/// from this site (`SameOriginCheck`) and carry the session's CSRF token, else `403`.
public struct ConsoleRoutes: Sendable {
    /// What the console takes from the configuration.
    public struct Settings: Sendable {
        /// Whether cookies carry `Secure` (served over TLS, or behind a proxy that is: `console_secure_cookies`).
        public var secureCookies: Bool
        /// The console's key (`masterKey.derivedKey("vigil/console")`): CSRF tokens and TOTP enrolments are bound to it.
        public var key: [UInt8]
        /// The service's public base URL (`public_url`), for invitation links.
        public var publicURL: @Sendable () -> String

        /// The settings, as the configuration gives them.
        public init(secureCookies: Bool, key: [UInt8], publicURL: @escaping @Sendable () -> String) {
            self.secureCookies = secureCookies
            self.key = key
            self.publicURL = publicURL
        }
    }

    let backend: any VigilBackend
    let filing: AlertFiling
    let acknowledger: Acknowledger
    let replays: ReplayRunner
    let workers: any DeliveryWorkers
    let settings: Settings
    let csrf: CSRFToken
    let throttle: LoginThrottle
    let addressPolicy: AddressPolicy
    let metrics: Metrics
    let logger: Logger

    /// The console over `backend`, sharing `api`'s filing and acknowledgement paths.
    public init(
        backend: any VigilBackend, api: APIRoutes, replays: ReplayRunner, workers: any DeliveryWorkers, settings: Settings,
        addressPolicy: AddressPolicy, metrics: Metrics, logger: Logger, throttle: LoginThrottle = LoginThrottle()
    ) {
        self.backend = backend
        filing = api.filing
        acknowledger = api.acknowledger
        self.replays = replays
        self.workers = workers
        self.settings = settings
        csrf = CSRFToken(key: HMAC.sha256(key: settings.key, message: Array("csrf".utf8)))
        self.throttle = throttle
        self.addressPolicy = addressPolicy
        self.metrics = metrics
        self.logger = logger
    }

    /// Adds every console route to `router`.
    public func register(on router: inout HTTPRouter) {
        router.add("GET", "/console") { request, responder in
            let visitor = visitor(request, partnerPage: true)
            responder.send(ConsoleResponse.redirect(to: visitor.account == nil ? "/console/login" : "/console/alerts", cookies: visitor.cookies))
        }
        router.add("GET", "/console/assets/console.css") { _, responder in
            responder.send(ConsoleResponse.asset(ConsoleStylesheet.css, contentType: "text/css; charset=utf-8"))
        }
        router.add("GET", "/console/assets/icon.svg") { _, responder in
            responder.send(ConsoleResponse.asset(ConsoleStylesheet.icon, contentType: "image/svg+xml"))
        }
        router.fallback(under: "/console/") { request, responder in
            let visitor = visitor(request, partnerPage: true)
            let t = visitor.text
            var response = render(
                visitor, ConsoleLayout.Content(title: t["missing.title"], body: "<p>\(t["missing.body"])</p><p><a href=\"/console/alerts\">\(t["common.back"])</a></p>"),
                status: 404)
            for cookie in visitor.cookies { response.headers.add("set-cookie", cookie) }
            responder.send(response)
        }
        SignInPages(console: self).register(on: &router)
        FilingPage(console: self).register(on: &router)
        AlertListPage(console: self).register(on: &router)
        AlertPage(console: self).register(on: &router)
        CasePage(console: self).register(on: &router)
        DeadLettersPage(console: self).register(on: &router)
        ReplayPages(console: self).register(on: &router)
        AuditPage(console: self).register(on: &router)
        SubscribersPage(console: self).register(on: &router)
        SubscriptionsPage(console: self).register(on: &router)
        UsersPage(console: self).register(on: &router)
        AccountPage(console: self).register(on: &router)
    }

    // MARK: - Who is asking

    /// The visitor of `request`: its live session (signed in or awaiting TOTP), or a new
    /// anonymous pre-session whose cookie the response must set.
    func visitor(_ request: HTTPRequest, partnerPage: Bool) -> ConsoleVisitor {
        let cookies = ConsoleVisitor.cookies(of: request)
        var account: Account?, awaiting: Account?, sessionID: String?
        if let raw = cookies[ConsoleVisitor.sessionCookie], raw.utf8.count <= 64,
            let found = try? backend.shared.sessions.session(raw)
        {
            sessionID = raw
            switch found.session.stage {
            case .signedIn: account = found.account
            case .awaitingTOTP: awaiting = found.account
            }
        }
        var newCookies: [String] = []
        let binding: String
        if let sessionID {
            binding = sessionID
        } else if let pre = cookies[ConsoleVisitor.preSessionCookie], pre.utf8.count == 43 {
            binding = pre
        } else {
            let pre = Base64.encode(SecureRandom.bytes(32), urlSafe: true)
            newCookies.append(ConsoleVisitor.cookie(ConsoleVisitor.preSessionCookie, pre, secure: settings.secureCookies, maxAge: 3600))
            binding = pre
        }
        let language = ConsoleLanguage.negotiate(
            account: (account ?? awaiting)?.language, acceptLanguage: request.headers["accept-language"], partnerPage: partnerPage)
        return ConsoleVisitor(
            account: account, awaiting: awaiting, sessionID: sessionID, binding: binding, csrfToken: csrf.token(for: binding), language: language,
            cookies: newCookies, address: request.remoteAddress)
    }

    /// Whether a state-changing `request` from `visitor` may go on: it comes from this site and
    /// carries the CSRF token of the visitor's cookie.
    func mayChangeState(_ request: HTTPRequest, _ form: FormBody, _ visitor: ConsoleVisitor) -> Bool {
        SameOriginCheck.allows(request) && visitor.cookies.isEmpty && csrf.verify(form["csrf_token"], for: visitor.binding)
    }

    /// Adds route `pattern` for signed-in accounts of `roles`: anyone else is sent to sign in
    /// (or refused, for a role that may not open it); a POST must pass `mayChangeState`. The
    /// page answers with the response `page` makes, the visitor's new cookies added.
    func add(
        _ router: inout HTTPRouter, _ method: String, _ pattern: String, roles: Set<AccountRole> = Set(AccountRole.allCases),
        partnerPage: Bool = false, _ page: @escaping @Sendable (HTTPRequest, ConsoleVisitor, FormBody) -> HTTPResponse
    ) {
        router.add(method, pattern) { request, responder in
            let visitor = visitor(request, partnerPage: partnerPage)
            let form = method == "POST" ? FormBody(request.body) : FormBody(values: [:])
            guard let account = visitor.account else {
                if method == "POST" { return responder.send(refusal(visitor, status: 403, "refused.signin")) }
                return responder.send(ConsoleResponse.redirect(to: "/console/login", cookies: visitor.cookies))
            }
            guard roles.contains(account.role) else { return responder.send(refusal(visitor, status: 403, "refused.role")) }
            if method == "POST" {
                guard mayChangeState(request, form, visitor) else {
                    if let principal = visitor.principal {
                        backend.shared.audit.record([AuditEntry(principal, .accessRefused, target: request.path, detail: "console form without a valid CSRF token or from another site refused")])
                    }
                    return responder.send(refusal(visitor, status: 403, "refused.csrf"))
                }
            }
            var response = page(request, visitor, form)
            for cookie in visitor.cookies { response.headers.add("set-cookie", cookie) }
            responder.send(response)
        }
    }

    /// A page saying why the request was refused, with `status`.
    func refusal(_ visitor: ConsoleVisitor, status: Int, _ key: String) -> HTTPResponse {
        let t = visitor.text
        let body: HTML = "<p>\(t[key])</p><p><a href=\"/console/alerts\">\(t["common.back"])</a></p>"
        return ConsoleResponse.page(
            ConsoleLayout.render(ConsoleLayout.Content(title: t["refused.title"], body: body), for: visitor), status: status, cookies: visitor.cookies)
    }

    /// A page in the console's frame.
    func render(_ visitor: ConsoleVisitor, _ content: ConsoleLayout.Content, status: Int = 200) -> HTTPResponse {
        ConsoleResponse.page(ConsoleLayout.render(content, for: visitor), status: status)
    }
}

extension ConsoleRoutes {
    /// `text` percent-encoded for a query value (unreserved characters kept).
    static func queryEscape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
