import Foundation
import Testing
import VigilCore
import VigilHTTPClient
import VigilTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A token made with `vigil tokens create` against the running service's store.
struct IssuedToken: Decodable {
    let id: String
    let token: String
    var headers: [String: String] { ["Authorization": "Bearer \(token)", "Content-Type": "application/json"] }
}

func issueToken(_ service: ServiceProcess, org: String, scopes: String, clearance: String) throws -> IssuedToken {
    let out = try VigilCommand.run([
        "tokens", "create", "--org", org, "--scopes", scopes, "--clearance", clearance, "--json",
    ], environment: service.commandEnvironment)
    #expect(out.status == 0, "\(out.stderr)")
    return try JSONDecoder().decode(IssuedToken.self, from: Data(out.stdout.utf8))
}

struct AuditPage: Decodable {
    struct Entry: Decodable { let seq: Int64; let token_id: String; let organisation: String; let action: String; let target: String; let detail: String }
    let entries: [Entry]
}

func auditEntries(_ port: Int, action: String? = nil) throws -> [AuditPage.Entry] {
    let path = "/v1/audit?limit=1000" + (action.map { "&action=\($0)" } ?? "")
    return try JSONDecoder().decode(AuditPage.self, from: Data(try BlockingHTTPClient(port: port).request("GET", path, headers: auth).body)).entries
}

/// Every file of the data directory, WAL and key file included, as text for searching.
func rawDataDirectory(_ path: String) -> String {
    let files = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    return files.filter { $0.hasPrefix("vigil") }.compactMap { FileManager.default.contents(atPath: path + "/" + $0) }
        .map { String(decoding: $0, as: Unicode.ASCII.self) }.joined()
}

@Suite(.serialized) struct ProtectionEndToEndTests {
    /// One redaction rule for the three ways out: API reads, webhooks and emails.
    @Test func aRestrictedIdentityFollowsClearanceInTheAPIWebhooksAndEmail() throws {
        let receivers = try Receivers()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: fastRetries(smtp: receivers.smtp.port))
        let desk = try createSubscriber(
            service.port, channels: #"[{"type":"webhook","url":"\#(receivers.url("/ok/desk"))"},{"type":"email","address":"desk@example.org"}]"#,
            clearance: "restricted")
        let ngo = try createSubscriber(
            service.port, channels: #"[{"type":"webhook","url":"\#(receivers.url("/ok/ngo"))"},{"type":"email","address":"ngo@example.org"}]"#,
            clearance: "public")
        try receivers.trust((desk.channels + ngo.channels).compactMap(\.secret))
        let name = "Yelena Dubrovskaya"
        let alert = try file(service.port, confidentiality: "restricted", name: name)
        #expect(try eventually { try states(service.port, of: alert) == ["delivered", "delivered", "delivered", "delivered"] })

        let hooks = receivers.hooks
        #expect(hooks.first { $0.path == "/ok/desk" }?.payload?.data.defender["name"] == name)
        #expect(hooks.first { $0.path == "/ok/ngo" }?.payload?.data.defender["name"] == "[redacted]")
        #expect(hooks.first { $0.path == "/ok/ngo" }?.payload?.data.defender["organisation"] == "[redacted]")
        let mails = receivers.mails
        let deskMail = try #require(mails.first { $0.rcpt_tos == ["desk@example.org"] })
        let ngoMail = try #require(mails.first { $0.rcpt_tos == ["ngo@example.org"] })
        #expect(deskMail.parts.allSatisfy { $0.text.contains(name) })
        #expect(ngoMail.parts.allSatisfy { !$0.text.contains(name) && !$0.text.contains("Dubrovskaya") && $0.text.contains("[redacted]") })

        let low = try issueToken(service, org: "partner-ngo", scopes: "alerts:read", clearance: "public")
        let high = try issueToken(service, org: "be-fps", scopes: "alerts:read", clearance: "restricted")
        let client = try BlockingHTTPClient(port: service.port)
        let lowRead = try client.request("GET", "/v1/alerts/\(alert)", headers: low.headers)
        let highRead = try client.request("GET", "/v1/alerts/\(alert)", headers: high.headers)
        #expect(lowRead.status == 200 && !lowRead.text.contains("Dubrovskaya") && lowRead.text.contains(#""name":"[redacted]""#))
        #expect(highRead.status == 200 && highRead.text.contains(name))
        let lowList = try client.request("GET", "/v1/alerts?limit=10", headers: low.headers)
        #expect(lowList.status == 200 && !lowList.text.contains("Dubrovskaya"))

