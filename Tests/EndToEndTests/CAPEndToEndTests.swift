import Foundation
import Testing
import VigilCore
import VigilHTTPClient
import VigilTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// CAP 1.2 out and in against the real service (issue 21), on whichever backend
/// `VIGIL_E2E_LOG` selects: every document it writes validates against the OASIS schema,
/// its own output filed back routes the same, an Update referencing one of its alerts updates
/// that case, and XXE and "billion laughs" documents are refused unread with memory flat.
@Suite(.serialized, .timeLimit(.minutes(5))) struct CAPEndToEndTests {
    static let capHeaders = ["Authorization": "Bearer \(ServiceProcess.token)", "Content-Type": "application/cap+xml"]
    static let accept = ["Authorization": "Bearer \(ServiceProcess.token)", "Accept": "application/cap+xml"]

    /// The alert the service keeps under `id`, as JSON.
    struct Stored: Decodable, Equatable {
        let id: String
        let case_id: String
        let kind: String
        let status: String
        let country: String
        let threat: String
        let severity: String
        let urgency: String
        let certainty: String
        let confidentiality: String
        let case_status: String?
    }

    func file(_ client: BlockingHTTPClient, _ json: String) throws -> String {
        let response = try client.request("POST", "/v1/alerts", body: json, headers: auth)
        #expect(response.status == 202, "\(response.text)")
        return try JSONDecoder().decode(Accepted.self, from: Data(response.body)).id
    }

    func stored(_ client: BlockingHTTPClient, _ id: String) throws -> Stored {
        try JSONDecoder().decode(Stored.self, from: Data(try client.request("GET", "/v1/alerts/\(id)", headers: auth).body))
    }

    func cap(_ client: BlockingHTTPClient, _ id: String, headers: [String: String] = CAPEndToEndTests.accept) throws -> String {
        let response = try client.request("GET", "/v1/alerts/\(id)", headers: headers)
        #expect(response.status == 200 && response.headers["content-type"] == "application/cap+xml", "\(response.text)")
        return response.text
    }

    static func residentBytes(_ port: Int) throws -> Double {
        let text = try BlockingHTTPClient(port: port).request("GET", "/metrics").text
        let line = text.split(separator: "\n").first { $0.hasPrefix("process_resident_memory_bytes ") }
        return Double(line?.split(separator: " ").last ?? "") ?? 0
    }

    @Test func capOutValidatesForEveryKindStatusAndConfidentiality() async throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start(environment: ["VIGIL_PUBLIC_URL": "https://vigil.example.org"])
        let client = try BlockingHTTPClient(port: service.port)
        let desk = try issueToken(service, org: "desk", scopes: "alerts:read", clearance: "public")
        var documents: [(String, [UInt8])] = []
        var ids: [String] = []
        for confidentiality in ["public", "restricted", "confidential"] {
            for status in ["actual", "exercise", "test"] {
                let first = try file(client, """
                    {"country":"BY","region":"Minsk","threat":"arrest","severity":"critical","certainty":"observed","urgency":"immediate",
                     "status":"\(status)","confidentiality":"\(confidentiality)","summary":"Secret Name <arrested> & held.",
                     "summary_public":"A union leader was arrested.","defender":{"name":"Secret Name"},
                     "handling":{"no_public_statement":true,"note":"Call the lawyer first."}}
                    """)
                let update = try file(client, """
                    {"kind":"update","case_id":"\(first)","country":"BY","threat":"detention","severity":"high","certainty":"observed",
                     "status":"\(status)","confidentiality":"\(confidentiality)","summary":"Charged.","defender":{"name":"Secret Name"},
                     "case_status":"charged"}
                    """)
                let cancel = try file(client, """
                    {"kind":"cancel","case_id":"\(first)","country":"BY","threat":"detention","severity":"high","certainty":"observed",
                     "status":"\(status)","confidentiality":"\(confidentiality)","summary":"Filed in error.","defender":{"name":"Secret Name"}}
                    """)
                ids += [first, update, cancel]
                for (name, id) in [("alert", first), ("update", update), ("cancel", cancel)] {
                    let cleared = try cap(client, id)
                    let below = try cap(client, id, headers: ["Authorization": "Bearer \(desk.token)", "Accept": "application/cap+xml"])
                    if confidentiality != "public" { #expect(!below.contains("Secret Name") && !below.contains("lawyer") && !below.contains("Minsk")) }
                    if name != "alert" {
                        #expect(cleared.contains("<references>vigil@vigil.example.org,\(first),"), "\(cleared)")
                        if name == "cancel" { #expect(cleared.contains(",\(update),")) }
                    }
                    #expect(cleared.contains("<web>https://vigil.example.org/console/alerts/\(id)</web>"))
                    documents.append(("\(name)-\(status)-\(confidentiality)", Array(cleared.utf8)))
                    documents.append(("\(name)-\(status)-\(confidentiality)-public", Array(below.utf8)))
                }
            }
        }
        let result = try CAPSchema.validate(CAPSchema.write(documents))
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.components(separatedBy: " validates").count - 1 == documents.count)
        // The CAP reads are audited like the JSON ones (alerts above public only, as for JSON).
        let audited = Set(ids.dropFirst(9))
        #expect(try await waitUntil {
            Set(try auditEntries(service.port, action: "alert.read").filter { $0.organisation == "desk" }.map(\.target)) == audited
        })
        #expect(try client.request("GET", "/v1/alerts/\(ids[0])", headers: ["Authorization": "Bearer \(ServiceProcess.token)", "Accept": "text/html"]).status == 406)
    }

    @Test func capInRoundTripsAndUpdatesACase() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        let client = try BlockingHTTPClient(port: service.port)
        let original = try file(client, """
            {"country":"CO","region":"Cauca","threat":"smear_campaign","severity":"medium","certainty":"possible","urgency":"expected",
             "confidentiality":"confidential","summary":"A land defender is named in leaflets.","defender":{"name":"Round Trip"}}
            """)
        var document = try cap(client, original)
        document = document.replacingOccurrences(
            of: "<area>", with: "<parameter><valueName>defender.name</valueName><value>Round Trip</value></parameter>\n    <area>")
        let filed = try client.request("POST", "/v1/alerts", body: document, headers: Self.capHeaders)
        #expect(filed.status == 202, "\(filed.text)")
        let copy = try JSONDecoder().decode(Accepted.self, from: Data(filed.body)).id
        let before = try stored(client, original), after = try stored(client, copy)
        #expect(after.id != before.id && after.case_id == copy && after.kind == "alert")
        for (a, b) in [
            (after.country, before.country), (after.threat, before.threat), (after.severity, before.severity), (after.urgency, before.urgency),
            (after.certainty, before.certainty), (after.confidentiality, before.confidentiality), (after.status, before.status),
        ] {
            #expect(a == b)
        }

        // An Update whose references name the copy updates the copy's case.
        let update = document
            .replacingOccurrences(of: "<msgType>Alert</msgType>", with: "<msgType>Update</msgType>")
            .replacingOccurrences(of: "<incidents>", with: "<references>partner@example.org,\(copy),2026-11-22T09:14:03+00:00</references>\n  <incidents>")
            .replacingOccurrences(of: "<valueName>confidentiality</valueName>", with: "<valueName>case_status</valueName><value>released</value></parameter><parameter><valueName>confidentiality</valueName>")
        let updated = try client.request("POST", "/v1/alerts", body: update, headers: Self.capHeaders)
        #expect(updated.status == 202, "\(updated.text)")
        let read = try stored(client, try JSONDecoder().decode(Accepted.self, from: Data(updated.body)).id)
        #expect(read.kind == "update" && read.case_id == copy && read.case_status == "released")

        // A problem is named by CAP element path.
        let unknown = try client.request(
            "POST", "/v1/alerts", body: document.replacingOccurrences(of: "<severity>Moderate</severity>", with: "<severity>Unknown</severity>"),
            headers: Self.capHeaders)
        #expect(unknown.status == 422 && unknown.text.contains("\"field\":\"info[0].severity\""), "\(unknown.text)")
    }

    @Test func xxeAndBillionLaughsAreRefusedUnreadWithMemoryFlat() throws {
        let service = ServiceProcess()
        defer { service.kill(signal: SIGKILL) }
        try service.start()
        let client = try BlockingHTTPClient(port: service.port)
        let xxe = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
            <alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&e;</identifier><status>Actual</status></alert>
            """
        var laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n"
        laughs += " <!ENTITY lol1 \"" + String(repeating: "&lol;", count: 10) + "\">\n"
        for level in 2...9 { laughs += " <!ENTITY lol\(level) \"" + String(repeating: "&lol\(level - 1);", count: 10) + "\">\n" }
        laughs += "]>\n<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><description>&lol9;</description></alert>"
        // Warm up the route, then measure.
        _ = try client.request("POST", "/v1/alerts", body: "<a/>", headers: Self.capHeaders)
        let before = try Self.residentBytes(service.port)
        for _ in 0..<20 {
            for body in [xxe, laughs] {
                let response = try client.request("POST", "/v1/alerts", body: body, headers: Self.capHeaders)
                #expect(response.status == 400, "\(response.text)")
                #expect(!response.text.contains("root:") && !response.text.contains("lollol") && response.text.contains("DOCTYPE"))
            }
        }
        let after = try Self.residentBytes(service.port)
        #expect(before > 0 && after - before < 4 * 1024 * 1024, "resident memory grew from \(before) to \(after)")
        let list = try client.request("GET", "/v1/alerts", headers: auth)
        #expect(!list.text.contains("\"id\""))
        #expect(!service.logs.contains("root:x:"))
    }
}
