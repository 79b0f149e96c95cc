import Foundation
import Testing
import VigilCore
import VigilHTTPClient
import VigilTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Issue 21's digests against the real `vigil serve`, a webhook receiver verifying with
/// `standardwebhooks` and an aiosmtpd server, on both backends (`VIGIL_E2E_LOG=kafka` runs
/// them on a mock Kafka cluster). The desk's windows last ten seconds (`PT10S` from midnight
/// UTC, so they open on every multiple of ten seconds); a digest is due five seconds after its
/// window closes. Every wait is bounded; the two tests take about a minute and a half together.
@Suite(.serialized) struct DigestEndToEndTests {
    /// A webhook the receiver logged, read as digests need it: an alert's own (`data.id`) or
    /// an `alerts.digest` (`data.alerts`, `data.window`).
    struct Hook: Decodable {
        struct Payload: Decodable {
            struct Listed: Decodable {
                struct Summary: Decodable {
                    let id: String
                    let kind: String
                    let severity: String
                    let case_id: String
                    let defender: [String: String]
                }
                let alert: Summary
                let delivery_id: String
            }
            struct Window: Decodable { let start: String; let end: String; let timezone: String }
            struct Data: Decodable { let id: String?; let alerts: [Listed]?; let count: Int?; let window: Window? }
            let type: String
            let delivery_id: String
            let data: Data
        }
        let path: String
        let id: String
        let verified: Bool
        let status: Int
        let payload: Payload?
        let at: Double

        var isDigest: Bool { payload?.type == "alerts.digest" }
        /// The opening of the window a digest covers, in milliseconds since 1970.
        var windowStart: Int64? { payload?.data.window.flatMap { Timestamp(rfc3339: $0.start)?.milliseconds } }
        /// The alerts a digest lists.
        var listed: Set<String> { Set(payload?.data.alerts?.map(\.alert.id) ?? []) }
    }

    /// One delivery as `GET /v1/alerts/{id}/deliveries` shows it, with its follow-up
    /// (`gathered:<window start ms>`, `digest:<start ms>/<end ms>`).
    struct Delivery: Decodable {
        let id: String
        let alert_id: String
        let channel_id: String
        let channel_type: String
        let state: String
        let reason: String
        let follow_up: String?

        /// For a gathered delivery, the opening of its window (ms).
        var gatheredInto: Int64? {
            guard let followUp = follow_up, followUp.hasPrefix("gathered:") else { return nil }
            return Int64(followUp.dropFirst("gathered:".count))
        }
        /// For a digest delivery, the opening of its window (ms).
        var digestOf: Int64? {
            guard let followUp = follow_up, followUp.hasPrefix("digest:") else { return nil }
            return followUp.dropFirst("digest:".count).split(separator: "/").first.flatMap { Int64($0) }
        }
    }
    struct DeliveryPage: Decodable { let deliveries: [Delivery] }

    static let windowMilliseconds: Int64 = 10_000
    static let settlingMilliseconds: Int64 = 5_000

    /// A service, the receivers, and one desk following Belarus from `low`, whose digest
    /// gathers `low` and `medium` every ten seconds, with one webhook and one email channel.
    final class Bed {
        let receivers: Receivers
        let service = ServiceProcess()
        /// Kafka hands a killed worker's records on after their lease; one second, as in
        /// `DeliveryEndToEndTests`. The embedded store makes them due at once on restart.
        let environment: [String: String]
        let subscriber: String
        let webhookChannel: String
        let emailChannel: String
        let path: String

        /// The desk's webhook is `path` on the receiver (`/hang/…` holds each request `hang` seconds).
        init(path: String = "/ok/digest", hang: Double = 3) throws {
            self.path = path
            receivers = try Receivers(hang: hang)
            // A held request (two seconds on `/hang`) is answered well inside the webhook timeout.
            environment = fastRetries(
                ["VIGIL_WEBHOOK_TIMEOUT_SECONDS": "6"].merging(EndToEndBackend.isKafka ? ["VIGIL_LEASE_SECONDS": "1"] : [:]) { $1 }, smtp: receivers.smtp.port)
            try service.start(environment: environment)
            let body = #"{"name":"Digest desk","kind":"diplomatic_desk","organisation":"FPS","contact":"owner@example.org","clearance":"restricted","language":"en","channels":[{"type":"webhook","url":"\#(receivers.url(path))"},{"type":"email","address":"digest@example.org"}],"subscriptions":[{"countries":["BY"],"min_severity":"low","digest":{"below":"high","every":"PT10S","timezone":"UTC"}}]}"#
            let response = try BlockingHTTPClient(port: service.port).request("POST", "/v1/subscribers", body: body, headers: auth)
            #expect(response.status == 201, "\(response.text)")
            let made = try JSONDecoder().decode(CreatedSubscriber.self, from: Data(response.body))
            subscriber = made.id
            webhookChannel = try #require(made.channels.first { $0.secret != nil }).id
            emailChannel = try #require(made.channels.first { $0.secret == nil }).id
            try receivers.trust(made.channels.compactMap(\.secret))
        }

