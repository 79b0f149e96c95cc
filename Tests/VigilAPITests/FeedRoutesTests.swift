import Foundation
import Synchronization
import Testing
import VigilCore
import VigilDelivery
@testable import VigilHTTP
import VigilObservability
import VigilStore
import VigilTestSupport
@testable import VigilAPI

/// The feed routes in-process (issue 21): who may make a feed token, that `/feeds/` needs no
/// bearer token yet refused secrets count against the address, `ETag` matching, and how a
/// token's feed finds the newest alerts of the log by looking back through time.
@Suite(.timeLimit(.minutes(1))) struct FeedRoutesTests {
    let fixture: RoutingFixture
    let tokens: TokenStore
    let feedTokens: FeedTokenStore
    let audit: AuditTrail
    let authenticator: Authenticator
    let handler: HTTPHandler
    let desk: Subscriber

    init() throws {
        fixture = try RoutingFixture()
        tokens = TokenStore(database: fixture.database)
        feedTokens = FeedTokenStore(database: fixture.database)
        audit = AuditTrail(database: fixture.database)
        authenticator = Authenticator(tokens: tokens)
        desk = try fixture.desk("sub_desk", follows: ["BY"])  // organisation "org", restricted
        var router = HTTPRouter()
        FeedsAPI(
            log: fixture.log, deliveries: fixture.queue, subscribers: fixture.subscribers, feedTokens: feedTokens, authenticator: authenticator,
            audit: audit, publicURL: { "https://vigil.example.org" }, logger: fixture.logger
        ).register(on: &router)
        handler = router.handler
    }

    func token(_ organisation: String, scopes: Set<Scope> = [.subscribersAdmin], clearance: Confidentiality = .restricted) throws -> [String: String] {
        let secret = "secret-\(organisation)-\(UUID().uuidString)"
        _ = try tokens.register(secret: secret, organisation: organisation, scopes: scopes, clearance: clearance)
        return ["authorization": "Bearer \(secret)"]
    }

    /// Sends a request through admission and the routes, as the server would.
    func send(_ method: String, _ target: String, headers: [String: String] = [:], from address: String = "192.0.2.7") -> HTTPResponse {
        var fields = HTTPHeaders()
        for (name, value) in headers { fields.set(name, value) }
        var request = HTTPRequest(method: method, target: target, headers: fields)
        request.remoteAddress = address
        if let refused = authenticator.admission(request) { return refused }
        let answer = Mutex<HTTPResponse?>(nil)
        handler(request, HTTPResponder(capture: { response in answer.withLock { $0 = response } }))
        return answer.withLock { $0 } ?? HTTPResponse(status: 0)
    }

    @Test func onlyTheSubscribersOrganisationOrAnOperatorMakesItsFeedToken() throws {
        let path = "/v1/subscribers/sub_desk/feed-token"
        #expect(send("POST", path, headers: try token("elsewhere")).status == 403)
        #expect(send("POST", path, headers: try token("org", clearance: .public)).status == 403, "not above the caller's own clearance")
        #expect(send("POST", path, headers: try token("org", scopes: [.alertsRead])).status == 403)
        #expect(send("POST", "/v1/subscribers/sub_nobody/feed-token", headers: try token("org")).status == 404)
        audit.waitForPublished()
        #expect(try eventually { try audit.entries(action: .accessRefused).filter { $0.target == "sub_desk" }.count == 2 })

        let own = send("POST", path, headers: try token("org"))
        #expect(own.status == 201)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(own.body)) as? [String: String])
        let secret = try #require(body["feed_token"])
        #expect(body["feed_url"] == "https://vigil.example.org/feeds/\(secret)/alerts.atom")
        #expect(try feedTokens.subscriberID(forSecret: secret) == "sub_desk")
        let operated = send("POST", path, headers: try token("operators", clearance: .confidential))
        #expect(operated.status == 201)
        #expect(try feedTokens.subscriberID(forSecret: secret) == nil, "the operator's new token replaced the desk's")
    }

    @Test func deletingASubscriberRevokesItsFeedToken() throws {
        let secret = try feedTokens.rotate(subscriberID: desk.id)
        #expect(try feedTokens.subscriberID(forSecret: secret) == desk.id)
        let editing = SubscriberEditing(
            registry: fixture.subscribers, feedTokens: feedTokens, audit: audit, policy: AddressPolicy(allowPrivate: false), logger: fixture.logger)
        let operatorToken = TokenRecord(
            id: "tok_op", organisation: "ops", scopes: [.subscribersAdmin], clearance: .confidential, createdAt: .now())
        guard case .success = editing.delete(id: desk.id, by: operatorToken) else {
            Issue.record("the subscriber was not deleted")
            return
        }
        #expect(try feedTokens.subscriberID(forSecret: secret) == nil)
        #expect(try feedTokens.createdAt(subscriberID: desk.id) == nil)
        #expect(send("GET", "/feeds/\(secret)/alerts.atom").status == 404)
    }

    @Test func feedsNeedNoBearerTokenButRefusedSecretsAreThrottledPerAddress() throws {
        let secret = try feedTokens.rotate(subscriberID: desk.id)
        let alert = try fixture.file()
        try fixture.queue.record([RoutedDelivery(
            alertID: alert.alert.id, alertOffset: alert.offset, subscriberID: desk.id, channelID: "sub_desk-hook", channelType: .webhook,
            clearance: .restricted, severity: .critical, reason: .matched, initialState: .pending)])
        let fetched = send("GET", "/feeds/\(secret)/alerts.atom")
        #expect(fetched.status == 200 && fetched.headers["content-type"] == AtomFeed.contentType)
        #expect(String(decoding: fetched.body, as: UTF8.self).contains("<id>urn:vigil:alert:\(alert.alert.id)</id>"))
        let etag = try #require(fetched.headers["etag"])
        #expect(send("GET", "/feeds/\(secret)/alerts.atom", headers: ["if-none-match": "W/\"other\", \(etag)"]).status == 304)

        var statuses: [Int] = []
        for attempt in 0..<Authenticator.failureLimit + 1 { statuses.append(send("GET", "/feeds/guess-\(attempt)/alerts.atom").status) }
        #expect(statuses.dropLast() == ArraySlice(repeating: 404, count: Authenticator.failureLimit) && statuses.last == 429, "\(statuses)")
        #expect(send("GET", "/feeds/\(secret)/alerts.atom").status == 429, "the throttled address waits, even with the right secret")
        #expect(send("GET", "/feeds/\(secret)/alerts.atom", from: "198.51.100.9").status == 200, "another address is not held back")
    }

    @Test func etagsChangeWithTheListOrTheRedactionAndMatchAsHTTPSays() {
        let tag = AlertFeed.etag(ids: ["a", "b"], clearance: .restricted, language: "en")
        #expect(tag.hasPrefix("\"") && tag.hasSuffix("\"") && tag.count == 34)
        #expect(tag != AlertFeed.etag(ids: ["a"], clearance: .restricted, language: "en"))
        #expect(tag != AlertFeed.etag(ids: ["a", "b"], clearance: .confidential, language: "en"))
        #expect(tag != AlertFeed.etag(ids: ["a", "b"], clearance: .restricted, language: "fr"))
        #expect(AlertFeed.matches(tag, tag) && AlertFeed.matches("W/\(tag)", tag) && AlertFeed.matches("\"x\" , \(tag)", tag) && AlertFeed.matches("*", tag))
        #expect(!AlertFeed.matches(nil, tag) && !AlertFeed.matches("\"x\"", tag) && !AlertFeed.matches(String(repeating: "\"x\",", count: 3000) + tag, tag))
    }

    /// A token's feed looks back from now: an alert years old is still found when nothing
    /// newer fills the page, and a window holding more than its cap is split, so the newest
    /// come first even when the cap is small.
    @Test func theLogsNewestAlertsAreFoundBackThroughTime() throws {
        let now = Timestamp.now()
        let old = try fixture.file("BY", at: now.adding(milliseconds: -3 * 365 * 86_400_000))
        var recent: [StoredAlert] = []
        for minute in 0..<12 { recent.append(try fixture.file(minute % 3 == 0 ? "CO" : "BY", at: now.adding(milliseconds: Int64(-minute) * 60_000))) }
        let belarus = recent.filter { $0.alert.country.code == "BY" }.map(\.alert.id)
        #expect(try AlertFeed.newestIDs(limit: 100, country: CountryCode("BY"), in: fixture.log, now: now, windowCap: 3) == belarus + [old.alert.id])
        #expect(try AlertFeed.newestIDs(limit: 4, country: CountryCode("BY"), in: fixture.log, now: now, windowCap: 3) == Array(belarus.prefix(4)))
        #expect(try AlertFeed.newestIDs(limit: 5, country: nil, in: fixture.log, now: now) == recent.prefix(5).map(\.alert.id))
        #expect(try AlertFeed.newestIDs(limit: 5, country: CountryCode("PH"), in: fixture.log, now: now).isEmpty)
    }
}

/// Polls `condition` every 10 ms for at most `seconds`.
private func eventually(_ seconds: Double = 5, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.01)
    }
    return try condition()
}
