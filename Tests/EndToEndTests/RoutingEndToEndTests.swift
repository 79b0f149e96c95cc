import Foundation
import Testing
import VigilCore
import VigilHTTPClient
import VigilTestSupport
#if canImport(Glibc)
import Glibc
#endif

let subscribersJSON = [
    #"{"name":"Belarus desk","kind":"diplomatic_desk","organisation":"FPS","contact":"by@example.org","clearance":"restricted","channels":[{"type":"webhook","url":"https://by.example.org/h"},{"type":"email","address":"by@example.org"}],"subscriptions":[{"countries":["BY"],"min_severity":"high","threats":["arrest","detention"]}]}"#,
    #"{"name":"EU delegation Colombia","kind":"eu_delegation","organisation":"EEAS","contact":"co@example.org","channels":[{"type":"email","address":"co@example.org"}],"subscriptions":[{"countries":["CO"],"min_severity":"medium"}]}"#,
    #"{"name":"Union solidarity network","kind":"ngo","organisation":"ITUC","contact":"ngo@example.org","clearance":"confidential","channels":[{"type":"webhook","url":"https://ngo.example.org/h"}],"subscriptions":[{"countries":["*"],"min_severity":"critical"}]}"#,
]

/// Waits until the router has caught up with the log.
func waitForRouting(port: Int, timeout: Double = 30) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        let metrics = try BlockingHTTPClient(port: port).request("GET", "/metrics").text
        if metrics.contains("vigil_router_lag 0\n") { return }
        usleep(20_000)
    }
    Issue.record("the router did not catch up within \(timeout) s")
}

struct ListedAlert: Decodable {
    let id: String
    let country: String
    let severity: String
    let threat: String
    let status: String
    let offset: Int64
}
struct AlertPage: Decodable { let alerts: [ListedAlert]; let next_cursor: String }
struct DeliveryList: Decodable {
    struct Item: Decodable { let id: String; let subscriber_id: String; let channel_id: String; let state: String; let reason: String }
    let deliveries: [Item]
}
struct CreatedSubscriber: Decodable {
    struct ChannelBody: Decodable { let id: String; let secret: String? }
    let id: String
    let channels: [ChannelBody]
}

func allAlerts(port: Int) throws -> [ListedAlert] {
    var after = "0"
    var all: [ListedAlert] = []
    while true {
        let page = try JSONDecoder().decode(AlertPage.self, from: Data(try BlockingHTTPClient(port: port).request("GET", "/v1/alerts?limit=1000&after=\(after)", headers: auth).body))
        all += page.alerts
        if page.alerts.isEmpty { return all }
        after = page.next_cursor
    }
}