        deinit { service.kill(signal: SIGKILL) }

        /// Files an alert (or, with `caseID`, an update of that case) of `severity`; its id.
        func file(_ severity: String, updating caseID: String? = nil) throws -> String {
            let head = caseID.map { #""kind":"update","case_id":"\#($0)","# } ?? ""
            let body = #"{\#(head)"country":"BY","threat":"arrest","severity":"\#(severity)","certainty":"observed","confidentiality":"restricted","summary":"Union organiser detained after a strike in Hrodna.","defender":{"name":"Case Defender","organisation":"Free Union"}}"#
            let response = try BlockingHTTPClient(port: service.port).request("POST", "/v1/alerts", body: body, headers: auth)
            #expect(response.status == 202, "\(response.text)")
            return try JSONDecoder().decode(Accepted.self, from: Data(response.body)).id
        }

        /// The deliveries of `alert`; none while the service cannot answer (a refused poll).
        func deliveries(of alert: String) -> [Delivery] {
            guard let response = try? BlockingHTTPClient(port: service.port).request("GET", "/v1/alerts/\(alert)/deliveries", headers: auth),
                response.status == 200
            else { return [] }
            return (try? JSONDecoder().decode(DeliveryPage.self, from: Data(response.body)).deliveries) ?? []
        }

        /// Every webhook the receiver logged on the desk's path.
        var hooks: [Hook] { (Receivers.lines(receivers.webhookLog) as [Hook]).filter { $0.path == path } }
        /// The `alerts.digest` webhooks among them.
        var digests: [Hook] { hooks.filter(\.isDigest) }
        /// The alert's own webhooks (`alert.created`, `alert.updated`) about `alert`.
        func ownHooks(_ alert: String) -> [Hook] { hooks.filter { !$0.isDigest && $0.payload?.data.id == alert } }
        /// Every email the SMTP server received for the desk.
        var mails: [Receivers.Mail] { receivers.mails.filter { $0.rcpt_tos == ["digest@example.org"] } }

        /// The window (opening, ms) each of `alerts` was gathered into on both channels, once
        /// the router has recorded them; `nil` when not every alert is gathered by `seconds`.
        func gatheredWindows(_ alerts: [String], within seconds: Double = 20) async -> [String: Int64]? {
            var windows: [String: Int64] = [:]
            let recorded = await waitUntil(within: seconds, interval: 0.2) {
                for alert in alerts where windows[alert] == nil {
                    let gathered = deliveries(of: alert).filter { $0.gatheredInto != nil }
                    guard gathered.count == 2, Set(gathered.map(\.channel_id)) == [webhookChannel, emailChannel],
                        Set(gathered.compactMap(\.gatheredInto)).count == 1
                    else { return false }
                    windows[alert] = gathered[0].gatheredInto
                }
                return true
            }
            return recorded ? windows : nil
        }

        /// The digest deliveries recorded with any of `alerts` (each is recorded once, with the
        /// first alert that named it).
        func digestDeliveries(among alerts: [String]) -> [Delivery] {
            alerts.flatMap { deliveries(of: $0) }.filter { $0.reason == "digest" }
        }
    }

    /// Seconds since 1970 now.
    static var now: Double { Date().timeIntervalSince1970 }

    /// Returns early in a window: waits for the next one to open when more than `latest`
    /// seconds of this one are gone (or it opened less than 0.3 s ago), so that what is filed
    /// next is routed well inside one window. Answers that window's opening (ms).
    static func earlyInAWindow(latest: Double) async throws -> Int64 {
        let into = now.truncatingRemainder(dividingBy: 10)
        if into > latest || into < 0.3 { try await Task.sleep(for: .milliseconds(Int((10 - into + 0.3).truncatingRemainder(dividingBy: 10) * 1000))) }
        return Int64(now * 1000) / windowMilliseconds * windowMilliseconds
    }

