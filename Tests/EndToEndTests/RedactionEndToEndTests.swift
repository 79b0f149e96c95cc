import Foundation
import Testing
import VigilCore
import VigilHTTPClient
import VigilTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Issue 17 §3 against the running service, on either backend (`VIGIL_E2E_LOG=kafka`):
/// free text, links and tags reach only cleared readers; readers below clearance get the
/// filer's public summary, scrubbed, or the withheld text in their language; after an
/// erasure nothing of them is readable in the API, the store's files or any topic.
@Suite(.serialized) struct RedactionEndToEndTests {
    /// What must never be readable below clearance, nor anywhere after erasure.
    static let secrets = ["Nowak", "Tomasz", "detained at his flat", "labour leader", "Mokotow", "evidence.example.org", "nowak-case"]

    /// The raw webhook log's payloads (`data` of each request), by path.
    func payloads(_ receivers: Receivers, path: String) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: receivers.webhookLog, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], object["path"] as? String == path,
                let payload = object["payload"] as? [String: Any]
            else { return nil }
            return payload["data"] as? [String: Any]
        }
    }

    func json(_ response: BlockingHTTPClient.Response) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }

    @Test(.timeLimit(.minutes(3))) func freeTextFollowsClearanceAndErasureReachesEveryCopy() throws {
        let receivers = try Receivers()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: fastRetries(smtp: receivers.smtp.port))
        // Subscribers read French (createSubscriber's language).
        let high = try createSubscriber(service.port, channels: #"[{"type":"webhook","url":"\#(receivers.url("/ok/high"))"}]"#, clearance: "confidential")
        let low = try createSubscriber(
            service.port, channels: #"[{"type":"webhook","url":"\#(receivers.url("/ok/low"))"},{"type":"email","address":"low@example.org"}]"#,
            clearance: "public")
        try receivers.trust((high.channels + low.channels).compactMap(\.secret))

        let body = #"""
            {"country":"BY","threat":"arrest","severity":"critical","certainty":"observed","confidentiality":"confidential",
             "summary":"Tomasz Nowak was detained at his flat.","summary_public":"A labour leader (Nowak) was taken from home; Chair Nowak's colleagues protest.",
             "region":"Mokotow","links":["https://evidence.example.org/nowak"],"tags":["nowak-case"],
             "defender":{"name":"Tomasz Nowak","organisation":"Free Union","role":"chair"}}
            """#
        let client = try BlockingHTTPClient(port: service.port)
        let filed = try client.request("POST", "/v1/alerts", body: body, headers: auth)
        #expect(filed.status == 202, "\(filed.text)")
        let alert = try JSONDecoder().decode(Accepted.self, from: Data(filed.body)).id
        // A second alert without a public summary: below clearance its summary is withheld.
        let bare = try file(service.port, confidentiality: "restricted", name: "Tomasz Nowak")
        #expect(try eventually { try states(service.port, of: alert) == ["delivered", "delivered", "delivered"] })
        #expect(try eventually { try states(service.port, of: bare).count == 3 && states(service.port, of: bare).allSatisfy { $0 == "delivered" } })

        // The cleared desk reads everything.
        let highData = try #require(payloads(receivers, path: "/ok/high").first { $0["id"] as? String == alert })
        #expect(highData["summary"] as? String == "Tomasz Nowak was detained at his flat.")
        #expect(highData["links"] as? [String] == ["https://evidence.example.org/nowak"] && highData["tags"] as? [String] == ["nowak-case"])

        // The desk below clearance: the public summary, scrubbed; no region, links or tags.
        let lowData = try #require(payloads(receivers, path: "/ok/low").first { $0["id"] as? String == alert })
        #expect(lowData["summary"] as? String == "A labour leader ([redacted]) was taken from home; [redacted] [redacted]'s colleagues protest.")
        #expect(lowData["region"] as? String == "[redacted]")
        #expect((lowData["links"] as? [String])?.isEmpty == true && (lowData["tags"] as? [String])?.isEmpty == true)
        #expect(lowData["summary_public"] == nil)
        let lowBare = try #require(payloads(receivers, path: "/ok/low").first { $0["id"] as? String == bare })
        #expect(WithheldSummary.isWithheld(lowBare["summary"] as? String ?? ""), "no summary, not a scrubbed one")
        let lowPayloads = String(decoding: try JSONSerialization.data(withJSONObject: payloads(receivers, path: "/ok/low")), as: UTF8.self)
        for secret in Self.secrets where secret != "labour leader" { #expect(!lowPayloads.contains(secret), "\(secret) reached the desk below clearance") }

        // Its emails: the withheld text in the subscriber's language (French), no free text.
        let mails = receivers.mails.filter { $0.rcpt_tos == ["low@example.org"] }
        #expect(mails.count == 2)
        let withheld = try #require(mails.first { $0.parts.contains { $0.text.contains(bare) } })
        #expect(withheld.parts.allSatisfy { $0.text.contains("Résumé non communiqué") }, "\(withheld.parts.map(\.text))")
        for mail in mails {
            for part in mail.parts {
                for secret in Self.secrets where secret != "labour leader" { #expect(!part.text.contains(secret), "\(secret) is in an email below clearance") }
            }
        }

        // The API below clearance; the bootstrap token is cleared.
        let reader = try issueToken(service, org: "partner-ngo", scopes: "alerts:read", clearance: "public")
        let lowRead = try client.request("GET", "/v1/alerts/\(alert)", headers: reader.headers)
        #expect(lowRead.status == 200 && !lowRead.text.contains("detained") && !lowRead.text.contains("evidence.example.org"))
        #expect(try client.request("GET", "/v1/alerts/\(alert)", headers: auth).text.contains("detained at his flat"))
        #expect(!rawDataDirectory(service.dataDir).contains("evidence.example.org"), "links are sealed in the store")
        for secret in Self.secrets { #expect(!rawDataDirectory(service.dataDir).contains(secret), "\(secret) is in the store in the clear") }

        // Erasure: nothing of the free text is readable anywhere afterwards.
        let erase = try client.request("POST", "/v1/erasures", body: #"{"case_id":"\#(alert)"}"#, headers: auth)
        #expect(erase.status == 200, "\(erase.text)")
        let erased = try json(try client.request("GET", "/v1/alerts/\(alert)", headers: auth))
        #expect(erased["summary"] as? String == "[erased]" && erased["region"] as? String == "[erased]" && erased["summary_public"] as? String == "[erased]")
        #expect((erased["links"] as? [String])?.isEmpty == true && (erased["tags"] as? [String])?.isEmpty == true)
        let erasedLow = try json(try client.request("GET", "/v1/alerts/\(alert)", headers: reader.headers))
        #expect(WithheldSummary.isWithheld(erasedLow["summary"] as? String ?? ""))
        let listing = try client.request("GET", "/v1/alerts?limit=100", headers: auth)
        let listed = try #require((try json(listing)["alerts"] as? [[String: Any]])?.first { $0["id"] as? String == alert })
        #expect(listed["summary"] as? String == "[erased]")

        if let kafka = service.kafka {
            let invalidBefore = try Kcat.consume(kafka.bootstrapServers, topic: "vigil.alerts.invalid").split(separator: "\n").count
            // A submission that fails validation, naming a defender, is quarantined without its bytes.
            try Kcat.produce(kafka.bootstrapServers, topic: "vigil.submissions", key: "XX", value: #"{"country":"XX","summary":"Tomasz Nowak hides","defender":{"name":"Tomasz Nowak"}}"#)
            #expect(try eventually(30) { try Kcat.consume(kafka.bootstrapServers, topic: "vigil.alerts.invalid").split(separator: "\n").count > invalidBefore })
        }
        service.kill(signal: SIGTERM)
        let raw = rawDataDirectory(service.dataDir)
        // The second alert, never erased, names the same defender: sealed, so not in the clear either.
        for secret in Self.secrets { #expect(!raw.contains(secret), "\(secret) is in a file of the store after erasure") }
        if let kafka = service.kafka {
            for topic in ["vigil.alerts.invalid", "vigil.keys", "vigil.deliveries.outcomes", "vigil.deliveries.webhook", "vigil.deliveries.email"] {
                let dump = try Kcat.consume(kafka.bootstrapServers, topic: topic, format: "%k %s\n")
                for secret in Self.secrets { #expect(!dump.contains(secret), "\(topic) holds \(secret)") }
            }
            // vigil.alerts holds only Vigil's signed records, none of the free text in them; the
            // outside producer's clear submission stays on vigil.submissions, as written, for a week.
            let log = try Kcat.consume(kafka.bootstrapServers, topic: "vigil.alerts")
            for line in log.split(separator: "\n") {
                #expect(line.hasPrefix(#"{"vigil":1"#), "only signed records on vigil.alerts")
                for secret in Self.secrets { #expect(!line.contains(secret), "a signed record of vigil.alerts holds \(secret)") }
            }
        }
        try service.start(environment: fastRetries(smtp: receivers.smtp.port))
        let restarted = try json(try BlockingHTTPClient(port: service.port).request("GET", "/v1/alerts/\(alert)", headers: auth))
        #expect(restarted["summary"] as? String == "[erased]" && (restarted["links"] as? [String])?.isEmpty == true)
    }

    /// Length limits count Unicode scalars and bytes: "A" and 3,000 combining marks is not a
    /// one-character name.
    @Test func aNameOfOneGraphemeAndThousandsOfScalarsIsRefused() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        let hostile = "A" + String(repeating: "\u{0301}", count: 3000)
        let response = try BlockingHTTPClient(port: service.port).request("POST", "/v1/alerts", body: alertJSON(name: hostile), headers: auth)
        #expect(response.status == 422 && response.text.contains("defender.name"), "\(response.status) \(response.text.prefix(300))")
    }

    /// On Kafka every process drops an erased alert from its caches when it reads the key's
    /// tombstone, workers included: a worker that sent an alert (and so holds it opened)
    /// sends a replay of it, after an erasure made through another process, as erased.
    @Test(.timeLimit(.minutes(3))) func aWorkerInAnotherProcessForgetsAnErasedAlert() throws {
        let kafka = try KafkaDevCluster()
        let receivers = try Receivers()
        let environment = fastRetries(["VIGIL_LOG": kafka.logSetting, "VIGIL_MASTER_KEY": String(repeating: "4c", count: 32)], smtp: receivers.smtp.port)
        func role(_ name: String) -> [String: String] { environment.merging(["VIGIL_ROLE": name]) { $1 } }
        let ingest = ServiceProcess(), router = ServiceProcess(), worker = ServiceProcess()
        defer { for process in [ingest, router, worker] { process.kill(signal: SIGKILL) } }
        try ingest.start(environment: role("ingest"))
        try router.start(environment: role("router"))
        try worker.start(environment: role("worker"))
        try receivers.desk(on: ingest.port, path: "/ok/cleared", clearance: "confidential")
        let name = "Oksana Hrytsenko"
        let alert = try file(ingest.port, confidentiality: "confidential", name: name)
        #expect(eventually(60) { receivers.hooks.contains { $0.payload?.data.id == alert && $0.verified } })
        #expect(receivers.hooks.first { $0.payload?.data.id == alert }?.payload?.data.defender["name"] == name, "sent, so the worker holds it opened")

        let erase = try BlockingHTTPClient(port: ingest.port).request("POST", "/v1/erasures", body: #"{"alert_id":"\#(alert)"}"#, headers: auth)
        #expect(erase.status == 200, "\(erase.text)")
        usleep(500_000)  // the tombstone reaches the worker's reader
        let sent = receivers.hooks.count
        let replay = try replayCLI(ingest, ["--alert", alert, "--wait"])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(eventually(60) { receivers.hooks.count > sent })
        let replayed = try #require(receivers.hooks.last { $0.payload?.data.id == alert })
        #expect(replayed.replay == "true" && replayed.payload?.data.defender["name"] == "[erased]", "the worker sent its cached copy")
    }

    /// Records with out-of-range numbers on the shared topics (`created_at: 1e19`) are
    /// refused with a log line; before issue 17 `Int64(1e19)` took the process down. Written
    /// by kcat they are refused for their missing signature (issue 23); signed ones with such
    /// numbers are refused by the appliers (`KafkaRecordSafetyTests`).
    @Test(.timeLimit(.minutes(2))) func hostileNumbersOnSharedTopicsAreRefusedNotTrappedOn() throws {
        let kafka = try KafkaDevCluster()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: ["VIGIL_LOG": kafka.logSetting])
        let hostile: [(topic: String, key: String, value: String)] = [
            ("vigil.tokens", "tok_hostile", #"{"id":"tok_hostile","hash":"00","organisation":"x","scopes":"alerts:read","clearance":"public","created_at":1e19}"#),
            ("vigil.subscribers", "sub_hostile", #"{"body":"{}","created_at":-1e19,"updated_at":1.5}"#),
            ("vigil.deliveries.outcomes", "dlv_hostile", #"{"id":"dlv_hostile","alert_id":"01M825CFCJ7PXX86Y361FVVH2B","subscriber_id":"s","channel_id":"c","channel_type":"webhook","reason":"matched","clearance":"public","severity":"high","state":"pending","created_at":1e19,"updated_at":1e19}"#),
        ]
        for record in hostile { #expect(try Kcat.produce(kafka.bootstrapServers, topic: record.topic, key: record.key, value: record.value) == 0) }
        func logged(_ topic: String) -> Bool {
            service.logs.split(separator: "\n").contains { $0.contains("refused a record of \(topic)") && $0.contains("vigil-mac") }
        }
        #expect(eventually(20) { logged("vigil.tokens") })
        #expect(eventually(20) { logged("vigil.subscribers") })
        #expect(eventually(20) { logged("vigil.deliveries.outcomes") }, "\(service.logs.suffix(2000))")
        usleep(300_000)
        #expect(try BlockingHTTPClient(port: service.port).request("GET", "/healthz").status == 200, "the service is still up")
        #expect(try BlockingHTTPClient(port: service.port).request("GET", "/v1/alerts", headers: auth).status == 200)
        let metrics = try BlockingHTTPClient(port: service.port).request("GET", "/metrics").text
        // Counted per topic: vigil_kafka_records_refused_total{topic="vigil.tokens"} 1, …
        let refused = metrics.split(separator: "\n").filter { $0.hasPrefix("vigil_kafka_records_refused_total{topic=") }
        for topic in hostile.map(\.topic) {
            let line = refused.first { $0.contains(#"topic="\#(topic)""#) }
            #expect(line.flatMap { Double($0.split(separator: " ").last ?? "") }.map { $0 >= 1 } == true, "\(topic): \(refused)")
        }
    }
}
