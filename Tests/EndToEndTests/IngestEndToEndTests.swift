import Foundation
import Testing
import VigilCore
import VigilHTTPClient
import VigilTestSupport
#if canImport(Glibc)
import Glibc
#endif

let auth = ["Authorization": "Bearer \(ServiceProcess.token)", "Content-Type": "application/json"]

func alertJSON(country: String = "BY", name: String = "E2E Defender", summary: String = "Union leader arrested at dawn.") -> String {
    """
    {"country":"\(country)","threat":"arrest","severity":"critical","certainty":"observed","urgency":"immediate",
     "summary":"\(summary)","defender":{"name":"\(name)","group":"trade_unionist"},"tags":["trade-union"]}
    """
}

struct Accepted: Decodable { let id: String; let offset: Int64; let status: String }

@Suite(.serialized) struct IngestEndToEndTests {
    /// The promise of a `202`: whatever happens to the process right after, the alert is there.
    @Test func anAcceptedAlertSurvivesSIGKILL() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        var accepted: [String] = []
        for round in 0..<20 {
            try service.start()
            let client = try BlockingHTTPClient(port: service.port)
            let response = try client.request("POST", "/v1/alerts", body: alertJSON(summary: "round \(round)"), headers: auth)
            #expect(response.status == 202, "\(response.text)")
            let body = try JSONDecoder().decode(Accepted.self, from: Data(response.body))
            service.kill(signal: SIGKILL)  // no graceful anything
            accepted.append(body.id)
            // On Kafka offsets sort partition by partition, and each case has a partition of its own choosing.
            if service.kafka == nil { #expect(body.offset == Int64(round + 1)) }
        }
        try service.start()
        let client = try BlockingHTTPClient(port: service.port)
        for id in accepted {
            let response = try client.request("GET", "/v1/alerts/\(id)", headers: auth)
            #expect(response.status == 200, "alert \(id) was acknowledged but is gone")
        }
        let list = try client.request("GET", "/v1/alerts?limit=100", headers: auth)
        struct Page: Decodable { struct Item: Decodable { let id: String }; let alerts: [Item] }
        let listed = try JSONDecoder().decode(Page.self, from: Data(list.body)).alerts.map(\.id)
        #expect(service.kafka == nil ? listed == accepted : Set(listed) == Set(accepted) && listed.count == accepted.count)
    }

    @Test func refusesBadInputAndMissingTokens() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        let client = try BlockingHTTPClient(port: service.port)
        #expect(try client.request("POST", "/v1/alerts", body: alertJSON()).status == 401)
        #expect(try client.request("POST", "/v1/alerts", body: alertJSON(), headers: ["Authorization": "Bearer wrong-token-xxxxxxxxxxxx"]).status == 401)
        let invalid = try client.request("POST", "/v1/alerts", body: alertJSON(country: "XX"), headers: auth)
        #expect(invalid.status == 422)
        #expect(invalid.text.contains("\"field\":\"country\""))
        let notJSON = try client.request("POST", "/v1/alerts", body: "{", headers: auth)
        #expect(notJSON.status == 422)
        let update = try client.request("POST", "/v1/alerts", body: #"{"kind":"update","case_id":"01M825CFCJ7PXX86Y361FVVH2B","country":"BY","threat":"arrest","severity":"high","certainty":"observed","summary":"charged","defender":{"name":"X"}}"#, headers: auth)
        #expect(update.status == 422 && update.text.contains("case_id"))
        #expect(try client.request("GET", "/v1/alerts?limit=0", headers: auth).status == 400)
        #expect(try client.request("GET", "/healthz").status == 200)
        #expect(try client.request("GET", "/readyz").status == 200)
        #expect(try client.request("GET", "/metrics").text.contains("vigil_alerts_rejected_total"))
        #expect(!service.logs.contains("E2E Defender"))
    }

