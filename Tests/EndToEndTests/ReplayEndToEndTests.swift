import Foundation
import Testing
import VigilCore
import VigilHTTPClient
import VigilTestSupport
#if canImport(Glibc)
import Glibc
#endif

struct ReplayProgressBody: Decodable { let id: String; let state: String; let scanned: Int; let alerts: Int; let deliveries: Int }
struct DryRunBody: Decodable {
    struct Item: Decodable { let delivery_id: String; let alert_id: String; let subscriber_id: String; let channel_id: String }
    let alerts: Int; let deliveries: Int; let listed: [Item]
}

func replayCLI(_ service: ServiceProcess, _ arguments: [String]) throws -> VigilCommand.Output {
    try VigilCommand.run(["replay"] + arguments, environment: ["VIGIL_URL": "http://127.0.0.1:\(service.port)", "VIGIL_TOKEN": ServiceProcess.token])
}

@Suite(.serialized) struct ReplayEndToEndTests {
    /// An embassy's endpoint is down; its deliveries die; the window is replayed to that desk
    /// only, and each missed alert arrives once, marked as a replay, with a valid signature.
    @Test func anOutageWindowIsReplayedToTheDeskThatMissedIt() throws {
        let receivers = try Receivers()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: fastRetries(["VIGIL_RETRY_BUDGET_SECONDS": "0.5", "VIGIL_BREAKER_THRESHOLD": "1000"], smtp: receivers.smtp.port))
        let desk = try createSubscriber(service.port, channels: #"[{"type":"webhook","url":"\#(receivers.url("/outage/desk"))"}]"#)
        let ngo = try createSubscriber(service.port, channels: #"[{"type":"webhook","url":"\#(receivers.url("/ok/ngo"))"}]"#)
        try receivers.trust((desk.channels + ngo.channels).compactMap(\.secret))
        let before = try file(service.port, name: "Case Defender")
        #expect(try eventually { try states(service.port, of: before) == ["delivered", "delivered"] })
        try receivers.outage(true)
        let windowStart = Timestamp.now()
        let missed = try (0..<3).map { _ in try file(service.port, name: "Case Defender") }
        for alert in missed {
            #expect(try eventually { try deliveries(service.port, of: alert).map { "\($0.subscriber_id):\($0.state)" }.sorted() == ["\(desk.id):dead", "\(ngo.id):delivered"].sorted() })
        }
        let windowEnd = Timestamp.now().adding(milliseconds: 1)
        try receivers.outage(false)
        let hooksBefore = receivers.hooks.count

        let window = ["--since", windowStart.description, "--until", windowEnd.description, "--subscriber", desk.id]
        let dry = try replayCLI(service, window + ["--dry-run", "--json"])
        #expect(dry.status == 0, "\(dry.stderr)")
        let plan = try JSONDecoder().decode(DryRunBody.self, from: Data(dry.stdout.utf8))
        #expect(plan.alerts == 3 && plan.deliveries == 3 && Set(plan.listed.map(\.alert_id)) == Set(missed))
        #expect(receivers.hooks.count == hooksBefore, "a dry run sends nothing")

        let run = try replayCLI(service, window + ["--wait", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let progress = try JSONDecoder().decode(ReplayProgressBody.self, from: Data(run.stdout.utf8))
        #expect(progress.state == "done" && progress.alerts == 3 && progress.deliveries == 3)
        #expect(eventually { receivers.hooks.filter { $0.replay == "true" && $0.status == 200 }.count == 3 })
        usleep(300_000)
        let replayed = receivers.hooks.dropFirst(hooksBefore)
        #expect(replayed.count == 3, "each missed alert once, to the desk only: \(replayed.map(\.path))")
        #expect(replayed.allSatisfy { $0.path == "/outage/desk" && $0.verified && $0.replay == "true" && $0.payload?.replay_id == progress.id })
        #expect(Set(replayed.compactMap { $0.payload?.data.id }) == Set(missed))
        #expect(Set(replayed.map(\.id)) == Set(plan.listed.map(\.delivery_id)), "the dry run listed exactly what was then sent")
        for alert in missed {
            #expect(try deliveries(service.port, of: alert).first { $0.subscriber_id == desk.id }?.state == "delivered")
        }
        #expect(try auditEntries(service.port, action: "replay.started").map(\.target) == ["dry-run", progress.id])
    }

    /// A new delegation gets the last days of one country and nothing else.
    @Test func aNewSubscriberGetsTheLastDaysOfOneCountryOnly() throws {
        let receivers = try Receivers()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: fastRetries(smtp: receivers.smtp.port))
        let colombia = try (0..<2).map { _ in try file(service.port, country: "CO", name: "Case Defender") }
        _ = try file(service.port, country: "BY", name: "Case Defender")
        _ = try file(service.port, country: "PH", name: "Case Defender")
        // Routed before the delegation exists (on Kafka the router follows a moment behind).
        try waitForRouting(port: service.port)
        let body = #"{"name":"EU delegation Colombia","kind":"eu_delegation","organisation":"EEAS","contact":"co@example.org","clearance":"restricted","language":"en","channels":[{"type":"email","address":"delegation-co@example.org"}],"subscriptions":[{"countries":["CO","BY"],"min_severity":"low"}]}"#
        let created = try BlockingHTTPClient(port: service.port).request("POST", "/v1/subscribers", body: body, headers: auth)
        let delegation = try JSONDecoder().decode(CreatedSubscriber.self, from: Data(created.body))
        let since = Timestamp.now().adding(milliseconds: -3 * 86_400_000)
        let run = try replayCLI(service, ["--since", since.description, "--country", "CO", "--subscriber", delegation.id, "--wait", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(eventually { receivers.mails.filter { $0.rcpt_tos == ["delegation-co@example.org"] }.count == 2 })
        usleep(300_000)
        let mails = receivers.mails.filter { $0.rcpt_tos == ["delegation-co@example.org"] }
        #expect(mails.count == 2 && mails.allSatisfy { $0.subject.hasPrefix("[REPLAY] [CRITICAL] Colombia") }, "\(mails.map(\.subject))")
        #expect(mails.allSatisfy { $0.parts[0].text.contains("Case Defender") }, "today's restricted clearance reads the name")
        for alert in colombia { #expect(try deliveries(service.port, of: alert).contains { $0.subscriber_id == delegation.id && $0.reason == "replay" }) }
    }

    /// A live alert filed while a large replay runs is delivered before the replay ends.
    @Test func liveAlertsOvertakeALargeReplay() throws {
        let receivers = try Receivers()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: fastRetries(["VIGIL_REPLAY_RATE_PER_SECOND": "100", "VIGIL_RATE_LIMIT_BURST": "5000"], smtp: receivers.smtp.port))
        let desk = try receivers.desk(on: service.port, path: "/ok/desk")
        let client = try BlockingHTTPClient(port: service.port)
        for _ in 0..<600 {
            #expect(try client.request("POST", "/v1/alerts", body: alertJSON(name: "Case Defender"), headers: auth).status == 202)
        }
        #expect(eventually(60) { receivers.hooks.count >= 600 })
        let started = try client.request("POST", "/v1/replays", body: #"{"from_offset":1,"subscriber_id":"\#(desk.id)"}"#, headers: auth)
        #expect(started.status == 202)
        let replay = try JSONDecoder().decode(ReplayProgressBody.self, from: Data(started.body))
        usleep(500_000)
        let live = try file(service.port, name: "Case Defender")
        #expect(eventually(30) { receivers.hooks.contains { $0.payload?.data.id == live } })
        #expect(try eventually(60) {
            try JSONDecoder().decode(ReplayProgressBody.self, from: Data(try client.request("GET", "/v1/replays/\(replay.id)", headers: auth).body)).state == "done"
        })
        #expect(eventually(60) { receivers.hooks.filter { $0.replay == "true" }.count == 600 })
        // The order the receiver saw: the live alert went out before the replay's tail, so
        // it did not wait for the replay to drain.
        let hooks = receivers.hooks
        let livePosition = try #require(hooks.firstIndex { $0.payload?.data.id == live })
        let lastReplayed = try #require(hooks.lastIndex { $0.replay == "true" })
        #expect(livePosition < lastReplayed, "live at \(livePosition), last replayed at \(lastReplayed)")
    }
}
