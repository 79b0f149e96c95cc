import Foundation
import Testing
import VigilCore
import VigilHTTPClient
import VigilTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `POST /v1/alerts/batch` and `vigil alert send --file …ndjson` against the real service, on
/// the backend `VIGIL_E2E_LOG` names (issue 22): each alert answered in order, the valid
/// ones durable once the answer comes (a SIGKILL right after loses none), per-alert
/// idempotency keys making a second send of the file file nothing.
@Suite(.serialized) struct BatchIngestEndToEndTests {
    struct Answer: Decodable {
        struct Result: Decodable { let index: Int; let status: Int; let id: String?; let error: String? }
        let accepted: Int
        let refused: Int
        let results: [Result]
    }

    @Test func aBatchIsAnsweredAlertByAlertAndSurvivesSIGKILL() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        let client = try BlockingHTTPClient(port: service.port)
        let alerts = (0..<50).map { n in n == 7 ? alertJSON(country: "XX") : alertJSON(country: ["BY", "CO", "PH"][n % 3], summary: "batch \(n)") }
        let response = try client.request("POST", "/v1/alerts/batch", body: #"{"alerts":[\#(alerts.joined(separator: ","))]}"#, headers: auth)
        #expect(response.status == 200, "\(response.text)")
        let answer = try JSONDecoder().decode(Answer.self, from: Data(response.body))
        #expect(answer.accepted == 49 && answer.refused == 1)
        #expect(answer.results.map(\.index) == Array(0..<50))
        #expect(answer.results[7].status == 422 && answer.results[7].error == "validation_failed")
        let ids = answer.results.compactMap(\.id)
        service.kill(signal: SIGKILL)  // the answer promised durability

        try service.start()
        let again = try BlockingHTTPClient(port: service.port)
        for id in ids {
            #expect(try again.request("GET", "/v1/alerts/\(id)", headers: auth).status == 200, "alert \(id) was accepted in a batch but is gone")
        }
    }

    @Test func theCommandLineSendsAnNDJSONFileOnceWithKeys() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        let directory = TemporaryDirectory.make("batch-cli")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = (directory as NSString).appendingPathComponent("alerts.ndjson")
        let lines = (0..<5).map { alertJSON(summary: "line \($0)").replacingOccurrences(of: "\n", with: "") } + [alertJSON(country: "XX").replacingOccurrences(of: "\n", with: "")]
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let environment = ["VIGIL_URL": "http://127.0.0.1:\(service.port)", "VIGIL_TOKEN": ServiceProcess.token]
        let first = try VigilCommand.run(["alert", "send", "--file", file, "--idempotency-key", "import-1"], environment: environment)
        #expect(first.status == 1, "one line is refused: \(first.stdout) \(first.stderr)")
        let printed = first.stdout.split(separator: "\n")
        #expect(printed.count == 6 && printed[5].hasPrefix("line 6: refused (422) country:"), "\(first.stdout) \(first.stderr)")
        let second = try VigilCommand.run(["alert", "send", "--file", file, "--idempotency-key", "import-1"], environment: environment)
        #expect(second.stdout.split(separator: "\n").prefix(5) == printed.prefix(5), "the same ids: nothing filed twice")
        let list = try BlockingHTTPClient(port: service.port).request("GET", "/v1/alerts?limit=100", headers: auth)
        struct Page: Decodable { struct Item: Decodable { let id: String }; let alerts: [Item] }
        #expect(try JSONDecoder().decode(Page.self, from: Data(list.body)).alerts.count == 5)
    }
}
