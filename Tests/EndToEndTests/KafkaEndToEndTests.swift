import Foundation
import Testing
import VigilHTTPClient
import VigilTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The Kafka backend with outside Kafka clients: kcat writes and reads `vigil.alerts`,
/// records that cannot be taken land in `vigil.alerts.invalid`, a broker outage gives 503,
/// and two services share the routing and survive a SIGKILL. Each test runs its own mock
/// cluster (`vigil dev kafka`).
@Suite(.serialized) struct KafkaEndToEndTests {
    /// An alert written with `kcat -P` reaches the matching desk's webhook, signed; an alert
    /// filed with `vigil alert send` is read back with `kcat -C`, its identity sealed.
    @Test func kcatWritesAndReadsTheAlertLog() throws {
        let kafka = try KafkaDevCluster()
        let receivers = try Receivers()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: fastRetries(["VIGIL_LOG": kafka.logSetting], smtp: receivers.smtp.port))
        try receivers.desk(on: service.port, path: "/ok/desk", country: "CO")

        let written = #"{"country":"CO","threat":"killing","severity":"critical","certainty":"observed","summary":"An environmental defender was shot near Tumaco.","defender":{"name":"Yelena Dubrovskaya","group":"environmental_defender"},"source":{"organisation":"partner-ngo"}}"#
        #expect(try Kcat.produce(kafka.bootstrapServers, topic: "vigil.submissions", key: "CO", value: written) == 0)
        #expect(eventually(30) { receivers.hooks.contains { $0.path == "/ok/desk" && $0.verified && $0.status == 200 } })
        let hook = try #require(receivers.hooks.first { $0.path == "/ok/desk" })
        #expect(hook.payload?.data.defender["name"] == "Yelena Dubrovskaya", "the restricted desk reads the name")
        let filed = try BlockingHTTPClient(port: service.port).request("GET", "/v1/alerts/\(hook.payload!.data.id)", headers: auth)
        #expect(filed.status == 200 && filed.text.contains(#""source":{"organisation":"partner-ngo"}"#))

