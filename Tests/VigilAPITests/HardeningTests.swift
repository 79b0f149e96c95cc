import Dispatch
import Foundation
import Synchronization
import Testing
import VigilCore
import VigilCrypto
@testable import VigilHTTP
import VigilObservability
import VigilStore
import VigilTestSupport
@testable import VigilAPI

private let masterKey = try! MasterKey(text: String(repeating: "cd", count: 32))

private func database() throws -> Database {
    try Database(path: (TemporaryDirectory.make("vigil-server") as NSString).appendingPathComponent("vigil.sqlite"), readers: 1)
}

private func request(_ path: String, token: String? = nil, from address: String = "192.0.2.1") -> HTTPRequest {
    var headers = HTTPHeaders()
    if let token { headers.set("authorization", "Bearer \(token)") }
    var request = HTTPRequest(method: "GET", target: path, headers: headers)
    request.remoteAddress = address
    return request
}

private func alert(organisation: String, caseID: String? = nil, kind: AlertKind = .alert, confidentiality: Confidentiality = .restricted) -> Alert {
    let now = Timestamp.now()
    return Alert(
        id: ULID(time: now).description, caseID: caseID, kind: kind, receivedAt: now, country: CountryCode("BY")!, threat: .arrest,
        severity: .critical, certainty: .observed, confidentiality: confidentiality, defender: Defender(name: "Test Defender"),
        summary: "arrested", source: AlertSource(organisation: organisation))
}

private func appendNow(_ log: any AlertLog, _ alert: Alert) throws -> AppendReceipt {
    let done = DispatchSemaphore(value: 0)
    let result = Mutex<Result<AppendReceipt, AlertLogError>?>(nil)
    log.append(alert, idempotency: nil) { outcome in
        result.withLock { $0 = outcome }
        done.signal()
    }
    done.wait()
    return try result.withLock { $0 }!.get()
}

/// A clock the test moves by hand.
private final class ManualClock: Sendable {
    private let now = Mutex(1000.0)
    func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
    var read: @Sendable () -> Double { { [self] in now.withLock { $0 } } }
}

@Suite struct QueryBoundsTests {
    /// `after + 1` on 9223372036854775807 trapped and took the process down.
    @Test(arguments: [
        ("after=9223372036854775807", "after"), ("after=-1", "after"), ("after=1e30", "after"), ("after=abc", "after"),
        ("after=9007199254740992", "after"), ("limit=-5", "limit"), ("limit=99999999999999999999", "limit"), ("limit=0", "limit"),
        ("wait=9999999999", "wait"), ("wait=-1", "wait"), ("wait=nan", "wait"), ("since=tomorrow", "since"),
        // Cursors (issue 23): malformed, a stream past the largest, too many streams.
        ("after=1-", "after"), ("after=-", "after"), ("after=1--2", "after"), ("after=1-2-x", "after"),
        ("after=0-\(LogOffset(AlertCursor.maxStreams) << 40 | 1)", "after"), ("after=" + Array(repeating: "1", count: AlertCursor.maxStreams + 1).joined(separator: "-"), "after"),
    ])
    func aListingRefusesOutOfRangeParametersNamingThem(query: String, parameter: String) {
        let parsed = ListingRequest.parse(HTTPRequest(method: "GET", target: "/v1/alerts?" + query).query)
        guard case .failure(let error) = parsed else {
            Issue.record("accepted \(query)")
            return
        }
        let response = error.response
        #expect(response.status == 400)
        #expect(String(decoding: response.body, as: UTF8.self).contains(parameter))
    }