    /// The ids of the alerts a digest email lists: its `Case:` lines (a first alert's case is
    /// its own id).
    static func cases(in mail: Receivers.Mail) -> [String] {
        (mail.parts.first { $0.type == "text/plain" }?.text ?? "").split(separator: "\n").filter { $0.hasPrefix("Case: ") }.map { String($0.dropFirst(6)) }
    }

    /// Checks the one digest of `window` on both channels: one signed `alerts.digest` webhook
    /// under the digest's delivery id listing exactly `expected`, one email likewise, both
    /// after the window closed; then that the gathered deliveries and the digests are
    /// `delivered`. `caseOf` maps an alert to the case its email line names.
    static func checkDigest(
        _ bed: Bed, window: Int64, expected: Set<String>, caseOf: [String: String], recordedWith alerts: [String], once: Bool = true
    ) async {
        let end = Double(window + windowMilliseconds) / 1000
        var records: [Delivery] = []
        let arrived = await waitUntil(within: max(5, end + 40 - now), interval: 0.2) {
            records = bed.digestDeliveries(among: alerts).filter { $0.digestOf == window }
            let messageIDs = Set(records.map { "<\($0.id)@vigil.test>" })
            return bed.digests.contains { $0.windowStart == window } && bed.mails.contains { messageIDs.contains($0.message_id) }
        }
        #expect(arrived, "the digest of the window opening at \(window) arrived on both channels")
        let webhookDigest = records.first { $0.channel_id == bed.webhookChannel }, emailDigest = records.first { $0.channel_id == bed.emailChannel }
        #expect(records.count == 2 && webhookDigest != nil && emailDigest != nil, "one digest per channel: \(records.map(\.id))")

        let hooks = bed.digests.filter { $0.windowStart == window }
        if once { #expect(hooks.count == 1, "one alerts.digest webhook for the window, \(hooks.count) arrived") }
        #expect(Set(hooks.map(\.id)).count == 1, "a receiver deduplicating on webhook-id sees one digest: \(hooks.map(\.id))")
        for hook in hooks {
            #expect(hook.verified && hook.status == 200, "standardwebhooks verifies the digest")
            #expect(hook.id.hasPrefix("dlv_digest_") && hook.id == webhookDigest?.id && hook.payload?.delivery_id == hook.id)
            #expect(hook.listed == expected, "the digest lists exactly the alerts gathered in its window: \(hook.listed.sorted()) ≠ \(expected.sorted())")
            #expect(hook.payload?.data.count == expected.count && hook.payload?.data.window?.timezone == "UTC")
            #expect(hook.payload?.data.alerts?.allSatisfy { ["low", "medium"].contains($0.alert.severity) && $0.alert.defender["name"] == "Case Defender" } == true,
                    "only alerts below high are gathered, readable at the desk's clearance")
            #expect(hook.at >= end + 4.5, "sent once its window closed and settled: \(hook.at) vs window end \(end)")
            let entryIDs = Set(hook.payload?.data.alerts?.map(\.delivery_id) ?? [])
            let gathered = Set(expected.flatMap { bed.deliveries(of: $0) }.filter { $0.gatheredInto == window && $0.channel_id == bed.webhookChannel }.map(\.id))
            #expect(entryIDs == gathered, "each listed alert names the gathered delivery the digest settles")
        }
        let mails = bed.mails.filter { $0.message_id == "<\(emailDigest?.id ?? "-")@vigil.test>" }
        if once { #expect(mails.count == 1, "one digest email for the window, \(mails.count) arrived") }
        for mail in mails {
            #expect(Set(cases(in: mail)) == Set(expected.map { caseOf[$0] ?? $0 }) && cases(in: mail).count == expected.count, "\(mail.parts.first?.text ?? "")")
            #expect(mail.subject.hasPrefix("[DIGEST] \(expected.count) \(expected.count == 1 ? "alert" : "alerts"),"), "\(mail.subject)")
        }
        // Delivered, the digest settles what it listed in the same write.
        let settled = await waitUntil(within: max(10, end + 40 - now), interval: 0.2) {
            expected.allSatisfy { alert in
                let gathered = bed.deliveries(of: alert).filter { $0.gatheredInto == window }
                return gathered.count == 2 && gathered.allSatisfy { $0.state == "delivered" }
            } && bed.digestDeliveries(among: alerts).filter { $0.digestOf == window }.allSatisfy { $0.state == "delivered" }
        }
        #expect(settled, "the gathered deliveries and the digests are delivered once the digest went")
    }

    /// Waits for an alert sent at once to be delivered on both channels (the pipeline is up).
    static func warmUp(_ bed: Bed) async throws {
        let first = try bed.file("critical")
        let up = await waitUntil(within: 30, interval: 0.2) {
            let states = bed.deliveries(of: first).map(\.state)
            return states == ["delivered", "delivered"]
        }
        #expect(up, "a critical alert went at once on both channels: \(bed.deliveries(of: first).map(\.state))")
    }

    /// Low and medium alerts wait for the window's one digest on each channel; high and
    /// critical alerts filed in the same window go at once. An update of a case the desk got
    /// at once goes at once, even if low; an update of a case it got only in a digest is
    /// gathered into the next. A window with nothing gathered sends nothing.
    @Test(.timeLimit(.minutes(4))) func lowAlertsWaitForOneDigestPerWindowWhileUrgentOnesGoAtOnce() async throws {
        let bed = try Bed()
        try await Self.warmUp(bed)

        let opened = try await Self.earlyInAWindow(latest: 4)
        let low = try bed.file("low"), medium = try bed.file("medium"), high = try bed.file("high"), critical = try bed.file("critical")
        let closes = Double(opened + Self.windowMilliseconds) / 1000
        let urgent = await waitUntil(within: 10, interval: 0.1) { !bed.ownHooks(high).isEmpty && !bed.ownHooks(critical).isEmpty }
        #expect(urgent, "the high and critical alerts arrived at once")
        for alert in [high, critical] {
            let hook = try #require(bed.ownHooks(alert).first)
            #expect(hook.payload?.type == "alert.created" && hook.verified && hook.status == 200)
            #expect(hook.at < closes, "\(alert) arrived before its window closed (\(closes - hook.at) s left)")
            #expect(bed.deliveries(of: alert).allSatisfy { $0.follow_up == nil && $0.reason == "matched" })
        }
        let firstWindows = try #require(await bed.gatheredWindows([low, medium]), "the low and medium alerts are gathered on both channels")
        #expect(bed.ownHooks(low).isEmpty && bed.ownHooks(medium).isEmpty, "gathered alerts do not go on their own")
        // On a loaded machine the gathering may be seen only after the window closed and its
        // digest went: what matters is that none came before the close.
        #expect(bed.digests.allSatisfy { $0.at >= closes }, "no digest before its window closed")
        // Filed a few seconds into a window, both are routed inside it; were the machine so
        // slow that one slipped into the next, each window's digest must still list its own.
        for window in Set(firstWindows.values).sorted() {
            let members = Set(firstWindows.filter { $0.value == window }.keys)
            await Self.checkDigest(bed, window: window, expected: members, caseOf: [:], recordedWith: [low, medium])
        }
        #expect(!bed.digests.contains { !$0.listed.isDisjoint(with: [high, critical]) }, "an urgent alert is never in a digest")

        // After the digest: a low update of the high alert's case goes at once; a low update
        // of the low alert's case (the desk has it only from a digest) is gathered.
        let urgentCase = try bed.file("low", updating: high)
        let quietCase = try bed.file("low", updating: low)
        let followed = await waitUntil(within: 10, interval: 0.1) { !bed.ownHooks(urgentCase).isEmpty }
        #expect(followed, "the update of a case sent at once goes at once")
        #expect(bed.ownHooks(urgentCase).first?.payload?.type == "alert.updated")
        #expect(bed.deliveries(of: urgentCase).allSatisfy { $0.follow_up == nil }, "\(bed.deliveries(of: urgentCase).map(\.follow_up))")
        let secondWindows = try #require(await bed.gatheredWindows([quietCase]), "the update of a case known from a digest is gathered")
        let second = try #require(secondWindows[quietCase])
        #expect(second > firstWindows.values.max()!, "into a later window")
        #expect(bed.ownHooks(quietCase).isEmpty)
        await Self.checkDigest(bed, window: second, expected: [quietCase], caseOf: [quietCase: low], recordedWith: [quietCase])

        // The next window gathers nothing: when its digest would be due, nothing came.
        let digests = bed.digests.count, mails = bed.mails.count
        let quietEnds = Double(second + 2 * Self.windowMilliseconds + Self.settlingMilliseconds) / 1000 + 2
        try await Task.sleep(for: .milliseconds(Int(max(0, quietEnds - Self.now) * 1000)))
        #expect(bed.digests.count == digests && bed.mails.count == mails, "an empty window sends nothing")
        #expect(bed.digests.count == Set(firstWindows.values).count + 1, "one digest webhook per window with alerts")
        #expect(bed.hooks.allSatisfy { $0.verified }, "every webhook, digests included, verifies with standardwebhooks")
    }

    /// Low alerts gathered; the service SIGKILLed inside their window, again once it closed
    /// (before its digest is due), and again while the digest webhook is being sent (the
    /// receiver holds each request two seconds). After each restart on the same data (and the
    /// same Kafka cluster) the desk gets the digest with every alert under one delivery id: a
    /// receiver deduplicating on `webhook-id` sees one digest.
    @Test(.timeLimit(.minutes(4))) func aDigestSurvivesSIGKILLsAndIsSentUnderOneDeliveryID() async throws {
        let bed = try Bed(path: "/hang/digest", hang: 2)
        try await Self.warmUp(bed)

        _ = try await Self.earlyInAWindow(latest: 3)
        let alerts = try [bed.file("low"), bed.file("medium"), bed.file("low")]
        let windows = try #require(await bed.gatheredWindows(alerts, within: 8), "the alerts are gathered before the kill")
        #expect(bed.digestDeliveries(among: alerts).count == 2, "with one digest per channel")
        let window = try #require(windows.values.max())
        let closes = Double(window + Self.windowMilliseconds) / 1000
        // On a loaded machine routing may land after the window closed; the first kill then falls
        // between the close and the digest, which the next kill covers as well: go on.
        bed.service.kill(signal: SIGKILL)
        try bed.service.start(environment: bed.environment)

        // Once the window closed, unless its digest already went (a slow restart).
        if Self.now < closes + 0.5 { try await Task.sleep(for: .milliseconds(Int((closes + 0.5 - Self.now) * 1000))) }
        let digestID = try #require(bed.digestDeliveries(among: alerts).first { $0.channel_id == bed.webhookChannel && $0.digestOf == window }?.id)
        if bed.digests.isEmpty {
            bed.service.kill(signal: SIGKILL)
            try bed.service.start(environment: bed.environment)
        }
        // While the receiver holds the digest webhook (on a loaded machine the two seconds it is
        // held may pass between two looks: then it was delivered, and the kill falls after it).
        let sending = await waitUntil(within: max(5, closes + 30 - Self.now), interval: 0.1) {
            bed.digestDeliveries(among: alerts).contains { $0.id == digestID && ($0.state == "in_flight" || $0.state == "delivered") }
        }
        #expect(sending, "the digest webhook was sent after the restarts")
        bed.service.kill(signal: SIGKILL)
        try bed.service.start(environment: bed.environment)

        // Everything filed lands in one window here, or each window's digest lists its own.
        let byWindow = Dictionary(grouping: alerts) { windows[$0]! }
        for (start, members) in byWindow.sorted(by: { $0.key < $1.key }) {
            await Self.checkDigest(bed, window: start, expected: Set(members), caseOf: [:], recordedWith: alerts, once: false)
        }
        // A moment more (the held request may still be answered): nothing under another id,
        // no alert of the digest sent on its own.
        try await Task.sleep(for: .seconds(3))
        var perID: [String: Int] = [:]
        for hook in bed.digests { perID[hook.id, default: 0] += 1 }
        let mailIDs = Set(bed.mails.filter { $0.subject.hasPrefix("[DIGEST]") }.map(\.message_id))
        #expect(perID.count == byWindow.count && mailIDs.count == byWindow.count, "per delivery id: webhooks \(perID), emails \(mailIDs)")
        #expect((perID[digestID] ?? 0) >= 1 && bed.digests.allSatisfy { $0.listed == Set(byWindow[$0.windowStart ?? 0] ?? []) })
        #expect(alerts.allSatisfy { bed.ownHooks($0).isEmpty }, "a gathered alert is not also sent on its own")
        print("digest across SIGKILLs: webhook arrivals per delivery id \(perID), digest emails \(mailIDs.count)")
    }
}
