import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilHTTP
@testable import VigilStore
import VigilTestSupport
@testable import VigilAPI

/// The authenticator's answers that `AuthenticationHardeningTests` does not cover: the
/// `401` / `403` split, what counts as a failure for the throttle, the cache keyed by the
/// secret's hash (served through a store outage, forgotten on `invalidate`, refreshed after
/// expiry) and the per-token rate limit.
@Suite(.timeLimit(.minutes(1))) struct AuthenticatorTests {
    let database: Database
    let tokens: TokenStore
    let clock = SettableClock()
    let reader = "reader-token-0123456789abcdef"

    init() throws {
        database = try Database(path: (TemporaryDirectory.make("vigil-auth") as NSString).appendingPathComponent("vigil.sqlite"), readers: 1)
        tokens = TokenStore(database: database)
        try tokens.register(secret: reader, organisation: "partner", scopes: [.alertsRead], clearance: .restricted)
    }

    func request(_ header: String?, from address: String = "192.0.2.10") -> HTTPRequest {
        var headers = HTTPHeaders()
        if let header { headers.set("authorization", header) }
        var request = HTTPRequest(method: "GET", target: "/v1/alerts", headers: headers)
        request.remoteAddress = address
        return request
    }

    func status(_ result: Result<TokenRecord, APIError>) -> Int {
        switch result {
        case .success: 200
        case .failure(let error): error.response.status
        }
    }

    /// Unknown and revoked tokens and malformed headers are `401`; a live token without the
    /// scope is `403`; with it, the caller's record.
    @Test func unknownOrRevokedTokensAre401AndAMissingScopeIs403() throws {
        let authenticator = Authenticator(tokens: tokens, clock: clock.read)
        let record = try authenticator.authorize(request("Bearer \(reader)"), scope: .alertsRead).get()
        #expect(record.organisation == "partner" && record.scopes == [.alertsRead])
        let forbidden = authenticator.authorize(request("Bearer \(reader)"), scope: .alertsWrite)
        #expect(status(forbidden) == 403)
        if case .failure(let error) = forbidden { #expect(String(decoding: error.response.body, as: UTF8.self).contains("alerts:write")) }

        let revoked = "revoked-token-0123456789abcdef"
        let revokedRecord = try tokens.register(secret: revoked, organisation: "partner", scopes: [.alertsRead], clearance: .public)
        #expect(try tokens.revoke(id: revokedRecord.id))
        for header in ["Bearer \(revoked)", "Bearer unknown-token-0123456789", "Basic cmVhZGVyOnNlY3JldA==", "Bearer ", "bearer",
                       "Bearer " + String(repeating: "a", count: 4096)] {
            #expect(status(authenticator.authorize(request(header), scope: .alertsRead)) == 401, "\(header.prefix(20))")
        }
        #expect(status(authenticator.authorize(request(nil), scope: .alertsRead)) == 401)
        #expect(status(authenticator.authorize(request("BEARER \(reader)"), scope: .alertsRead)) == 200, "the scheme is case-insensitive")
    }

    /// Only presented tokens the store does not know count towards an address's throttle:
    /// the limit's last failure is what trips it, and neither `403`s nor a store outage do.
    @Test func onlyUnknownTokensCountTowardsTheThrottle() throws {
        let authenticator = Authenticator(tokens: tokens, clock: clock.read)
        for _ in 0..<(Authenticator.failureLimit * 3) {
            #expect(status(authenticator.authorize(request("Bearer \(reader)"), scope: .replay)) == 403)
        }
        for i in 0..<(Authenticator.failureLimit - 1) {
            #expect(authenticator.admission(request("Bearer guess-\(i)-0123456789"))?.status == 401)
        }
        #expect(authenticator.admission(request("Bearer \(reader)")) == nil, "one failure short of the limit")
        #expect(authenticator.admission(request("Bearer last-guess-0123456789"))?.status == 401)
        #expect(authenticator.admission(request("Bearer \(reader)"))?.status == 429)

        let other = Authenticator(tokens: tokens, clock: clock.read)
        _ = try database.writeAndWait { try $0.connection.run("ALTER TABLE tokens RENAME TO tokens_away") }
        for _ in 0..<(Authenticator.failureLimit * 2) {
            #expect(other.admission(request("Bearer unknown-while-down-012345"))?.status == 503)
        }
        _ = try database.writeAndWait { try $0.connection.run("ALTER TABLE tokens_away RENAME TO tokens") }
        #expect(other.admission(request("Bearer \(reader)")) == nil, "an outage is no client's failure")
    }

    /// Answers are cached under the SHA-256 of the secret: the same secret with surrounding
    /// blanks is one entry, a cached token is served through a store outage, `invalidate`
    /// forgets a revoked one at once, and an expired entry is looked up and cached anew.
    @Test func theCacheIsKeyedByTheSecretsHash() throws {
        let authenticator = Authenticator(tokens: tokens, cacheSeconds: 2, clock: clock.read)
        #expect(authenticator.admission(request("Bearer \(reader)")) == nil)
        #expect(authenticator.admission(request("Bearer   \(reader)  ")) == nil)
        #expect(authenticator.cacheFootprint.entries == 1)

        _ = try database.writeAndWait { try $0.connection.run("ALTER TABLE tokens RENAME TO tokens_away") }
        #expect(authenticator.admission(request("Bearer \(reader)")) == nil, "served from the cache")
        #expect(authenticator.admission(request("Bearer other-token-0123456789"))?.status == 503)
        clock.advance(3)
        #expect(authenticator.admission(request("Bearer \(reader)"))?.status == 503, "expired: looked up again")
        _ = try database.writeAndWait { try $0.connection.run("ALTER TABLE tokens_away RENAME TO tokens") }
        #expect(authenticator.admission(request("Bearer \(reader)")) == nil)
        #expect(authenticator.cacheFootprint.entries == 1, "the expired entry was replaced, not added to")

        let record = try #require(try tokens.authenticate(secret: reader))
        #expect(try tokens.revoke(id: record.id))
        #expect(authenticator.admission(request("Bearer \(reader)")) == nil, "still cached")
        authenticator.invalidate()
        #expect(authenticator.cacheFootprint.entries == 0 && authenticator.cacheFootprint.bytes == 0)
        #expect(authenticator.admission(request("Bearer \(reader)"))?.status == 401)
    }

    /// With a limiter, each token is held to its own budget (`429` with `Retry-After`),
    /// after authentication and the scope check.
    @Test func eachTokenIsHeldToItsRateBudget() throws {
        let writer = "writer-token-0123456789abcdef"
        try tokens.register(secret: writer, organisation: "partner", scopes: [.alertsRead], clearance: .restricted)
        let limiter = RateLimiter(rate: 1, burst: 2, clock: clock.read)
        let authenticator = Authenticator(tokens: tokens, limiter: limiter, clock: clock.read)
        #expect(status(authenticator.authorize(request("Bearer \(reader)"), scope: .alertsRead)) == 200)
        #expect(status(authenticator.authorize(request("Bearer \(reader)"), scope: .alertsRead)) == 200)
        let limited = authenticator.authorize(request("Bearer \(reader)"), scope: .alertsRead)
        #expect(status(limited) == 429)
        if case .failure(let error) = limited { #expect(error.response.headers["retry-after"] == "1") }
        #expect(status(authenticator.authorize(request("Bearer \(writer)"), scope: .alertsRead)) == 200, "another token's budget is its own")
        clock.advance(1)
        #expect(status(authenticator.authorize(request("Bearer \(reader)"), scope: .alertsRead)) == 200)
    }
}

/// A clock in seconds that the test sets by hand.
final class SettableClock: Sendable {
    private let now = Mutex(1000.0)
    func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
    var read: @Sendable () -> Double { { [self] in now.withLock { $0 } } }
}
