import Foundation
import Testing
import VigilHTTPClient
import VigilTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `vigil users` beside a running service, on either backend (issue 20): an invitation is a
/// link printed once, a desk is bound to subscribers of its own organisation, and each change
/// is audited.
@Suite(.serialized) struct UsersCommandEndToEndTests {
    private func subscriber(_ organisation: String) -> String {
        #"{"name":"Desk","kind":"diplomatic_desk","organisation":"\#(organisation)","contact":"owner@example.org","clearance":"restricted","language":"fr","channels":[{"type":"email","address":"desk@example.org"}],"subscriptions":[{"countries":["BY"],"min_severity":"low"}]}"#
    }

    @Test func invitePrintsALinkOnceAndBindsDesksToTheirOrganisationsSubscribers() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        let client = try BlockingHTTPClient(port: service.port)
        let own = try JSONDecoder().decode(
            CreatedSubscriber.self, from: Data(try client.request("POST", "/v1/subscribers", body: subscriber("be-fps"), headers: auth).body))
        let foreign = try JSONDecoder().decode(
            CreatedSubscriber.self, from: Data(try client.request("POST", "/v1/subscribers", body: subscriber("nl-mfa"), headers: auth).body))
        var environment = service.commandEnvironment
        environment["VIGIL_PUBLIC_URL"] = "https://console.example.org/"
        func users(_ arguments: [String]) throws -> VigilCommand.Output { try VigilCommand.run(["users"] + arguments, environment: environment) }

        let partner = try users(["invite", "--email", "Partner@Example.org", "--role", "partner", "--org", "ngo-a"])
        #expect(partner.status == 0, "\(partner.stderr)")
        let link = partner.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(link.hasPrefix("https://console.example.org/console/invite/") && !link.contains("//console/"), "\(link)")
        #expect(link.count == "https://console.example.org/console/invite/".count + 43, "32 random bytes, base64url: \(link)")
        #expect(partner.stderr.contains("72 hours") && partner.stderr.contains("once"), "\(partner.stderr)")

        let desk = try users([
            "invite", "--email", "desk@example.org", "--role", "desk", "--org", "be-fps", "--subscriber", own.id, "--language", "nl", "--json",
        ])
        #expect(desk.status == 0, "\(desk.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(desk.stdout.utf8)) as? [String: String])
        #expect(Set(object.keys) == ["invitation_id", "email", "role", "organisation", "url", "expires_at"])
        #expect(object["invitation_id"]?.hasPrefix("inv_") == true && object["email"] == "desk@example.org" && object["role"] == "desk")
        #expect(object["organisation"] == "be-fps" && object["url"]?.hasPrefix("https://console.example.org/console/invite/") == true)
        #expect(object["url"] != link, "each invitation has its own token")
        let expiry = try #require(object["expires_at"].flatMap { ISO8601DateFormatter.fractional.date(from: $0) })
        #expect(abs(expiry.timeIntervalSinceNow - 72 * 3600) < 120, "valid 72 hours")

        let unbound = try users(["invite", "--email", "d2@example.org", "--role", "desk", "--org", "be-fps"])
        #expect(unbound.status != 0 && unbound.stderr.contains("--subscriber") && unbound.stdout.isEmpty, "\(unbound.stderr)")
        let unknown = try users(["invite", "--email", "d2@example.org", "--role", "desk", "--org", "be-fps", "--subscriber", "sub_nonexistent"])
        #expect(unknown.status != 0 && unknown.stderr.contains("sub_nonexistent") && unknown.stdout.isEmpty, "\(unknown.stderr)")
        let otherOrganisation = try users(["invite", "--email", "d2@example.org", "--role", "desk", "--org", "be-fps", "--subscriber", foreign.id])
        #expect(otherOrganisation.status != 0 && otherOrganisation.stdout.isEmpty, "another organisation's subscriber: \(otherOrganisation.stderr)")
        let badRole = try users(["invite", "--email", "d2@example.org", "--role", "god", "--org", "be-fps"])
        #expect(badRole.status == 2 && badRole.stderr.contains("partner, desk, operator, admin"), "\(badRole.stderr)")
        let badEmail = try users(["invite", "--email", "not-an-address", "--role", "partner", "--org", "be-fps"])
        #expect(badEmail.status != 0 && badEmail.stderr.contains("email"), "\(badEmail.stderr)")

        let list = try users(["list", "--json"])
        #expect(list.status == 0 && list.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]", "no account until an invitation is accepted")
        let disable = try users(["disable", "nobody@example.org"])
        #expect(disable.status != 0 && disable.stderr.contains("nobody@example.org"))

        #expect(try eventually { try auditEntries(service.port, action: "account.invited").count == 2 }, "both invitations audited, the refusals not")
        let entries = try auditEntries(service.port, action: "account.invited")
        #expect(entries.contains { $0.target == object["invitation_id"] && $0.organisation == "local" && $0.detail.contains("of be-fps") && $0.token_id.hasPrefix("local:") })
        #expect(!entries.contains { entry in entry.detail.contains(link.split(separator: "/").last.map(String.init) ?? "-") }, "the token is never audited")
    }
}

extension ISO8601DateFormatter {
    /// RFC 3339 with milliseconds, as the service writes timestamps.
    fileprivate static var fractional: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
