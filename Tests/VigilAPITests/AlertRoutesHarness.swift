import Foundation
import Synchronization
import VigilCore
@testable import VigilHTTP
import VigilStore
import VigilTestSupport
@testable import VigilAPI

/// The alert routes (`AlertsAPI`) in-process over the in-memory log, for the route tests: a
/// partner token of `confidential` clearance, the audit trail, and `send`, which goes through
/// admission and the router as a request on a socket would.
struct AlertRoutesHarness {
    let fixture: RoutingFixture
    let tokens: TokenStore
    let audit: AuditTrail
    let authenticator: Authenticator
    let handler: HTTPHandler
    /// The partner token's secret.
    let secret: String

    /// The routes, with the partner token `secret` held to `limiter` when one is given.
    init(secret: String, limiter: RateLimiter? = nil) throws {
        self.secret = secret
        fixture = try RoutingFixture()
        tokens = TokenStore(database: fixture.database)
        audit = AuditTrail(database: fixture.database)
        authenticator = Authenticator(tokens: tokens, limiter: limiter)
        _ = try tokens.register(secret: secret, organisation: "partner", scopes: [.alertsRead, .alertsWrite], clearance: .confidential)
        let intake = AlertIntake(log: fixture.log, fingerprintKey: Array(repeating: 7, count: 32), metrics: fixture.metrics)
        let filing = AlertFiling(intake: intake, audit: audit, metrics: fixture.metrics, logger: fixture.logger)
        var router = HTTPRouter()
        AlertsAPI(
            log: fixture.log, deliveries: fixture.queue, authenticator: authenticator, audit: audit, filing: filing, metrics: fixture.metrics,
            logger: fixture.logger, publicURL: { "https://vigil.example.org" }
        ).register(on: &router)
        handler = router.handler
    }

    /// Sends a request through admission and the routes; the in-memory log answers at once.
    func send(_ method: String, _ target: String, body: [UInt8] = [], headers: [String: String] = [:], token: String? = nil) -> HTTPResponse {
        var fields = HTTPHeaders()
        fields.set("authorization", "Bearer \(token ?? secret)")
        for (name, value) in headers { fields.set(name, value) }
        var request = HTTPRequest(method: method, target: target, headers: fields, body: body)
        request.remoteAddress = "192.0.2.9"
        if let refused = authenticator.admission(request) { return refused }
        let answer = Mutex<HTTPResponse?>(nil)
        handler(request, HTTPResponder(capture: { response in answer.withLock { $0 = response } }))
        return answer.withLock { $0 } ?? HTTPResponse(status: 0)
    }
}
