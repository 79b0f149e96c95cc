import Foundation
import Testing
import VigilCore
import VigilHTTPClient
import VigilTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The receivers' scripts, shared with the demo in deploy/receivers.
let receiversDirectory = ((((#filePath as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent as NSString)
    .deletingLastPathComponent as NSString).appendingPathComponent("deploy/receivers")

/// A webhook receiver verifying with `standardwebhooks`, and an aiosmtpd server, both on loopback.
final class Receivers {
    let webhook: HelperProcess
    let smtp: HelperProcess
    let webhookLog: String
    let smtpLog: String

    init(hang: Double = 3) throws {
        let dir = TemporaryDirectory.make("vigil-receivers")
        webhookLog = dir + "/webhooks.jsonl"
        smtpLog = dir + "/mail.jsonl"
        webhook = try HelperProcess(file: receiversDirectory + "/webhook_receiver.py", arguments: [webhookLog, String(hang)])
        smtp = try HelperProcess(file: receiversDirectory + "/smtp_receiver.py", arguments: [smtpLog])
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(webhook.port)\(path)" }

    /// Starts or ends an outage of the receiver's `/outage/…` endpoints (503 while on).
    func outage(_ on: Bool) throws {
        #expect(try BlockingHTTPClient(port: webhook.port).request("POST", "/_outage", body: on ? "true" : "false").status == 204)
    }

    /// Tells the webhook receiver which secrets to verify with.
    func trust(_ secrets: [String]) throws {
        let body = String(decoding: try JSONEncoder().encode(secrets), as: UTF8.self)
        #expect(try BlockingHTTPClient(port: webhook.port).request("POST", "/_secrets", body: body).status == 204)
    }

    /// A desk on the service at `port` with one webhook channel at `path` on this receiver,
    /// which is told to verify with that channel's secret (and no other).
    @discardableResult
    func desk(on port: Int, path: String, country: String = "BY", clearance: String = "restricted") throws -> CreatedSubscriber {
        let desk = try createSubscriber(port, channels: #"[{"type":"webhook","url":"\#(url(path))"}]"#, country: country, clearance: clearance)
        try trust(desk.channels.compactMap(\.secret))
        return desk
    }

    struct Hook: Decodable {
        struct Payload: Decodable {
            struct Data: Decodable {
                let id: String
                let defender: [String: String]
            }
            let type: String
            let delivery_id: String
            let replay_id: String?
            let data: Data
        }
        let path: String; let id: String; let verified: Bool; let status: Int; let signatures: Int; let payload: Payload?; let at: Double
        let replay: String?
        /// Requests to the same path in progress when this one arrived, itself included.
        let concurrent: Int
    }

    struct Mail: Decodable {
        struct Part: Decodable { let type: String; let text: String }
        let mail_from: String; let rcpt_tos: [String]; let subject: String; let message_id: String; let content_type: String; let parts: [Part]
    }

    var hooks: [Hook] { Receivers.lines(webhookLog) }
    var mails: [Mail] { Receivers.lines(smtpLog) }

    static func lines<T: Decodable>(_ path: String) -> [T] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            try? JSONDecoder().decode(T.self, from: Data($0.utf8))
        }
    }
}

/// Polls `condition` every 20 ms for at most `seconds`.
func eventually(_ seconds: Double = 20, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}

func createSubscriber(_ port: Int, channels: String, country: String = "BY", clearance: String = "restricted", contact: String = "owner@example.org") throws -> CreatedSubscriber {
    let body = #"{"name":"Desk","kind":"diplomatic_desk","organisation":"FPS","contact":"\#(contact)","clearance":"\#(clearance)","language":"fr","channels":\#(channels),"subscriptions":[{"countries":["\#(country)"],"min_severity":"low"}]}"#
    let response = try BlockingHTTPClient(port: port).request("POST", "/v1/subscribers", body: body, headers: auth)
    #expect(response.status == 201, "\(response.text)")
    return try JSONDecoder().decode(CreatedSubscriber.self, from: Data(response.body))
}

func file(_ port: Int, country: String = "BY", severity: String = "critical", confidentiality: String = "restricted", name: String = "Delivered Defender") throws -> String {
    let body = #"{"country":"\#(country)","threat":"arrest","severity":"\#(severity)","certainty":"observed","confidentiality":"\#(confidentiality)","summary":"Trade union leader arrested at dawn in Minsk by plain-clothes officers.","defender":{"name":"\#(name)","organisation":"Free Union"}}"#
    let response = try BlockingHTTPClient(port: port).request("POST", "/v1/alerts", body: body, headers: auth)
    #expect(response.status == 202)
    return try JSONDecoder().decode(Accepted.self, from: Data(response.body)).id
}

func deliveries(_ port: Int, of alert: String) throws -> [DeliveryList.Item] {
    try JSONDecoder().decode(DeliveryList.self, from: Data(try BlockingHTTPClient(port: port).request("GET", "/v1/alerts/\(alert)/deliveries", headers: auth).body)).deliveries
}

func states(_ port: Int, of alert: String) throws -> [String] { try deliveries(port, of: alert).map(\.state) }

/// A loopback port that was bound and released: connecting to it is refused.
func portNobodyListensOn() throws -> Int {
    try HelperProcess(script: "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print('READY', s.getsockname()[1], flush=True)").port
}

/// Settings that make retries quick enough for a test.
func fastRetries(_ extra: [String: String] = [:], smtp: Int) -> [String: String] {
    var environment = [
        "VIGIL_ALLOW_PRIVATE_WEBHOOKS": "true", "VIGIL_SMTP_URL": "smtp://127.0.0.1:\(smtp)", "VIGIL_SMTP_FROM": "Vigil <alerts@vigil.test>",
        "VIGIL_RETRY_BASE_MILLISECONDS": "40", "VIGIL_RETRY_CAP_SECONDS": "0.2", "VIGIL_WEBHOOK_TIMEOUT_SECONDS": "2",
    ]
    for (k, v) in extra { environment[k] = v }
    return environment
}

@Suite(.serialized) struct DeliveryEndToEndTests {
    @Test func signedWebhookAndMultipartEmailArrive() throws {
        let receivers = try Receivers()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: fastRetries(smtp: receivers.smtp.port))
        let subscriber = try createSubscriber(service.port, channels: #"[{"type":"webhook","url":"\#(receivers.url("/ok"))"},{"type":"email","address":"desk@example.org"}]"#, clearance: "public")
        try receivers.trust(subscriber.channels.compactMap(\.secret))
        let alert = try file(service.port)
        #expect(try eventually { try states(service.port, of: alert) == ["delivered", "delivered"] })
        let hook = try #require(receivers.hooks.first)
        #expect(hook.verified && hook.status == 200 && hook.signatures == 1)
        #expect(hook.payload?.type == "alert.created" && hook.payload?.data.id == alert && hook.payload?.delivery_id == hook.id)
        #expect(hook.payload?.data.defender["name"] == "[redacted]", "a public-clearance desk must not see a restricted identity")
        let mail = try #require(receivers.mails.first)
        #expect(mail.content_type == "multipart/alternative" && mail.parts.map(\.type) == ["text/plain", "text/html"])
        // Below the alert's confidentiality the summary is withheld (issue 17), in the desk's language.
        #expect(mail.subject.hasPrefix("[CRITIQUE] Belarus — arrestation: Résumé non communiqué"), "\(mail.subject)")
        #expect(mail.rcpt_tos == ["desk@example.org"] && mail.mail_from == "alerts@vigil.test")
        let emailDelivery = try deliveries(service.port, of: alert).first { $0.channel_id == subscriber.channels[1].id }!
        #expect(mail.message_id == "<\(emailDelivery.id)@vigil.test>")
        #expect(mail.parts[0].text.contains("Pays: Belarus") && !mail.parts[0].text.contains("Delivered Defender"))
        #expect(!service.logs.contains("Delivered Defender"))
    }

    @Test func aReceiverWithAnotherSecretRefusesEveryMessage() throws {
        let receivers = try Receivers()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: fastRetries(smtp: receivers.smtp.port))
        _ = try createSubscriber(service.port, channels: #"[{"type":"webhook","url":"\#(receivers.url("/ok"))"}]"#)
        try receivers.trust(["whsec_" + Data(repeating: 7, count: 32).base64EncodedString()])
        let alert = try file(service.port)
        // The receiver answers 401, a permanent refusal: one attempt, then the dead letters.
        #expect(try eventually { try states(service.port, of: alert) == ["dead"] })
        #expect(receivers.hooks.count == 1 && !receivers.hooks[0].verified && receivers.hooks[0].status == 401)
        #expect(try BlockingHTTPClient(port: service.port).request("GET", "/v1/deliveries?state=dead", headers: auth).text.contains("401"))
    }

    @Test func aFailureIsRetriedWithTheSameWebhookID() throws {
        let receivers = try Receivers()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        // Retry-After is clamped to the retry cap (issue 17): a cap of 60 s (1 s for
        // critical alerts) leaves the receiver's 1 s to be honoured.
        try service.start(environment: fastRetries(["VIGIL_RETRY_CAP_SECONDS": "60"], smtp: receivers.smtp.port))
        let subscriber = try createSubscriber(service.port, channels: #"[{"type":"webhook","url":"\#(receivers.url("/flaky"))"},{"type":"webhook","url":"\#(receivers.url("/busy"))"}]"#)
        try receivers.trust(subscriber.channels.compactMap(\.secret))
        let alert = try file(service.port)
        #expect(try eventually { try states(service.port, of: alert) == ["delivered", "delivered"] })
        let flaky = receivers.hooks.filter { $0.path == "/flaky" }, busy = receivers.hooks.filter { $0.path == "/busy" }
        #expect(flaky.map(\.status) == [500, 200] && Set(flaky.map(\.id)).count == 1)
        #expect(busy.map(\.status) == [429, 200] && Set(busy.map(\.id)).count == 1)
        #expect(busy[1].at - busy[0].at >= 0.9, "Retry-After: 1 must be honoured")
        #expect(try deliveries(service.port, of: alert).allSatisfy { $0.state == "delivered" })
    }

    @Test func goneDisablesTheEndpoint() throws {
        let receivers = try Receivers()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: fastRetries(smtp: receivers.smtp.port))
        try receivers.desk(on: service.port, path: "/gone")
        let first = try file(service.port)
        #expect(try eventually { try states(service.port, of: first) == ["dead"] })
        let second = try file(service.port)
        #expect(try eventually { try states(service.port, of: second) == ["dead"] })
        #expect(receivers.hooks.count == 1, "a disabled endpoint must not be called again")
        let dead = try BlockingHTTPClient(port: service.port).request("GET", "/v1/deliveries?state=dead", headers: auth).text
        #expect(dead.contains("410") && dead.contains("disabled"))
    }

    @Test func aHangingEndpointTimesOutAndDoesNotDelayOthers() throws {
        let receivers = try Receivers(hang: 3)
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: fastRetries(["VIGIL_WEBHOOK_TIMEOUT_SECONDS": "1"], smtp: receivers.smtp.port))
        let slow = try createSubscriber(service.port, channels: #"[{"type":"webhook","url":"\#(receivers.url("/hang"))"}]"#)
        let fast = try createSubscriber(service.port, channels: #"[{"type":"webhook","url":"\#(receivers.url("/ok"))"}]"#)
        try receivers.trust((slow.channels + fast.channels).compactMap(\.secret))
        let alert = try file(service.port)
        #expect(try eventually { try deliveries(service.port, of: alert).first { $0.subscriber_id == fast.id }?.state == "delivered" })
        #expect(try deliveries(service.port, of: alert).first { $0.subscriber_id == slow.id }?.state != "delivered",
                "the fast desk was served while the slow one was still hanging")
        #expect(try eventually(20) {
            let slowDelivery = try deliveries(service.port, of: alert).first { $0.subscriber_id == slow.id }
            return slowDelivery?.state == "failed" || (receivers.hooks.filter { $0.path == "/hang" }.count >= 2)
        })
        let dead = try BlockingHTTPClient(port: service.port).request("GET", "/v1/alerts/\(alert)/deliveries", headers: auth).text
        #expect(dead.contains("timeout after") || receivers.hooks.filter { $0.path == "/hang" }.count >= 2)
    }

    @Test func aReceiverDownForTheWholeBudgetOpensTheBreakerAndDies() throws {
        let receivers = try Receivers()
        let closedPort = try portNobodyListensOn()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: fastRetries([
            "VIGIL_RETRY_BUDGET_SECONDS": "2", "VIGIL_BREAKER_THRESHOLD": "3", "VIGIL_BREAKER_COOLDOWN_SECONDS": "0.2",
        ], smtp: receivers.smtp.port))
        _ = try createSubscriber(service.port, channels: #"[{"type":"webhook","url":"http://127.0.0.1:\#(closedPort)/down"}]"#, contact: "owner@desk.example.org")
        let alert = try file(service.port, severity: "high")
        #expect(try eventually(30) { try states(service.port, of: alert) == ["dead"] })
        let item = try #require(try deliveries(service.port, of: alert).first)
        #expect(try BlockingHTTPClient(port: service.port).request("GET", "/v1/deliveries?state=dead", headers: auth).text.contains(item.id))
        #expect(eventually { receivers.mails.contains { $0.rcpt_tos == ["owner@desk.example.org"] && $0.subject.contains("Vigil") } },
                "the endpoint's owner must be told when the breaker opens")
        // A scrape reads delivery counts made at most `Metrics.countsMaxAgeSeconds` before.
        var metrics = ""
        #expect(try eventually(15) {
            metrics = try BlockingHTTPClient(port: service.port).request("GET", "/metrics").text
            return metrics.contains("vigil_breaker_openings_total") && metrics.contains("vigil_dead_letters 1")
        })
        let resident = metrics.split(separator: "\n").first { $0.hasPrefix("process_resident_memory_bytes ") }
        #expect((resident?.split(separator: " ").last.flatMap { Double($0) } ?? 0) > 1_000_000, "the service reports its resident memory")
        let cpu = metrics.split(separator: "\n").first { $0.hasPrefix("process_cpu_seconds_total ") }
        #expect((cpu?.split(separator: " ").last.flatMap { Double($0) } ?? 0) > 0, "the service reports the CPU it used")
        // A dead letter can be sent again.
        #expect(try BlockingHTTPClient(port: service.port).request("POST", "/v1/deliveries/\(item.id)/retry", headers: auth).status == 202)
        #expect(try BlockingHTTPClient(port: service.port).request("POST", "/v1/deliveries/\(item.id)/retry", headers: auth).status == 404)
    }

    /// While an endpoint's breaker is open nothing is sent to it but one trial per
    /// cool-down; the backlog it held goes out once a trial gets through.
    @Test func anOpenBreakerHoldsTheBacklogUntilATrialGetsThrough() throws {
        let receivers = try Receivers()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: fastRetries([
            "VIGIL_RETRY_BUDGET_SECONDS": "120", "VIGIL_BREAKER_THRESHOLD": "3", "VIGIL_BREAKER_COOLDOWN_SECONDS": "1",
        ], smtp: receivers.smtp.port))
        try receivers.desk(on: service.port, path: "/outage/desk")
        try receivers.outage(true)
        let alerts = try (0..<10).map { _ in try file(service.port, severity: "high") }
        // The first 3 s of the outage, timed by the receiver from its first request (on Kafka
        // the workers may take a few seconds to join their group). Retries every ≤200 ms
        // would make well over a hundred (212 when the pool did not ask the breaker); the
        // breaker allows the failures that open it, the sends already out then (at most 4, the
        // per-endpoint limit) and retries claimed before it opened, then a trial after 1 s
        // and another 2 s later.
        #expect(eventually(30) { receivers.hooks.contains { $0.path == "/outage/desk" } })
        let first = try #require(receivers.hooks.first { $0.path == "/outage/desk" })
        Thread.sleep(forTimeInterval: max(0, first.at + 3.2 - Date().timeIntervalSince1970))
        let duringOutage = receivers.hooks.filter { $0.path == "/outage/desk" && $0.at < first.at + 3 }
        #expect(duringOutage.count >= 3 && duringOutage.count <= 20, "\(duringOutage.count) requests during the outage")
        #expect(duringOutage.allSatisfy { $0.status == 503 })
        try receivers.outage(false)
        #expect(try eventually(30) { try alerts.allSatisfy { try states(service.port, of: $0) == ["delivered"] } })
        let delivered = receivers.hooks.filter { $0.path == "/outage/desk" && $0.status == 200 }
        #expect(delivered.count == 10 && Set(delivered.compactMap { $0.payload?.data.id }) == Set(alerts), "each alert once, once the endpoint is back")
    }

    /// A slow desk back from an outage with a dozen retries due at once gets at most four
    /// requests at a time (the per-endpoint limit), not the whole backlog in one claim, and
    /// every alert still arrives once.
    @Test func aDeskBackFromAnOutageGetsAtMostFourRequestsAtOnce() throws {
        let receivers = try Receivers()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: fastRetries(["VIGIL_RETRY_BUDGET_SECONDS": "120", "VIGIL_BREAKER_THRESHOLD": "1000"], smtp: receivers.smtp.port))
        try receivers.desk(on: service.port, path: "/recovering/desk")
        try receivers.outage(true)
        let alerts = try (0..<12).map { _ in try file(service.port, severity: "high") }
        #expect(eventually(30) { Set(receivers.hooks.filter { $0.status == 503 }.map(\.id)).count == alerts.count })
        try receivers.outage(false)
        #expect(try eventually(30) { try alerts.allSatisfy { try states(service.port, of: $0) == ["delivered"] } })
        let delivered = receivers.hooks.filter { $0.status == 200 }
        #expect(delivered.count == alerts.count && Set(delivered.compactMap { $0.payload?.data.id }) == Set(alerts))
        let most = receivers.hooks.map(\.concurrent).max() ?? 0
        #expect(most <= 4, "\(most) requests at once to one endpoint")
    }

    @Test func aRotatedSecretSignsTwiceUntilTheReceiverSwitches() throws {
        let receivers = try Receivers()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: fastRetries(smtp: receivers.smtp.port))
        let subscriber = try createSubscriber(service.port, channels: #"[{"type":"webhook","url":"\#(receivers.url("/ok"))"}]"#)
        let channel = subscriber.channels[0]
        let rotated = try BlockingHTTPClient(port: service.port).request("POST", "/v1/subscribers/\(subscriber.id)/channels/\(channel.id)/rotate-secret", headers: auth)
        #expect(rotated.status == 200)
        struct Rotated: Decodable { let secret: String }
        let newSecret = try JSONDecoder().decode(Rotated.self, from: Data(rotated.body)).secret
        #expect(newSecret != channel.secret && newSecret.hasPrefix("whsec_"))
        try receivers.trust([channel.secret!])  // a receiver not yet switched
        let first = try file(service.port)
        #expect(try eventually { try states(service.port, of: first) == ["delivered"] })
        try receivers.trust([newSecret])  // and one that has switched
        let second = try file(service.port)
        #expect(try eventually { try states(service.port, of: second) == ["delivered"] })
        #expect(receivers.hooks.count == 2 && receivers.hooks.allSatisfy { $0.verified && $0.signatures == 2 })
    }

    @Test func aCriticalAlertFallsBackToTheContactsEmail() throws {
        let receivers = try Receivers()
        let closedPort = try portNobodyListensOn()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: fastRetries(["VIGIL_BREAKER_THRESHOLD": "50"], smtp: receivers.smtp.port))
        _ = try createSubscriber(service.port, channels: #"[{"type":"webhook","url":"http://127.0.0.1:\#(closedPort)/down"}]"#, contact: "duty-officer@desk.example.org")
        _ = try file(service.port, severity: "critical")
        #expect(eventually { receivers.mails.contains { $0.rcpt_tos == ["duty-officer@desk.example.org"] && $0.subject.contains("[CRITIQUE]") } },
                "a critical alert whose webhook keeps failing must reach the contact by email")
        #expect(receivers.mails.filter { $0.subject.contains("[CRITIQUE]") }.count == 1, "the fallback is sent once")
    }

    @Test func sigkillWithSendsInFlightLosesNothing() throws {
        let receivers = try Receivers(hang: 0.4)
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        // Embedded: the default 60 s lease, since a restart makes what the kill left in flight
        // due at once. Kafka hands a dead worker's records to the group after its session.
        let environment = fastRetries(EndToEndBackend.isEmbedded ? [:] : ["VIGIL_LEASE_SECONDS": "1"], smtp: receivers.smtp.port)
        try service.start(environment: environment)
        try receivers.desk(on: service.port, path: "/hang")
        var alerts: [String] = []
        for _ in 0..<12 { alerts.append(try file(service.port)) }
        #expect(eventually { !receivers.hooks.isEmpty })
        service.kill(signal: SIGKILL)  // sends in flight, leases held
        try service.start(environment: environment)
        #expect(try eventually(40) { try alerts.allSatisfy { try states(service.port, of: $0) == ["delivered"] } })
        let received = receivers.hooks.filter(\.verified)
        let expected = Set(try alerts.flatMap { try deliveries(service.port, of: $0).map(\.id) })
        #expect(Set(received.map(\.id)).isSuperset(of: expected), "every delivery reached the receiver")
        #expect(Set(received.compactMap { $0.payload?.data.id }) == Set(alerts))
        // Duplicates are allowed only as the same webhook-id, which receivers drop.
        #expect(Set(received.map(\.id)).count == alerts.count)
    }
}