@Suite(.serialized) struct RoutingEndToEndTests {
    @Test func everyAlertIsRoutedExactlyOnceAcrossSIGKILLs() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        var subscribers: [(id: String, channels: Int, subscription: [Subscription])] = []
        for json in subscribersJSON {
            let response = try BlockingHTTPClient(port: service.port).request("POST", "/v1/subscribers", body: json, headers: auth)
            #expect(response.status == 201, "\(response.text)")
            let created = try JSONDecoder().decode(CreatedSubscriber.self, from: Data(response.body))
            let parsed = try SubscriberSubmission(json: Array(json.utf8)).validate(id: created.id) { "x" }
            subscribers.append((created.id, created.channels.count, parsed.subscriptions))
            #expect(created.channels.allSatisfy { $0.secret == nil || $0.secret!.hasPrefix("whsec_") })
        }
        let countries = ["BY", "CO", "PH", "GT", "BE"], severities = ["low", "medium", "high", "critical"], threats = ["arrest", "killing", "detention", "dismissal"]
        for round in 0..<5 {
            if round > 0 { try service.start() }
            let port = service.port
            let stop = Date().addingTimeInterval(0.4)
            let filer = Thread {
                var n = 0
                while Date() < stop {
                    let body = #"{"country":"\#(countries[n % 5])","threat":"\#(threats[n % 4])","severity":"\#(severities[(n / 5) % 4])","certainty":"likely","summary":"round \#(round) alert \#(n)","defender":{"name":"Routed Defender"}}"#
                    guard let client = try? BlockingHTTPClient(port: port), (try? client.request("POST", "/v1/alerts", body: body, headers: auth)) != nil else { return }
                    n += 1
                }
            }
            filer.start()
            usleep(UInt32.random(in: 150_000...350_000))
            service.kill(signal: SIGKILL)  // mid-stream: appends and routings in flight
            while filer.isExecuting { usleep(10_000) }
        }
        try service.start()
        try waitForRouting(port: service.port)
        let alerts = try allAlerts(port: service.port)
        #expect(alerts.count > 20, "the test should have filed a real stream, got \(alerts.count)")
        var expectedTotal = 0
        for alert in alerts {
            let probe = Alert(
                id: alert.id, receivedAt: .now(), country: CountryCode(alert.country)!, threat: Threat(rawValue: alert.threat)!,
                severity: Severity(rawValue: alert.severity)!, certainty: .likely, defender: Defender(name: "x"), summary: "x",
                source: AlertSource(organisation: "x"))
            let expected = Set(subscribers.filter { s in s.subscription.contains { $0.matches(probe) } }.map(\.id))
            let expectedCount = subscribers.filter { expected.contains($0.id) }.map(\.channels).reduce(0, +)
            expectedTotal += expectedCount
            let list = try JSONDecoder().decode(DeliveryList.self, from: Data(try BlockingHTTPClient(port: service.port).request("GET", "/v1/alerts/\(alert.id)/deliveries", headers: auth).body))
            #expect(list.deliveries.count == expectedCount, "alert at offset \(alert.offset) has \(list.deliveries.count) deliveries, expected \(expectedCount)")
            #expect(Set(list.deliveries.map(\.subscriber_id)) == expected)
            #expect(Set(list.deliveries.map(\.id)).count == list.deliveries.count)
        }
        #expect(expectedTotal > 0)
        #expect(!service.logs.contains("Routed Defender"))
    }

    @Test func updatesFollowTheCaseAndTestAlertsAreSkipped() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        let client = try BlockingHTTPClient(port: service.port)
        let created = try JSONDecoder().decode(CreatedSubscriber.self, from: Data(try client.request("POST", "/v1/subscribers", body: subscribersJSON[0], headers: auth).body))
        let first = try JSONDecoder().decode(Accepted.self, from: Data(try client.request("POST", "/v1/alerts", body: #"{"country":"BY","threat":"arrest","severity":"critical","certainty":"observed","summary":"arrested","defender":{"name":"Case Defender"}}"#, headers: auth).body))
        try waitForRouting(port: service.port)
        // The desk now only follows Colombia; the update on the Belarus case must still reach it.
        let narrowed = subscribersJSON[0].replacingOccurrences(of: #""countries":["BY"]"#, with: #""countries":["CO"]"#)
        #expect(try client.request("PUT", "/v1/subscribers/\(created.id)", body: narrowed, headers: auth).status == 200)
        let update = try JSONDecoder().decode(Accepted.self, from: Data(try client.request("POST", "/v1/alerts", body: #"{"kind":"update","case_id":"\#(first.id)","country":"BY","threat":"detention","severity":"medium","certainty":"observed","summary":"moved to prison","defender":{"name":"Case Defender"}}"#, headers: auth).body))
        let test = try JSONDecoder().decode(Accepted.self, from: Data(try client.request("POST", "/v1/alerts", body: #"{"status":"test","country":"CO","threat":"arrest","severity":"critical","certainty":"observed","summary":"pipeline test","defender":{"name":"Nobody"}}"#, headers: auth).body))
        try waitForRouting(port: service.port)
        let updates = try JSONDecoder().decode(DeliveryList.self, from: Data(try client.request("GET", "/v1/alerts/\(update.id)/deliveries", headers: auth).body))
        #expect(updates.deliveries.count == 2 && updates.deliveries.allSatisfy { $0.reason == "follows_case" && $0.subscriber_id == created.id })
        let tests = try JSONDecoder().decode(DeliveryList.self, from: Data(try client.request("GET", "/v1/alerts/\(test.id)/deliveries", headers: auth).body))
        #expect(tests.deliveries.count == 2 && tests.deliveries.allSatisfy { $0.state == "skipped" })
        #expect(try client.request("DELETE", "/v1/subscribers/\(created.id)", headers: auth).status == 204)
        #expect(try client.request("GET", "/v1/subscribers/\(created.id)", headers: auth).status == 404)
        #expect(try client.request("GET", "/v1/subscribers", headers: ["Authorization": "Bearer nope-nope-nope-nope"]).status == 401)
    }
}