    @Test func theLargestOffsetIsAcceptedAndOffsetsSaturate() throws {
        let parsed = try ListingRequest.parse(["after": "9007199254740991"]).get()
        let cursor = try #require(parsed.query.after)
        #expect(!cursor.admits(9_007_199_254_740_991) && cursor.admits(9_007_199_254_740_992 | 1))
        #expect(cursor.firstAdmitted(in: AlertCursor.stream(of: 9_007_199_254_740_991)) == 9_007_199_254_740_992)
        if case .success = ListingRequest.parse(["after": "9007199254740992"]) { Issue.record("accepted an offset past the largest") }
        #expect(ReplaySelection().query(after: .max, limit: 10).fromOffset == .max)
    }

    @Test func outOfRangeNumbersInReplicatedTokensAreRefusedNotTrapped() throws {
        let tokens = TokenStore(database: try database())
        let row = #"{"id":"tok_x","hash":"00","organisation":"o","scopes":"replay","clearance":"public","created_at":1e19}"#
        #expect(throws: StoreError.self) { try tokens.applyReplica(id: "tok_x", row: Array(row.utf8)) }
        let registry = SubscriberRegistry(database: try database(), seal: SecretSeal(masterKey: masterKey))
        let snapshot = #"{"body":"{}","created_at":-1e300,"updated_at":1e19}"#
        try registry.applyReplica(id: "sub_x", snapshot: Array(snapshot.utf8))  // no trap; the numbers read as absent
    }

    /// A tiny rate made the wait 1e300 seconds, and `Int(…)` of that trapped.
    @Test func aRateLimiterWaitIsBoundedWhateverTheRate() {
        let limiter = RateLimiter(rate: 1e-300, burst: 1, clock: { 0 })
        #expect(limiter.admit("tok") == nil)
        #expect(limiter.admit("tok") == 86_400)
    }

}

@Suite struct AuthenticationHardeningTests {
    /// After ten failures in a minute an address is answered 429 before any lookup, even with
    /// a good token; other addresses are not affected; the window ends.
    @Test func failedAuthenticationsAreThrottledPerAddress() throws {
        let tokens = TokenStore(database: try database())
        let good = "good-token-0123456789abcdef"
        try tokens.register(secret: good, organisation: "org", scopes: [.alertsRead], clearance: .public)
        let clock = ManualClock()
        let authenticator = Authenticator(tokens: tokens, clock: clock.read)
        for i in 0..<Authenticator.failureLimit {
            #expect(authenticator.admission(request("/v1/alerts", token: "guess-\(i)"))?.status == 401)
        }
        let refused = try #require(authenticator.admission(request("/v1/alerts", token: good)))
        #expect(refused.status == 429)
        #expect(Int(refused.headers["retry-after"] ?? "") ?? 0 >= 1)
        if case .success = authenticator.authorize(request("/v1/alerts", token: good), scope: .alertsRead) { Issue.record("a throttled address got through") }
        #expect(authenticator.admission(request("/v1/alerts", token: good, from: "198.51.100.7")) == nil)
        clock.advance(Authenticator.failureWindow + 1)
        #expect(authenticator.admission(request("/v1/alerts", token: good)) == nil)
    }

    /// An IPv6 client is counted by its /64, so rotating addresses within it does not help.
    @Test func ipv6ClientsAreCountedByTheirSlash64() {
        #expect(Authenticator.clientKey("2001:db8:1:2::1") == Authenticator.clientKey("2001:db8:1:2:ffff::9"))
        #expect(Authenticator.clientKey("2001:db8:1:2::1") != Authenticator.clientKey("2001:db8:1:3::1"))
        #expect(Authenticator.clientKey("::ffff:192.0.2.1") == "192.0.2.1")
        #expect(Authenticator.clientKey("192.0.2.1") == "192.0.2.1")
        #expect(Authenticator.clientKey("") == "")
    }

    /// Public paths need no token; the rest are refused at admission, before any body.
    @Test func admissionLetsPublicPathsThroughAndRefusesMissingTokens() throws {
        let tokens = TokenStore(database: try database())
        let authenticator = Authenticator(tokens: tokens)
        #expect(authenticator.admission(request("/healthz")) == nil)
        #expect(authenticator.admission(request("/metrics")) == nil)
        #expect(authenticator.admission(request("/v1/alerts"))?.status == 401)
        #expect(authenticator.admission(request("/v1/subscribers", token: "nope-nope-nope"))?.status == 401)
    }