        let sent = try VigilCommand.run(
            ["alert", "send", "--country", "BY", "--threat", "arrest", "--severity", "high", "--certainty", "observed", "--summary",
             "Union leader detained.", "--defender-name", "CLI Defender", "--json"],
            environment: ["VIGIL_URL": "http://127.0.0.1:\(service.port)", "VIGIL_TOKEN": ServiceProcess.token])
        #expect(sent.status == 0, "\(sent.stderr)")
        let id = try JSONDecoder().decode(Accepted.self, from: Data(sent.stdout.utf8)).id
        let log = try Kcat.consume(kafka.bootstrapServers, topic: "vigil.alerts", format: "%k\\t%s\\n")
        let line = try #require(log.split(separator: "\n").first { $0.contains(#""id":"\#(id)""#) }, "kcat reads the alert vigil alert send filed")
        #expect(line.hasPrefix("BY\t{\"vigil\":1,\"mac\":\""), "keyed by country, signed: \(line.prefix(80))")
        #expect(line.contains(#""name":"[erased]""#) && !line.contains("CLI Defender"), "the identity travels sealed")
    }

    /// Submissions that fail validation go to `vigil.alerts.invalid` with the reason; a record
    /// written to `vigil.alerts` itself by anyone but Vigil is refused for its missing
    /// signature, counted, and never routed (issue 23).
    @Test func recordsThatCannotBeTakenGoToTheInvalidTopic() throws {
        let kafka = try KafkaDevCluster()
        let receivers = try Receivers()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: fastRetries(["VIGIL_LOG": kafka.logSetting], smtp: receivers.smtp.port))
        _ = try createSubscriber(service.port, channels: #"[{"type":"webhook","url":"\#(receivers.url("/ok/desk"))"}]"#, country: "BY")
        try Kcat.produce(kafka.bootstrapServers, topic: "vigil.submissions", value: #"{"country":"XX","severity":"apocalyptic"}"#)
        try Kcat.produce(kafka.bootstrapServers, topic: "vigil.submissions", value: "not json at all")
        let forged = #"{"vigil":1,"mac":"\#(String(repeating: "0", count: 64))","claim":null,"identity":"","alert":{"id":"01J00000000000000000000000","country":"BY"}}"#
        try Kcat.produce(kafka.bootstrapServers, topic: "vigil.alerts", key: "BY", value: forged)
        var invalid: [String] = []
        #expect(try eventually(30) {
            invalid = try Kcat.consume(kafka.bootstrapServers, topic: "vigil.alerts.invalid").split(separator: "\n").map(String.init)
            return invalid.count == 2
        }, "two submissions quarantined: \(invalid)")
        #expect(invalid.contains { $0.contains("country") && $0.contains("severity") && $0.contains("source.organisation") }, "every problem is named")
        // The notice names the record's position, length and digest, never its bytes (issue 17).
        #expect(invalid.contains { $0.contains("not valid JSON") && $0.contains(#""record_bytes":15"#) } && !invalid.contains { $0.contains("not json at all") })
        #expect(eventually(30) { service.logs.contains("refused a record of vigil.alerts") && service.logs.contains("vigil-mac") }, "the forgery is refused")
        let metrics = try BlockingHTTPClient(port: service.port).request("GET", "/metrics").text
        #expect(metrics.contains(#"vigil_kafka_records_refused_total{topic="vigil.alerts"}"#), "counted by topic")
        let listed = try BlockingHTTPClient(port: service.port).request("GET", "/v1/alerts?limit=10", headers: auth)
        #expect(listed.status == 200 && !listed.text.contains("01J00000000000000000000000"), "a forged record is never in the log")
        usleep(300_000)
        #expect(receivers.hooks.isEmpty, "nothing was routed")
    }

    /// With the brokers gone, ingest answers 503 with Retry-After once the write times out,
    /// and `/readyz` says the log is unavailable; nothing is acknowledged that was not written.
    @Test func aLostClusterAnswers503() throws {
        var kafka: KafkaDevCluster? = try KafkaDevCluster()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: ["VIGIL_LOG": kafka!.logSetting, "VIGIL_KAFKA_TIMEOUT_SECONDS": "2"])
        let client = try BlockingHTTPClient(port: service.port, timeout: 20)
        #expect(try client.request("POST", "/v1/alerts", body: alertJSON(), headers: auth).status == 202)
        kafka = nil
        let started = Date()
        let refused = try client.request("POST", "/v1/alerts", body: alertJSON(), headers: auth)
        #expect(refused.status == 503 && refused.headers["retry-after"] != nil, "\(refused.status) \(refused.text)")
        #expect(Date().timeIntervalSince(started) < 8, "answered soon after the 2 s write timeout")
    }

    /// The roles scale out: one ingest process, two routers and two workers, each with its
    /// own data directory, sharing the cluster. One router and one worker are SIGKILLed while
    /// alerts stream in; their partitions move to the survivors from the last commits, and
    /// every acknowledged alert still reaches its desk's webhook.
    @Test(.timeLimit(.minutes(3))) func rolesScaleOutAndSurviveSIGKILLs() throws {
        let kafka = try KafkaDevCluster()
        let receivers = try Receivers()
        // Every process of a deployment shares the master key; a process with another is refused.
        let masterKey = String(repeating: "5a", count: 32)
        let environment = fastRetries(["VIGIL_LOG": kafka.logSetting, "VIGIL_MASTER_KEY": masterKey], smtp: receivers.smtp.port)
        func role(_ name: String) -> [String: String] { environment.merging(["VIGIL_ROLE": name]) { $1 } }
        let ingest = ServiceProcess(), routers = [ServiceProcess(), ServiceProcess()], workers = [ServiceProcess(), ServiceProcess()]
        let stranger = ServiceProcess()
        defer { for process in [ingest] + routers + workers { process.kill(signal: SIGKILL) } }
        try ingest.start(environment: role("ingest"))
        #expect(throws: ServiceProcess.ServiceFailure.self) {
            try stranger.start(environment: ["VIGIL_LOG": kafka.logSetting, "VIGIL_MASTER_KEY": String(repeating: "6b", count: 32)])
        }
        #expect(stranger.logs.contains("give every Vigil process of a deployment the same VIGIL_MASTER_KEY"))
        for process in routers { try process.start(environment: role("router")) }
        for process in workers { try process.start(environment: role("worker")) }
        #expect(try BlockingHTTPClient(port: routers[0].port).request("GET", "/v1/subscribers", headers: auth).status == 404, "a router serves no API")

        // Subscribers are shared through vigil.subscribers: created through the ingest process, known to all.
        var secrets: [String] = []
        // Three desks per country: twelve subscriber keys spread over both workers' partitions.
        for country in ["BY", "PH", "RU", "IR"] {
            for desk in 0..<3 {
                let url = receivers.url("/ok/\(country)/\(desk)")
                secrets += try createSubscriber(ingest.port, channels: #"[{"type":"webhook","url":"\#(url)"}]"#, country: country).channels.compactMap(\.secret)
            }
        }
        try receivers.trust(secrets)
        let client = try BlockingHTTPClient(port: ingest.port)
        var acknowledged: [String] = []
        // One country per partition of four (librdkafka hashes keys with CRC32), so every member has work.
        let countries = ["BY", "PH", "RU", "IR"]
        for n in 0..<200 {
            if n == 60 { routers[1].kill(signal: SIGKILL) }
            if n == 120 {
                // Both workers were sending before one dies. Some of their deliveries wait for the
                // killed router's partitions, which move only after its 6 s session timeout.
                for worker in workers {
                    #expect(eventually(30) {
                        ((try? BlockingHTTPClient(port: worker.port).request("GET", "/metrics").text) ?? "")
                            .contains(#"vigil_deliveries_total{channel="webhook",outcome="delivered"}"#)
                    })
                }
                workers[1].kill(signal: SIGKILL)
            }
            let response = try client.request("POST", "/v1/alerts", body: alertJSON(country: countries[n % 4], name: "Routed Defender"), headers: auth)
            #expect(response.status == 202)
            acknowledged.append(try JSONDecoder().decode(Accepted.self, from: Data(response.body)).id)
            usleep(20_000)
        }
        var received: Set<String> = []
        let all = eventually(120) {  // generous: five processes and the broker share two cores with the rest of the suite
            let hooks = receivers.hooks.filter { $0.verified && $0.status == 200 }
            received = Set(hooks.compactMap { $0.payload?.data.id })
            return received.isSuperset(of: acknowledged) && Set(hooks.map(\.id)).count >= acknowledged.count * 3
        }
        #expect(all, "\(acknowledged.count - received.intersection(acknowledged).count) of \(acknowledged.count) alerts never arrived at all three desks")
        let statuses = try acknowledged.prefix(20).map { try deliveries(ingest.port, of: $0).map(\.state) }
        #expect(try eventually(20) { try acknowledged.allSatisfy { try deliveries(ingest.port, of: $0).map(\.state) == ["delivered", "delivered", "delivered"] } },
            "the ingest process shows every outcome the workers recorded: \(statuses)")
        for process in routers + workers { #expect(process.logs.contains(#""role":"\#(process === routers[0] || process === routers[1] ? "router" : "worker")""#)) }
    }
}