    @Test func idempotencyKeysHoldAcrossRestarts() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        var headers = auth
        headers["Idempotency-Key"] = "case-2026-0042"
        let first = try BlockingHTTPClient(port: service.port).request("POST", "/v1/alerts", body: alertJSON(), headers: headers)
        #expect(first.status == 202)
        service.kill(signal: SIGKILL)
        try service.start()
        let client = try BlockingHTTPClient(port: service.port)
        let retry = try client.request("POST", "/v1/alerts", body: alertJSON(), headers: headers)
        #expect(retry.status == 202 && retry.body == first.body && retry.headers["idempotent-replayed"] == "true")
        let reused = try client.request("POST", "/v1/alerts", body: alertJSON(country: "CO"), headers: headers)
        #expect(reused.status == 409)
        let list = try client.request("GET", "/v1/alerts", headers: auth)
        #expect(list.text.components(separatedBy: "\"offset\"").count - 1 == 1)
    }

    @Test func sigtermStopsGracefully() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        #expect(try BlockingHTTPClient(port: service.port).request("POST", "/v1/alerts", body: alertJSON(), headers: auth).status == 202)
        service.kill(signal: SIGTERM)
        #expect(service.terminationStatus == 0)
        #expect(service.logs.contains("\"msg\":\"stopped\""))
    }

    @Test func refusesBadConfigurationNamingTheKey() throws {
        let output = try VigilCommand.run(["serve"], environment: ["VIGIL_LISTEN": "nowhere", "VIGIL_DATA_DIR": TemporaryDirectory.make("cfg")])
        #expect(output.status != 0)
        #expect(output.stderr.contains("listen"))
        #expect(output.stderr.split(separator: "\n").count == 1)
    }
}

@Suite struct CommandLineEndToEndTests {
    @Test func alertSendAndTailTalkToTheService() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        let environment = ["VIGIL_URL": "http://127.0.0.1:\(service.port)", "VIGIL_TOKEN": ServiceProcess.token]

        let sent = try VigilCommand.run([
            "alert", "send", "--country", "CO", "--threat", "killing", "--severity", "critical", "--certainty", "observed",
            "--summary", "Environmental defender killed in Cauca.", "--defender-name", "CLI Defender", "--tag", "environment",
        ], environment: environment)
        #expect(sent.status == 0, "\(sent.stderr)")
        let id = sent.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(ULID(id) != nil)

        let fromFile = try VigilCommand.run(["alert", "send", "--file", "-", "--json"], environment: environment, stdin: alertJSON(country: "PH"))
        #expect(fromFile.status == 0 && fromFile.stdout.contains("\"status\":\"accepted\""))

        let tail = try VigilCommand.run(["tail", "--from-beginning", "--count", "2"], environment: environment, timeout: 30)
        #expect(tail.status == 0, "\(tail.stderr)")
        let lines = tail.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.contains { $0.contains(id) }, "the alert sent is tailed (on Kafka, partition by partition)")

        let refused = try VigilCommand.run(["alert", "send", "--country", "XX", "--threat", "arrest"], environment: environment)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("country") && refused.stderr.split(separator: "\n").count == 1)

        #expect(try VigilCommand.run(["alert", "send", "--bogus", "1"], environment: environment).status == 2)
        #expect(try VigilCommand.run(["tail", "--help"]).stdout.contains("usage: vigil tail"))
    }

    /// `vigil tail` starts at the end of the log and prints every alert filed after, whatever
    /// country (on Kafka: whatever partition) it lands in; one offset for a cursor once missed
    /// the lower partitions' (issue 23).
    @Test func tailWaitsForNewAlerts() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        let environment = ["VIGIL_URL": "http://127.0.0.1:\(service.port)", "VIGIL_TOKEN": ServiceProcess.token]
        let countries = ["BY", "PH", "RU", "IR", "CO"]
        for country in countries {
            _ = try BlockingHTTPClient(port: service.port).request("POST", "/v1/alerts", body: alertJSON(country: country, summary: "old"), headers: auth)
        }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var output: VigilCommand.Output?
        DispatchQueue.global().async {
            output = try? VigilCommand.run(["tail", "--count", String(countries.count)], environment: environment, timeout: 40)
            done.signal()
        }
        // tail starts at the end of the log, after "old"; file "fresh" once its long poll waits.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, try !BlockingHTTPClient(port: service.port).request("GET", "/metrics").text.contains("vigil_api_long_polls_waiting 1") {
            usleep(20_000)
        }
        for country in countries.reversed() {
            _ = try BlockingHTTPClient(port: service.port).request("POST", "/v1/alerts", body: alertJSON(country: country, summary: "fresh \(country)"), headers: auth)
        }
        #expect(done.wait(timeout: .now() + 45) == .success)
        for country in countries { #expect(output?.stdout.contains("fresh \(country)") == true, "\(country): \(output?.stdout ?? "no output")") }
        #expect(output?.stdout.contains("\"old\"") == false)
    }
}
