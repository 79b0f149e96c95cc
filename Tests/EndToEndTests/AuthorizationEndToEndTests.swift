import Foundation
import Testing
import VigilHTTPClient
import VigilTestSupport
#if canImport(Glibc)
import Glibc
#endif

private func subscriberBody(clearance: String) -> String {
    #"{"name":"Desk","kind":"diplomatic_desk","organisation":"FPS","contact":"owner@example.org","clearance":"\#(clearance)","language":"fr","channels":[{"type":"email","address":"desk@example.org"}],"subscriptions":[{"countries":["BY"],"min_severity":"low"}]}"#
}

private func alertBody(kind: String = "alert", caseID: String? = nil) -> String {
    let head = caseID.map { #""kind":"\#(kind)","case_id":"\#($0)","# } ?? ""
    return #"{\#(head)"country":"BY","threat":"arrest","severity":"high","certainty":"observed","confidentiality":"restricted","summary":"Trade union leader held.","defender":{"name":"Case Defender"}}"#
}

/// No one gets more than their token allows (issue 17 §4), against the real service on both backends.
@Suite(.serialized) struct AuthorizationEndToEndTests {
    /// A restricted admin token cannot make or change a confidential subscriber; only the
    /// filer or an operator updates, cancels or erases; refusals are 403 and audited.
    @Test func tokensActOnlyWithinTheirClearanceAndOrganisation() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        let client = try BlockingHTTPClient(port: service.port)
        let admin = try issueToken(service, org: "desk-admins", scopes: "subscribers:admin", clearance: "restricted")

        let confidential = try client.request("POST", "/v1/subscribers", body: subscriberBody(clearance: "confidential"), headers: admin.headers)
        #expect(confidential.status == 403, "\(confidential.text)")
        let restricted = try client.request("POST", "/v1/subscribers", body: subscriberBody(clearance: "restricted"), headers: admin.headers)
        #expect(restricted.status == 201, "\(restricted.text)")
        let operatorMade = try JSONDecoder().decode(
            CreatedSubscriber.self,
            from: Data(try client.request("POST", "/v1/subscribers", body: subscriberBody(clearance: "confidential"), headers: auth).body))
        let replace = try client.request("PUT", "/v1/subscribers/\(operatorMade.id)", body: subscriberBody(clearance: "restricted"), headers: admin.headers)
        #expect(replace.status == 403, "\(replace.text)")
        #expect(try client.request("DELETE", "/v1/subscribers/\(operatorMade.id)", headers: admin.headers).status == 403)

        let filer = try issueToken(service, org: "filer-ngo", scopes: "alerts:write,alerts:read", clearance: "restricted")
        let intruder = try issueToken(service, org: "other-ngo", scopes: "alerts:write,alerts:read,subscribers:admin", clearance: "restricted")
        let filed = try client.request("POST", "/v1/alerts", body: alertBody(), headers: filer.headers)
        #expect(filed.status == 202, "\(filed.text)")
        let caseID = try JSONDecoder().decode(Accepted.self, from: Data(filed.body)).id
        for kind in ["update", "cancel"] {
            let refused = try client.request("POST", "/v1/alerts", body: alertBody(kind: kind, caseID: caseID), headers: intruder.headers)
            #expect(refused.status == 403, "\(kind): \(refused.text)")
            #expect(!refused.text.contains("filer-ngo"))
        }
        #expect(try client.request("POST", "/v1/alerts", body: alertBody(kind: "update", caseID: caseID), headers: filer.headers).status == 202)
        #expect(try client.request("POST", "/v1/alerts", body: alertBody(kind: "update", caseID: caseID), headers: auth).status == 202)

        let erase = try client.request("POST", "/v1/erasures", body: #"{"alert_id":"\#(caseID)"}"#, headers: intruder.headers)
        #expect(erase.status == 403, "\(erase.text)")
        let eraseCase = try client.request("POST", "/v1/erasures", body: #"{"case_id":"\#(caseID)"}"#, headers: intruder.headers)
        #expect(eraseCase.status == 403, "\(eraseCase.text)")
        let own = try client.request("POST", "/v1/alerts", body: alertBody(), headers: intruder.headers)
        let ownID = try JSONDecoder().decode(Accepted.self, from: Data(own.body)).id
        #expect(try client.request("POST", "/v1/erasures", body: #"{"alert_id":"\#(ownID)"}"#, headers: intruder.headers).status == 200)
        #expect(try client.request("POST", "/v1/erasures", body: #"{"alert_id":"\#(caseID)"}"#, headers: auth).status == 200)

        #expect(try eventually(10) {
            let refusals = try auditEntries(service.port, action: "access.refused")
            return refusals.filter { $0.organisation == "desk-admins" }.count == 3 && refusals.filter { $0.organisation == "other-ngo" }.count == 4
        })
        #expect(try eventually(10) { try auditEntries(service.port, action: "token.created").count >= 3 })
    }

    /// On Kafka, an update written straight to `vigil.alerts` by another organisation than the
    /// case's filer goes to `vigil.alerts.invalid`; the filer's own update is taken.
    @Test(.enabled(if: EndToEndBackend.isKafka)) func anUpdateWrittenToKafkaByAnotherOrganisationIsQuarantined() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        let kafka = try #require(service.kafka)
        let filer = try issueToken(service, org: "filer-ngo", scopes: "alerts:write", clearance: "restricted")
        let filed = try BlockingHTTPClient(port: service.port).request("POST", "/v1/alerts", body: alertBody(), headers: filer.headers)
        let caseID = try JSONDecoder().decode(Accepted.self, from: Data(filed.body)).id
        func update(_ organisation: String, _ summary: String) -> String {
            #"{"kind":"update","case_id":"\#(caseID)","country":"BY","threat":"arrest","severity":"high","certainty":"observed","summary":"\#(summary)","defender":{"name":"Case Defender"},"source":{"organisation":"\#(organisation)"}}"#
        }
        #expect(try Kcat.produce(kafka.bootstrapServers, topic: "vigil.submissions", key: "BY", value: update("other-ngo", "forged follow-up")) == 0)
        #expect(try Kcat.produce(kafka.bootstrapServers, topic: "vigil.submissions", key: "BY", value: update("filer-ngo", "genuine follow-up")) == 0)
        #expect(try eventually(30) {
            try Kcat.consume(kafka.bootstrapServers, topic: "vigil.alerts.invalid").contains("another organisation")
        })
        #expect(try eventually(30) {
            try BlockingHTTPClient(port: service.port).request("GET", "/v1/alerts?limit=10", headers: auth).text.contains("genuine follow-up")
        })
        #expect(try !BlockingHTTPClient(port: service.port).request("GET", "/v1/alerts?limit=10", headers: auth).text.contains("forged follow-up"))
    }

    /// A listing writes one audit line naming every sensitive alert it returned.
    @Test func aListingIsOneAuditLine() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        var ids: [String] = []
        for _ in 0..<5 { ids.append(try file(service.port, confidentiality: "restricted")) }
        let reader = try issueToken(service, org: "reader", scopes: "alerts:read", clearance: "public")
        let listing = try BlockingHTTPClient(port: service.port).request("GET", "/v1/alerts?limit=100", headers: reader.headers)
        #expect(listing.status == 200)
        #expect(try eventually(10) { try auditEntries(service.port, action: "alert.read").count == 1 })
        usleep(300_000)
        let reads = try auditEntries(service.port, action: "alert.read")
        #expect(reads.count == 1)
        #expect(reads.first.map { entry in ids.allSatisfy { entry.target.contains($0) } } == true)
    }

    /// On Kafka, `vigil tokens` and `vigil users` sign what they write under their master key:
    /// with another key than the deployment's, they are refused before they write anything the
    /// running processes would refuse (issue 23).
    @Test(.enabled(if: EndToEndBackend.isKafka)) func administrationWithAnotherMasterKeyIsRefused() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        var environment = service.commandEnvironment
        environment["VIGIL_MASTER_KEY"] = String(repeating: "6b", count: 32)
        for command in [["tokens", "list"], ["users", "list"]] {
            let refused = try VigilCommand.run(command, environment: environment)
            #expect(refused.status == 1 && refused.stderr.contains("master key"), "\(command): \(refused.status) \(refused.stderr)")
        }
        let listed = try VigilCommand.run(["tokens", "list"], environment: service.commandEnvironment)
        #expect(listed.status == 0 && listed.stdout.contains("vigil-operators"), "with the deployment's key: \(listed.stderr)")
    }

    /// `VIGIL_BOOTSTRAP_TOKEN` at start used to revive a revoked bootstrap token.
    @Test func aRevokedBootstrapTokenStaysRevokedAcrossRestarts() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        #expect(try BlockingHTTPClient(port: service.port).request("GET", "/v1/alerts", headers: auth).status == 200)
        let list = try VigilCommand.run(["tokens", "list", "--json"], environment: service.commandEnvironment)
        struct Listed: Decodable { let id: String; let organisation: String }
        let bootstrap = try #require(try JSONDecoder().decode([Listed].self, from: Data(list.stdout.utf8)).first { $0.organisation == "vigil-operators" })
        let revoke = try VigilCommand.run(["tokens", "revoke", bootstrap.id], environment: service.commandEnvironment)
        #expect(revoke.status == 0, "\(revoke.stderr)")
        service.kill(signal: SIGTERM)
        try service.start()  // same data directory, same VIGIL_BOOTSTRAP_TOKEN
        #expect(try BlockingHTTPClient(port: service.port).request("GET", "/v1/alerts", headers: auth).status == 401)
        #expect(service.logs.contains("bootstrap_token names a revoked token"))
        service.kill(signal: SIGTERM)
        try service.start()
        #expect(try BlockingHTTPClient(port: service.port).request("GET", "/v1/alerts", headers: auth).status == 401)
        // Its revocation was audited; read with a fresh operator token.
        let operatorToken = try issueToken(service, org: "ops", scopes: "subscribers:admin", clearance: "confidential")
        #expect(try eventually(10) {
            let page = try BlockingHTTPClient(port: service.port).request("GET", "/v1/audit?action=token.revoked", headers: operatorToken.headers)
            return page.status == 200 && page.text.contains(bootstrap.id)
        })
    }

    /// Guessing tokens from one address is answered 429 with Retry-After after ten failures,
    /// even with a good token; the service stays up.
    @Test func failedAuthenticationsAreThrottled() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        let client = try BlockingHTTPClient(port: service.port)
        var statuses: [Int] = []
        for i in 0..<12 {
            statuses.append(try client.request("GET", "/v1/alerts", headers: ["Authorization": "Bearer guess-\(i)-0123456789"]).status)
        }
        #expect(statuses.prefix(10).allSatisfy { $0 == 401 })
        #expect(statuses.suffix(2).allSatisfy { $0 == 429 })
        let throttled = try client.request("GET", "/v1/alerts", headers: auth)
        #expect(throttled.status == 429)
        #expect(Int(throttled.headers["retry-after"] ?? "") ?? 0 >= 1)
        #expect(try client.request("GET", "/healthz").status == 200)
    }
}
