import Foundation
import Testing
import VigilCore
import VigilTestSupport
@testable import VigilDelivery

/// Digests (issue 21) in the workers: a digest that comes due is sent once, signed, as one
/// `alerts.digest` webhook listing what was gathered in its window, each alert redacted for
/// the subscriber with its acknowledgement link; delivered, it settles them. A digest with
/// nothing left to list sends nothing.
@Suite struct DigestDeliveryTests {
    static let subscriber = Subscriber(
        id: "sub_desk", name: "Desk", kind: .diplomaticDesk, organisation: "FPS", contact: "desk@example.org", clearance: .restricted,
        language: "en", channels: [Channel(id: "ch_sub_desk", type: .webhook, url: "http://127.0.0.1:9/desk")],
        subscriptions: [Subscription(
            countries: [CountryCode("BY")!], minSeverity: .low,
            digest: DigestSchedule(below: .high, every: .seconds(3600), timezone: "Europe/Brussels"))])
    static let directory = FollowUpDeliveryTests.Directory(subscribers: [subscriber])

    /// A window that closed a minute ago: its digest is due, its alerts' own fallback is not.
    static func window() -> DigestWindow {
        let end = Timestamp.now().milliseconds - 60_000
        return DigestWindow(start: Timestamp(milliseconds: end - 3_600_000), end: Timestamp(milliseconds: end))
    }

    static func routed(_ alert: Alert, offset: LogOffset, into window: DigestWindow) -> [RoutedDelivery] {
        let delivery = { (followUp: FollowUp, reason: RoutingReason, due: Int64) in
            RoutedDelivery(
                alertID: alert.id, alertOffset: offset, subscriberID: "sub_desk", channelID: "ch_sub_desk", channelType: .webhook,
                clearance: .restricted, severity: alert.severity, reason: reason, initialState: .pending, followUp: followUp,
                dueAt: window.end.adding(milliseconds: due))
        }
        return [
            delivery(.gathered(window: window.start), .matched, DigestSchedule.settlingMilliseconds + DigestSchedule.fallbackMilliseconds),
            delivery(.digest(window), .digest, DigestSchedule.settlingMilliseconds),
        ]
    }

    static func alert(_ id: String, at ms: Int64, _ changes: (inout Alert) -> Void = { _ in }) -> Alert {
        EmailTests().alert {
            $0.id = id
            $0.caseID = id
            $0.receivedAt = Timestamp(milliseconds: ms)
            $0.severity = .medium
            changes(&$0)
        }
    }

    /// Runs a pool over `queue` until it has recorded `outcomes` outcomes (at most 5 s).
    static func run(_ queue: InMemoryDeliveryQueue, log: FollowUpDeliveryTests.CaseLog, until done: @escaping () -> Bool) -> DeliveryWorkerPoolTests.FakeTransport {
        let transport = DeliveryWorkerPoolTests.FakeTransport([.success(HTTPOutcome(status: 204, retryAfterMilliseconds: nil, latencyMilliseconds: 1))])
        var configuration = WorkerConfiguration()
        configuration.allowPrivateWebhooks = true
        configuration.maxConcurrent = 4
        configuration.ackURL = AckLink.urls(publicURL: "https://vigil.example.org/", key: FollowUpDeliveryTests.linkKey)
        let pool = DeliveryWorkerPool(queue: queue, log: log, directory: directory, configuration: configuration, transport: transport)
        pool.start()
        let deadline = Date().addingTimeInterval(5)
        while !done() && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        pool.stop(timeout: 5)
        return transport
    }

    @Test func aDigestIsOneSignedWebhookListingItsAlertsRedactedAndSettlesThem() throws {
        let window = Self.window()
        let first = Self.alert("01M825CFCJ7PXX86Y361FVVH2C", at: window.start.milliseconds + 1_000) { $0.severity = .low }
        let secret = Self.alert("01M825CFCJ7PXX86Y361FVVH2D", at: window.start.milliseconds + 2_000) {
            $0.confidentiality = .confidential
            $0.defender = Defender(name: "Named Person")
        }
        let log = FollowUpDeliveryTests.CaseLog([first, secret])
        let queue = InMemoryDeliveryQueue()
        try queue.recordRouting(Self.routed(first, offset: 1, into: window) + Self.routed(secret, offset: 2, into: window), through: 2, consumer: "router")
        let digestID = try #require(try queue.deliveries(ofAlert: first.id).first { $0.reason == .digest }?.id)
        let transport = Self.run(queue, log: log) { (try? queue.deliveries(ofAlert: first.id).allSatisfy { $0.state == .delivered }) ?? false }

        #expect(transport.requests.count == 1, "one digest, nothing on its own")
        let sent = try FollowUpDeliveryTests.sent(digestID, in: transport, secrets: [Self.directory.secret])
        #expect(sent.headers["vigil-digest"] == "true")
        #expect(sent.json["type"] as? String == "alerts.digest")
        let data = try #require(sent.json["data"] as? [String: Any])
        #expect(data["count"] as? Int == 2)
        let shownWindow = try #require(data["window"] as? [String: Any])
        #expect(shownWindow["start"] as? String == window.start.description && shownWindow["timezone"] as? String == "Europe/Brussels")
        let listed = try #require(data["alerts"] as? [[String: Any]])
        #expect(listed.compactMap { ($0["alert"] as? [String: Any])?["id"] as? String } == [first.id, secret.id], "in the order received")
        #expect(listed.allSatisfy { ($0["ack_url"] as? String)?.hasPrefix("https://vigil.example.org/") == true })
        let body = String(decoding: transport.requests[0].body, as: UTF8.self)
        #expect(!body.contains("Named Person"), "an alert above the subscriber's clearance is listed without the name")
        #expect(try [first, secret].flatMap { try queue.deliveries(ofAlert: $0.id) }.allSatisfy { $0.state == .delivered })
    }

    @Test func aDigestWithNothingLeftToListSendsNothing() throws {
        let window = Self.window()
        let excluded = Self.alert("01M825CFCJ7PXX86Y361FVVH2E", at: window.start.milliseconds + 1_000) {
            $0.handling = HandlingInstructions(excludeSubscribers: ["sub_desk"])
        }
        let queue = InMemoryDeliveryQueue()
        try queue.recordRouting(Self.routed(excluded, offset: 1, into: window), through: 1, consumer: "router")
        let digest = try #require(try queue.deliveries(ofAlert: excluded.id).first { $0.reason == .digest })
        let transport = Self.run(queue, log: FollowUpDeliveryTests.CaseLog([excluded])) {
            (try? queue.deliveries(ofAlert: excluded.id).first { $0.id == digest.id }?.state == .cancelled) ?? false
        }
        #expect(transport.requests.isEmpty)
        #expect(try queue.deliveries(ofAlert: excluded.id).first { $0.id == digest.id }?.lastError == "no alert is left to send in this window")
    }
}
