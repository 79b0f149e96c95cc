import Foundation
import VigilCore
import VigilCrypto
import VigilHTTPClient
import VigilServer
import VigilStore

/// The real service on loopback for the console's tests: `vigil serve` in-process on the
/// embedded store in a scratch directory, port 0, and browsers that hold a session cookie and
/// send forms with their CSRF token and `Sec-Fetch-Site: same-origin`, as Chromium does.
final class ConsoleFixture: Sendable {
    let service: VigilService
    let port: Int
    let dataDir: String
    static let token = "console-tests-bootstrap-token-0123"

    /// Starts the service; `adjust` changes its configuration first.
    init(_ adjust: (inout VigilConfiguration) -> Void = { _ in }) throws {
        var configuration = VigilConfiguration()
        configuration.listen = "127.0.0.1:0"
        dataDir = NSTemporaryDirectory() + "vigil-console-\(UUID().uuidString)"
        configuration.dataDir = dataDir
        configuration.bootstrapToken = Self.token
        configuration.allowPrivateWebhooks = true
        configuration.rateLimitPerSecond = 1e6
        configuration.rateLimitBurst = 1e6
        adjust(&configuration)
        service = try VigilService(configuration: configuration, logging: false)
        port = try service.start()
    }

    deinit {
        service.stop()
        try? FileManager.default.removeItem(atPath: dataDir)
    }

    var shared: SharedState { service.backend.shared }

    /// A new account made the way an invitation makes it (password hashed with the fast test
    /// parameters), signed in with a fresh session.
    func browser(
        role: AccountRole, organisation: String = "partner-org", clearance: Confidentiality = .restricted, subscriberIDs: [String] = [],
        language: String = "en", email: String? = nil
    ) throws -> ConsoleBrowser {
        let address = email ?? "\(role.rawValue)-\(UUID().uuidString.prefix(8).lowercased())@example.org"
        let (_, token) = try shared.accounts.invite(
            email: address, organisation: organisation, role: role, clearance: clearance, language: language, subscriberIDs: subscriberIDs,
            invitedBy: "test")
        let hash = try PasswordHash.make(password: ConsoleBrowser.password, parameters: .fast)
        let account = try shared.accounts.acceptInvitation(token: token, passwordHash: hash.encoded, totpSecret: nil)
        let session = try shared.sessions.create(accountID: account.id, stage: .signedIn)
        return ConsoleBrowser(port: port, account: account, cookie: "vigil_session=\(session)")
    }

    /// A browser with no session.
    func anonymous() -> ConsoleBrowser { ConsoleBrowser(port: port, account: nil, cookie: nil) }

    /// A `POST /v1/…` or `GET` with the bootstrap token.
    func api(_ method: String, _ path: String, json: String? = nil) throws -> BlockingHTTPClient.Response {
        let client = try BlockingHTTPClient(port: port)
        var headers = ["authorization": "Bearer \(Self.token)"]
        if json != nil { headers["content-type"] = "application/json" }
        return try client.request(method, path, body: json, headers: headers)
    }
}

/// One browser of a console test: its cookie, and forms sent with the page's CSRF token.
struct ConsoleBrowser: Sendable {
    static let password = "correct horse battery staple"
    let port: Int
    let account: Account?
    var cookie: String?

    /// `GET path` with the cookie.
    func get(_ path: String, headers: [String: String] = [:]) throws -> BlockingHTTPClient.Response {
        var all = headers
        if let cookie { all["cookie"] = cookie }
        return try BlockingHTTPClient(port: port).request("GET", path, headers: all)
    }

    /// `POST path` with `fields` as a form, the CSRF token of the page at `formPage` (the same
    /// path unless told) and `Sec-Fetch-Site: same-origin`; `csrf: false` leaves the token out.
    func post(
        _ path: String, _ fields: [(String, String)], formPage: String? = nil, csrf: Bool = true, headers: [String: String] = [:]
    ) throws -> BlockingHTTPClient.Response {
        var all = fields
        if csrf, let token = try csrfToken(formPage ?? path) { all.append(("csrf_token", token)) }
        var sent = ["content-type": "application/x-www-form-urlencoded", "sec-fetch-site": "same-origin"]
        if let cookie { sent["cookie"] = cookie }
        for (name, value) in headers { sent[name] = value }
        let body = all.map { "\(Self.escape($0.0))=\(Self.escape($0.1))" }.joined(separator: "&")
        return try BlockingHTTPClient(port: port).request("POST", path, body: body, headers: sent)
    }

    /// The `csrf_token` in the page at `path`.
    func csrfToken(_ path: String) throws -> String? {
        Self.hiddenValue("csrf_token", in: try get(path).text)
    }

    /// The value of the hidden input `name` in `page`.
    static func hiddenValue(_ name: String, in page: String) -> String? {
        guard let range = page.range(of: "name=\"\(name)\" value=\"") else { return nil }
        let rest = page[range.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