    /// Spraying unknown tokens adds nothing to the cache; good tokens are cached and the cache
    /// stays within its bound without being flushed all at once.
    @Test func theTokenCacheHoldsOnlyKnownTokensAndStaysBounded() throws {
        let tokens = TokenStore(database: try database())
        let clock = ManualClock()
        let authenticator = Authenticator(tokens: tokens, cacheSeconds: 60, maxCacheEntries: 8, clock: clock.read)
        for i in 0..<200 { _ = authenticator.admission(request("/v1/alerts", token: "random-\(i)", from: "203.0.113.\(i % 250)")) }
        #expect(authenticator.cacheFootprint.entries == 0)
        var secrets: [String] = []
        for i in 0..<12 {
            let secret = "known-token-\(i)-0123456789"
            secrets.append(secret)
            try tokens.register(secret: secret, organisation: "org", scopes: [.alertsRead], clearance: .public)
            clock.advance(0.01)
            #expect(authenticator.admission(request("/v1/alerts", token: secret)) == nil)
            #expect(authenticator.cacheFootprint.entries == min(i + 1, 8))
        }
        #expect(authenticator.cacheFootprint.bytes <= Authenticator.maxCacheBytes)
        // The newest entries survive eviction; a revoked but still-cached token works until expiry only.
        let newest = try #require(secrets.last)
        let record = try #require(try tokens.authenticate(secret: newest))
        _ = try tokens.revoke(id: record.id)
        #expect(authenticator.admission(request("/v1/alerts", token: newest)) == nil)
        clock.advance(61)
        #expect(authenticator.admission(request("/v1/alerts", token: newest))?.status == 401)
    }
}

@Suite struct AuthorizationRuleTests {
    /// Only the filing organisation or an operator updates or cancels a case.
    @Test func aCaseIsUpdatedOnlyByItsFilerOrAnOperator() throws {
        let log = try EmbeddedAlertLog(database: try database(), masterKey: masterKey)
        let first = alert(organisation: "filer")
        _ = try appendNow(log, first)
        let byOther = alert(organisation: "intruder", caseID: first.id, kind: .update)
        let byFiler = alert(organisation: "filer", caseID: first.id, kind: .cancel)
        #expect(try CaseRights.refusal(of: byOther, in: log, byOperator: false) == .notFiler)
        #expect(try CaseRights.refusal(of: byOther, in: log, byOperator: true) == nil)
        #expect(try CaseRights.refusal(of: byFiler, in: log, byOperator: false) == nil)
        let unknown = alert(organisation: "filer", caseID: ULID().description, kind: .update)
        guard case .unknown? = try CaseRights.refusal(of: unknown, in: log, byOperator: true) else {
            Issue.record("an update of an unknown case was not refused")
            return
        }
        #expect(try ErasuresAPI.owner(of: .alert(first.id), in: log) == "filer")
        #expect(try ErasuresAPI.owner(of: .caseID(first.id), in: log) == "filer")
    }

    @Test func anOperatorIsSubscribersAdminWithConfidentialClearance() {
        func token(_ scopes: Set<Scope>, _ clearance: Confidentiality) -> TokenRecord {
            TokenRecord(id: "tok", organisation: "o", scopes: scopes, clearance: clearance, createdAt: .now())
        }
        #expect(token([.subscribersAdmin], .confidential).isOperator)
        #expect(!token([.subscribersAdmin], .restricted).isOperator)
        #expect(!token([.alertsWrite, .alertsRead, .replay], .confidential).isOperator)
    }

    /// A token never mints a token above its clearance or beyond its scopes.

