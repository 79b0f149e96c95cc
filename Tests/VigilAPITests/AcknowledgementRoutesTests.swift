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

/// Workers that only count pokes: what the API asks of them when it records a report.
final class PokeCounter: DeliveryWorkers {
    private let count = Mutex(0)
    var pokes: Int { count.withLock { $0 } }
    func poke() { count.withLock { $0 += 1 } }
    func reserveForRouting() -> ClaimRequest? { nil }
    func accept(_ claimed: [DeliveryRecord], reservedBy reservation: ClaimRequest) {}
}

/// The acknowledgement routes in-process (issue 19): who may acknowledge for whom, what is
/// refused and how, that a link's `GET` changes nothing and its `POST` records, that the
/// first acknowledgement reports to the filer, and that refused links count against the address.
@Suite(.timeLimit(.minutes(1))) struct AcknowledgementRoutesTests {
    let fixture: RoutingFixture
    let tokens: TokenStore
    let audit: AuditTrail
    let ledger: AcknowledgementStore
    let authenticator: Authenticator
    let handler: HTTPHandler
    let key = Array(repeating: UInt8(9), count: 32)
    let desk: Subscriber
    let reporter: Subscriber
    /// Stands in for the workers: counts how often the API pokes them.
    let pokes = PokeCounter()

    init() throws {
        fixture = try RoutingFixture()
        tokens = TokenStore(database: fixture.database)
        audit = AuditTrail(database: fixture.database)
        ledger = AcknowledgementStore(database: fixture.database, log: fixture.log)
        authenticator = Authenticator(tokens: tokens)
        desk = try fixture.desk("sub_desk", follows: ["BY"])  // organisation "org"
        reporter = Subscriber(
            id: "sub_reports", name: "reports", kind: .ngo, organisation: "partner", contact: "r@example.org", clearance: .restricted,
            language: "en", channels: [Channel(id: "sub_reports-hook", type: .webhook, url: "https://partner.example/reports")],
            subscriptions: [], reports: true)
        try fixture.subscribers.saveAll([reporter])
        let acknowledger = Acknowledger(
            log: fixture.log, ledger: ledger, subscribers: fixture.subscribers, deliveries: fixture.queue, workers: pokes, audit: audit,
            metrics: fixture.metrics, logger: fixture.logger)
        var router = HTTPRouter()
        AcksAPI(log: fixture.log, acknowledger: acknowledger, subscribers: fixture.subscribers, deliveries: fixture.queue, authenticator: authenticator, audit: audit)
            .register(on: &router)
        AckLinkAPI(log: fixture.log, acknowledger: acknowledger, subscribers: fixture.subscribers, authenticator: authenticator, key: key)
            .register(on: &router)
        handler = router.handler
    }

    /// A token of `organisation` with `scopes`.
    func token(_ organisation: String, scopes: Set<Scope> = [.alertsRead], clearance: Confidentiality = .restricted) throws -> String {
        let secret = "secret-\(organisation)-\(UUID().uuidString)"
        _ = try tokens.register(secret: secret, organisation: organisation, scopes: scopes, clearance: clearance)
        return secret
    }

    /// Files an alert (as "partner") that was sent to the desk, optionally with handling instructions.
    func sentAlert(handling: HandlingInstructions? = nil) throws -> StoredAlert {
        var alert = try fixture.file().alert
        alert.handling = handling
        alert.id = ULID().description
        let receipt = try fixture.log.appendNow(alert)
        try fixture.queue.record([RoutedDelivery(
            alertID: alert.id, alertOffset: receipt.offset, subscriberID: desk.id, channelID: "sub_desk-hook", channelType: .webhook,
            clearance: .restricted, severity: alert.severity, reason: .matched, initialState: .pending)])
        return StoredAlert(offset: receipt.offset, alert: alert)
    }

    /// Sends a request through admission and the routes, as the server would.
    func send(_ method: String, _ target: String, body: String = "", headers: [String: String] = [:], from address: String = "192.0.2.7") -> HTTPResponse {
        var fields = HTTPHeaders()
        for (name, value) in headers { fields.set(name, value) }
        var request = HTTPRequest(method: method, target: target, headers: fields, body: Array(body.utf8))
        request.remoteAddress = address
        if let refused = authenticator.admission(request) { return refused }
        let answer = Mutex<HTTPResponse?>(nil)
        handler(request, HTTPResponder(capture: { response in answer.withLock { $0 = response } }))
        return answer.withLock { $0 } ?? HTTPResponse(status: 0)
    }

    func bearer(_ secret: String) -> [String: String] { ["authorization": "Bearer \(secret)", "content-type": "application/json"] }

    @Test func aDeskAcknowledgesForItsOwnSubscribersOnlyAndIdempotently() throws {
        let alert = try sentAlert()
        let own = try token("org"), other = try token("elsewhere")
        let path = "/v1/alerts/\(alert.alert.id)/acks"
        #expect(send("POST", path, body: #"{"subscriber_id":"sub_desk"}"#, headers: bearer(other)).status == 403)
        #expect(send("POST", "/v1/alerts/01ARZ3NDEKTSV4RRFFQ69G5FAV/acks", body: #"{"subscriber_id":"sub_desk"}"#, headers: bearer(own)).status == 404)
        #expect(send("POST", path, body: #"{"subscriber_id":"sub_nobody"}"#, headers: bearer(own)).status == 422)
        #expect(send("POST", path, body: #"{"subscriber_id":"sub_desk","action":"dancing"}"#, headers: bearer(own)).status == 422)
        #expect(send("POST", path, body: #"{"subscriber_id":"sub_desk","mood":"fine"}"#, headers: bearer(own)).status == 422)
        #expect(send("POST", path, body: #"{"subscriber_id":"sub_reports"}"#, headers: bearer(try token("partner"))).status == 422,
            "a subscriber the alert was not sent to does not acknowledge it")
        #expect(try ledger.acknowledgements(ofAlert: alert.alert.id).isEmpty, "nothing refused is recorded")

        let first = send("POST", path, body: #"{"subscriber_id":"sub_desk","action":"acting","note":"Called the lawyer"}"#, headers: bearer(own))
        #expect(first.status == 201, "\(String(decoding: first.body, as: UTF8.self))")
        let again = send("POST", path, body: #"{"subscriber_id":"sub_desk","action":"demarche"}"#, headers: bearer(own))
        #expect(again.status == 200 && String(decoding: again.body, as: UTF8.self).contains(#""first":false"#))
        let acks = try ledger.acknowledgements(ofAlert: alert.alert.id)
        #expect(acks.count == 1 && acks[0].action == .demarche && acks[0].via == .api)
        // The first acknowledgement reported to the filer's `reports` subscriber, once.
        let reports = try fixture.queue.deliveries(ofAlert: alert.alert.id).filter { $0.subscriberID == "sub_reports" }
        #expect(reports.count == 1 && reports[0].reason == .followUp && reports[0].state == .pending)
        #expect(pokes.pokes == 1, "the workers are poked once, for the first acknowledgement's report")
        try audit.waitForReplica()  // the trail is written behind the answer; this waits for the writer
        let audited = try audit.entries(action: .alertAcknowledged)
        #expect(audited.count == 2 && audited.allSatisfy { $0.target == alert.alert.id && !$0.detail.contains("lawyer") })
        #expect(fixture.metrics.render().contains("vigil_time_to_ack_seconds_count{kind=\"diplomatic_desk\",severity=\"critical\"} 1\n"))
        // Operators may acknowledge for anyone.
        let operatorToken = try token("ops", scopes: [.alertsRead, .subscribersAdmin], clearance: .confidential)
        #expect(send("POST", path, body: #"{"subscriber_id":"sub_desk","action":"seen"}"#, headers: bearer(operatorToken)).status == 200)
    }

    /// Found by schemathesis against the contract: a `null` subscriber_id was read as absent
    /// but not reported as missing, so the answer was a `422` naming no field at all.
    @Test func aNullSubscriberIsNamedAsMissing() throws {
        let alert = try sentAlert()
        let response = send("POST", "/v1/alerts/\(alert.alert.id)/acks", body: #"{"subscriber_id":null,"action":null}"#, headers: bearer(try token("org")))
        #expect(response.status == 422)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        let named = (body["fields"] as? [[String: Any]])?.compactMap { $0["field"] as? String }
        #expect(named == ["subscriber_id"], "\(String(decoding: response.body, as: UTF8.self))")
    }

    @Test func anActionTheFilerForbidsIsRefusedNamingTheInstruction() throws {
        let alert = try sentAlert(handling: HandlingInstructions(noContactWithAuthorities: true))
        let response = send(
            "POST", "/v1/alerts/\(alert.alert.id)/acks", body: #"{"subscriber_id":"sub_desk","action":"prison_visit"}"#, headers: bearer(try token("org")))
        #expect(response.status == 409 && String(decoding: response.body, as: UTF8.self).contains("no_contact_with_authorities"))
        // Through the link's form the refusal is a page, in the desk's language.
        let link = "/ack/" + AckLink(alertID: alert.alert.id, subscriberID: "sub_desk", now: .now()).token(key: key)
        let page = send("POST", link, body: "action=demarche", headers: ["content-type": "application/x-www-form-urlencoded"])
        #expect(page.status == 409 && page.headers["content-type"]?.hasPrefix("text/html") == true)
        #expect(String(decoding: page.body, as: UTF8.self).contains(HTML.escape(AckPage.english.refusedBy)))
        let bad = send("POST", link, body: "action=<script>", headers: ["content-type": "application/x-www-form-urlencoded"])
        #expect(bad.status == 422 && !String(decoding: bad.body, as: UTF8.self).contains("<script>"))
        #expect(try ledger.acknowledgements(ofAlert: alert.alert.id).isEmpty)
    }

    @Test func aLinkNeedsNoTokenItsGetChangesNothingAndItsPostRecords() throws {
        let alert = try sentAlert()
        let link = "/ack/" + AckLink(alertID: alert.alert.id, subscriberID: "sub_desk", now: .now()).token(key: key)
        let page = send("GET", link)
        #expect(page.status == 200 && page.headers["content-security-policy"] != nil)
        #expect(String(decoding: page.body, as: UTF8.self).contains("<form method=\"post\">"))
        #expect(try ledger.acknowledgements(ofAlert: alert.alert.id).isEmpty, "GET changes nothing")
        let form = send("POST", link, body: "action=acting&note=On+it", headers: ["content-type": "application/x-www-form-urlencoded"])
        #expect(form.status == 200 && form.headers["content-type"]?.hasPrefix("text/html") == true)
        let json = send("POST", link, body: "", headers: [:])
        #expect(json.status == 200 && json.headers["cache-control"] == "no-store")
        let acks = try ledger.acknowledgements(ofAlert: alert.alert.id)
        #expect(acks.count == 1 && acks[0].via == .link && acks[0].note == "On it")
        #expect(acks[0].action == .seen, "a bare POST acknowledges as seen, updating the action and keeping the note")
    }

    @Test func refusedLinksCountAgainstTheAddressThrottle() throws {
        let alert = try sentAlert()
        let forged = "/ack/" + AckLink(alertID: alert.alert.id, subscriberID: "sub_desk", now: .now()).token(key: Array(repeating: 1, count: 32))
        for _ in 0..<Authenticator.failureLimit { #expect(send("GET", forged, from: "198.51.100.9").status == 404) }
        let good = "/ack/" + AckLink(alertID: alert.alert.id, subscriberID: "sub_desk", now: .now()).token(key: key)
        #expect(send("GET", good, from: "198.51.100.9").status == 429, "the address is throttled, even for a good link")
        #expect(send("POST", good, from: "198.51.100.9").status == 429)
        #expect(send("GET", good, from: "198.51.100.10").status == 200)
        let expired = "/ack/" + AckLink(alertID: alert.alert.id, subscriberID: "sub_desk", now: Timestamp(milliseconds: 0)).token(key: key)
        #expect(send("GET", expired).status == 410)
        #expect(try ledger.acknowledgements(ofAlert: alert.alert.id).isEmpty)
    }
}
