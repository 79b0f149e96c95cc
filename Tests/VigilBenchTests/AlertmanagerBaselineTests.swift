import Foundation
import Synchronization
import Testing
import VigilHTTPClient
import VigilTestSupport
@testable import VigilBench

/// The Alertmanager baseline of `vigil bench` (issue 22): its configuration, the sink both
/// sides deliver to, and — where `prometheus-alertmanager` is installed — a real one
/// delivering to that sink. No timings: what is measured is measured in `vigil bench`.
@Suite struct AlertmanagerBaselineTests {
    static let installed = AlertmanagerBaseline.locate() != nil

    @Test func theConfigurationSendsEachAlertAtOnceAndAloneToEveryEndpoint() {
        let one = AlertmanagerBaseline.configuration(webhooks: ["http://127.0.0.1:9/hook/a"])
        let lines = one.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        for field in ["group_by: ['id']", "group_wait: 0s", "group_interval: 1s", "repeat_interval: 24h", "send_resolved: false", "continue: true"] {
            #expect(lines.contains(field), "missing \(field)")
        }
        #expect(lines.filter { $0.hasPrefix("- url: ") } == ["- url: 'http://127.0.0.1:9/hook/a'"])
        #expect(lines.filter { $0 == "webhook_configs:" }.count == 1)

        let many = AlertmanagerBaseline.configuration(webhooks: (0..<200).map { "http://127.0.0.1:9/hook/\($0)" })
        let manyLines = many.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(manyLines.filter { $0 == "webhook_configs:" }.count == 200)
        #expect(manyLines.filter { $0 == "continue: true" }.count == 200)
        #expect(manyLines.filter { $0 == "send_resolved: false" }.count == 200)
        #expect(manyLines.filter { $0 == #"matchers: ['country="GT"']"# }.count == 200)
    }

    @Test func alertsCarryTheirKeyAsTheirIdLabel() throws {
        let body = AlertmanagerBaseline.body(["vbk-a-1", "vbk-a-2"])
        let alerts = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]])
        let ids = alerts.compactMap { ($0["labels"] as? [String: String])?["id"] }
        #expect(ids == ["vbk-a-1", "vbk-a-2"])
    }

    @Test func theSinkFindsTheKeyInEitherSidesBody() {
        let vigil = #"{"data":{"summary":"vbk-v1-17 A trade union leader","country":"GT"},"delivery_id":"dlv_x"}"#
        let alertmanager = #"{"receiver":"sink-0","alerts":[{"labels":{"id":"vbk-a1-17","country":"GT"}}]}"#
        #expect(WebhookSinkServer.key(in: Array(vigil.utf8)) == "vbk-v1-17")
        #expect(WebhookSinkServer.key(in: Array(alertmanager.utf8)) == "vbk-a1-17")
        #expect(WebhookSinkServer.key(in: Array("vb vbk vbk-x\"".utf8)) == "vbk-x")
        #expect(WebhookSinkServer.key(in: Array("vbk".utf8)) == nil)
        #expect(WebhookSinkServer.key(in: Array(#"{"no":"key"}"#.utf8)) == nil)
        #expect(WebhookSinkServer.key(in: []) == nil)
        // Bounded: a key runs at most 64 bytes however long the run of key characters.
        #expect(WebhookSinkServer.key(in: Array(("vbk-" + String(repeating: "a", count: 500)).utf8))?.count == 64)
    }

    @Test func aBatchAnswersAcceptedCountIsBoundedByWhatWasSent() {
        #expect(ComparedVigil.accepted(in: Array(#"{"accepted":2,"refused":0,"results":[]}"#.utf8), of: 2) == 2)
        #expect(ComparedVigil.accepted(in: Array(#"{"accepted":1e300}"#.utf8), of: 100) == 100)
        #expect(ComparedVigil.accepted(in: Array(#"{"accepted":-5}"#.utf8), of: 100) == 0)
        #expect(ComparedVigil.accepted(in: Array("not json".utf8), of: 100) == 0)
    }

    @Test func theSinkProcessReportsEachWebhookWithItsKey() async throws {
        let binary = ServiceProcess.binary
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build vigil first (swift build --build-tests): \(binary)")
        let sink = try WebhookSink(executable: binary, arguments: ["bench", "sink"])
        defer { sink.stop() }
        let client = try BlockingHTTPClient(port: sink.port, timeout: 5)
        for body in [#"{"id":"vbk-p-1"}"#, #"{"id":"vbk-p-2"}"#, #"{"nothing":"here"}"#] {
            #expect(try client.request("POST", "/hook/x", body: body).status == 204)
        }
        #expect(await waitUntil(within: 10) { sink.received == 3 }, "the sink reported \(sink.received) of 3 webhooks")
        #expect(sink.times(of: "vbk-p-1").count == 1 && sink.times(of: "vbk-p-2").count == 1 && sink.distinctKeys == 2)
    }

    @Test(.enabled(if: installed, "prometheus-alertmanager is not installed: deploy/setup.sh bench installs it"), .timeLimit(.minutes(1)))
    func alertmanagerDeliversTwoPostedAlertsToTheSink() async throws {
        let receipts = Mutex<[String]>([])
        let sink = try WebhookSinkServer { key, _ in receipts.withLock { $0.append(key ?? "-") } }
        defer { sink.stop() }
        let alertmanager = try AlertmanagerBaseline(
            executable: try #require(AlertmanagerBaseline.locate()), webhooks: ["http://127.0.0.1:\(sink.port)/hook/am0"])
        defer { alertmanager.stop() }
        let client = try BlockingHTTPClient(port: alertmanager.port, timeout: 10)
        #expect(try alertmanager.file(["vbk-test-1", "vbk-test-2"], on: client) == 2)
        #expect(await waitUntil(within: 20) { receipts.withLock { $0.count >= 2 } }, "Alertmanager delivered \(receipts.withLock { $0 }) of 2 within 20 s")
        #expect(receipts.withLock { $0.sorted() } == ["vbk-test-1", "vbk-test-2"])
    }
}