    /// `VIGIL_BOOTSTRAP_TOKEN` at start used to revive a revoked token (`revoked_at = NULL`).
    @Test func aRevokedBootstrapTokenIsNeverRevived() throws {
        let tokens = TokenStore(database: try database())
        let secret = "bootstrap-secret-0123456789"
        guard case .created(let record) = try tokens.registerBootstrap(secret: secret, organisation: "ops", scopes: Set(Scope.allCases), clearance: .confidential) else {
            Issue.record("a new bootstrap token was not created")
            return
        }
        guard case .refreshed = try tokens.registerBootstrap(secret: secret, organisation: "ops", scopes: Set(Scope.allCases), clearance: .confidential) else {
            Issue.record("a live bootstrap token was not refreshed")
            return
        }
        #expect(try tokens.revoke(id: record.id))
        #expect(try tokens.registerBootstrap(secret: secret, organisation: "ops", scopes: Set(Scope.allCases), clearance: .confidential) == .revoked(id: record.id))
        #expect(try tokens.authenticate(secret: secret) == nil)
    }
}

@Suite struct ServiceBoundsTests {
    @Test func longPollsAreCappedPerToken() {
        let slots = LongPollSlots(perToken: 4)
        for _ in 0..<4 { #expect(slots.take("tok_a")) }
        #expect(!slots.take("tok_a"))
        #expect(slots.take("tok_b"))
        slots.release("tok_a")
        #expect(slots.take("tok_a"))
        for _ in 0..<4 { slots.release("tok_a") }
        #expect(slots.count("tok_a") == 0)
    }

    /// A listing of many sensitive alerts is ONE audit line naming them (it was one per alert).
    @Test func aListingWritesOneAuditLineNamingItsAlerts() throws {
        let trail = AuditTrail(database: try database())
        let token = TokenRecord(id: "tok_r", organisation: "reader", scopes: [.alertsRead], clearance: .restricted, createdAt: .now())
        let alerts = (1...5).map { StoredAlert(offset: Int64($0), alert: alert(organisation: "f", confidentiality: $0 == 5 ? .public : .restricted)) }
        let done = DispatchSemaphore(value: 0)
        trail.recordListing(alerts, by: token)
        trail.record([AuditEntry(tokenID: "t", organisation: "o", action: .alertFiled, target: "x")]) { _ in done.signal() }
        done.wait()
        let reads = try trail.entries(action: .alertRead)
        #expect(reads.count == 1)
        #expect(reads.first?.target == alerts.prefix(4).map(\.alert.id).joined(separator: ","))
        #expect(reads.first?.detail.hasSuffix("identity shown") == true)
    }

    /// Scrapes read a cached count: a hundred scrapes make at most one scan.
    @Test func cachedReadingsScanAtMostOncePerPeriod() throws {
        let scans = Mutex(0)
        let clock = ManualClock()
        let reading = CachedReading<Int?>(initial: nil, maxAge: 5, clock: clock.read) { scans.withLock { $0 += 1; return $0 } }
        #expect(eventuallyTrue { reading.value != nil })
        for _ in 0..<100 { _ = reading.value }
        usleep(50_000)
        #expect(scans.withLock { $0 } == 1)
        clock.advance(6)
        _ = reading.value
        #expect(eventuallyTrue { reading.value == 2 })
    }

    @Test func theMetricsTokenIsComparedWhole() {
        #expect(HealthAPI.presents("scrape-secret-0123456789", "Bearer scrape-secret-0123456789"))
        #expect(HealthAPI.presents("scrape-secret-0123456789", "bearer scrape-secret-0123456789"))
        #expect(!HealthAPI.presents("scrape-secret-0123456789", "Bearer scrape-secret-012345678"))
        #expect(!HealthAPI.presents("scrape-secret-0123456789", nil))
        #expect(!HealthAPI.presents("scrape-secret-0123456789", "Basic c2NyYXBl"))
    }
}

private func eventuallyTrue(_ seconds: Double = 5, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(5_000)
    }
    return try condition()
}