        #expect(try eventually(5) { try auditEntries(service.port, action: "alert.read").count == 3 })
        let reads = try auditEntries(service.port, action: "alert.read")
        #expect(reads.filter { $0.token_id == low.id && $0.target == alert && $0.detail.hasSuffix("identity redacted") }.count == 2)
        #expect(reads.filter { $0.token_id == high.id && $0.detail.hasSuffix("identity shown") }.count == 1)
        let all = try auditEntries(service.port)
        #expect(all.contains { $0.action == "alert.filed" && $0.target == alert && $0.organisation == "vigil-operators" })
        #expect(all.filter { $0.action == "subscriber.saved" }.count == 2)
        #expect(all.filter { $0.action == "token.created" && $0.token_id != "bootstrap" }.map(\.target).sorted() == [low.id, high.id].sorted())
        #expect(!all.contains { $0.detail.contains(name) || $0.target.contains(name) }, "the audit trail names records, never people")
        let unauthorised = try client.request("GET", "/v1/audit", headers: high.headers)
        #expect(unauthorised.status == 403)
    }

    @Test func aForgedOrganisationAndARevokedTokenAreRefused() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        let partner = try issueToken(service, org: "partner-a", scopes: "alerts:write,alerts:read", clearance: "restricted")
        let client = try BlockingHTTPClient(port: service.port)
        let forged = alertJSON().replacingOccurrences(of: #""defender""#, with: #""source":{"organisation":"partner-b"},"defender""#)
        let refused = try client.request("POST", "/v1/alerts", body: forged, headers: partner.headers)
        #expect(refused.status == 422 && refused.text.contains("source.organisation"), "\(refused.text)")
        let accepted = try client.request("POST", "/v1/alerts", body: alertJSON(), headers: partner.headers)
        #expect(accepted.status == 202)
        let id = try JSONDecoder().decode(Accepted.self, from: Data(accepted.body)).id
        #expect(try client.request("GET", "/v1/alerts/\(id)", headers: partner.headers).text.contains(#""organisation":"partner-a""#))

        let revoke = try VigilCommand.run(["tokens", "revoke", partner.id], environment: service.commandEnvironment)
        #expect(revoke.status == 0, "\(revoke.stderr)")
        #expect(try eventually(5) { try client.request("POST", "/v1/alerts", body: alertJSON(), headers: partner.headers).status == 401 })
        #expect(try auditEntries(service.port, action: "token.revoked").map(\.target) == [partner.id])
    }

    @Test func aTokenOverItsRateGets429WithRetryAfter() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: ["VIGIL_RATE_LIMIT_PER_SECOND": "0.5", "VIGIL_RATE_LIMIT_BURST": "3"])
        let other = try issueToken(service, org: "other", scopes: "alerts:read", clearance: "public")
        let client = try BlockingHTTPClient(port: service.port)
        let statuses = try (0..<4).map { _ in try client.request("GET", "/v1/alerts", headers: auth).status }
        #expect(statuses == [200, 200, 200, 429])
        let limited = try client.request("GET", "/v1/alerts", headers: auth)
        #expect(limited.status == 429 && Int(limited.headers["retry-after"] ?? "") ?? 0 >= 1)
        #expect(try client.request("GET", "/v1/alerts", headers: other.headers).status == 200, "each token has its own bucket")
    }

    @Test func webhookURLsToInternalAddressesAreRefusedWhenTheChannelIsCreated() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        let client = try BlockingHTTPClient(port: service.port)
        for url in ["https://127.0.0.1/h", "https://localhost/h", "https://2130706433/h", "https://0177.0.0.1/h", "https://[::ffff:127.0.0.1]/h",
                    "https://169.254.169.254/latest/meta-data", "https://[fd00:ec2::254]/h", "https://10.1.2.3/h", "http://hooks.example.org/h"] {
            let body = #"{"name":"Desk","kind":"diplomatic_desk","organisation":"FPS","contact":"d@example.org","channels":[{"type":"webhook","url":"\#(url)"}],"subscriptions":[{"countries":["BY"],"min_severity":"low"}]}"#
            let response = try client.request("POST", "/v1/subscribers", body: body, headers: auth)
            #expect(response.status == 422 && response.text.contains("channels[0].url"), "\(url): \(response.text)")
        }
    }

    /// Erasure: the name must be unreadable in the API, in every file of the store and in
    /// every later send.
    @Test func anErasedIdentityIsGoneFromTheAPIAndEveryFile() throws {
        let receivers = try Receivers()
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: fastRetries(smtp: receivers.smtp.port))
        try receivers.desk(on: service.port, path: "/ok", clearance: "confidential")
        let name = "Tomas Okonkwo-Reyes"
        let alert = try file(service.port, confidentiality: "confidential", name: name)
        #expect(try eventually { try states(service.port, of: alert) == ["delivered"] })
        #expect(receivers.hooks.first?.payload?.data.defender["name"] == name, "before erasure the cleared desk reads the name")
        let client = try BlockingHTTPClient(port: service.port)
        #expect(try client.request("GET", "/v1/alerts/\(alert)", headers: auth).text.contains(name))
        #expect(!rawDataDirectory(service.dataDir).contains("Okonkwo"), "the store never holds the name in clear")

        let erase = try VigilCommand.run(["erase", "--case", alert], environment: ["VIGIL_URL": "http://127.0.0.1:\(service.port)", "VIGIL_TOKEN": ServiceProcess.token])
        #expect(erase.status == 0 && erase.stdout == "erased \(alert)\n", "\(erase.stderr)")
        let read = try client.request("GET", "/v1/alerts/\(alert)", headers: auth)
        #expect(read.status == 200 && !read.text.contains("Okonkwo") && !read.text.contains("Tomas") && read.text.contains(#""name":"[erased]""#))
        service.kill(signal: SIGTERM)
        let raw = rawDataDirectory(service.dataDir)
        #expect(!raw.contains("Okonkwo") && !raw.contains("Tomas"))
        if let kafka = service.kafka {
            // On Kafka: the log and the key topic, dumped raw, never hold the name, and the
            // alert's key is a tombstone, so compaction removes the wrapped key for good.
            for topic in ["vigil.alerts", "vigil.keys", "vigil.alerts.invalid"] {
                let dump = try Kcat.consume(kafka.bootstrapServers, topic: topic, format: "%k %s\n")
                #expect(!dump.contains("Okonkwo") && !dump.contains("Tomas"), "\(topic) holds the name")
            }
            let log = try Kcat.consume(kafka.bootstrapServers, topic: "vigil.alerts")
            let record = try #require(log.split(separator: "\n").first { $0.contains(#""id":"\#(alert)""#) })
            let keyID = try #require(record.components(separatedBy: #""key_id":""#).dropFirst().first?.split(separator: "\"").first.map(String.init))
            let keys = try Kcat.consume(kafka.bootstrapServers, topic: "vigil.keys", format: "%k %S\n")
            #expect(keys.split(separator: "\n").last { $0.hasPrefix(keyID + " ") } == "\(keyID) -1", "the last record of the alert's key is a tombstone")
        }
        try service.start(environment: fastRetries(smtp: receivers.smtp.port))
        #expect(try BlockingHTTPClient(port: service.port).request("GET", "/v1/alerts/\(alert)", headers: auth).text.contains(#""name":"[erased]""#))
        #expect(try auditEntries(service.port, action: "alert.erased").map(\.target) == [alert])
        let hooksBefore = receivers.hooks.count
        let replay = try replayCLI(service, ["--case", alert, "--wait"])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(eventually { receivers.hooks.count == hooksBefore + 1 })
        let replayed = try #require(receivers.hooks.last)
        #expect(replayed.replay == "true" && replayed.verified && replayed.payload?.data.defender["name"] == "[erased]")
        #expect(!(try String(contentsOfFile: receivers.webhookLog, encoding: .utf8)).dropFirst(0).split(separator: "\n").last!.contains("Okonkwo"))
        let again = try VigilCommand.run(["erase", "--alert", "01NOSUCHALERT0000000000000"], environment: ["VIGIL_URL": "http://127.0.0.1:\(service.port)", "VIGIL_TOKEN": ServiceProcess.token])
        #expect(again.status == 1 && again.stderr.contains("no alert matches"))
    }
}
