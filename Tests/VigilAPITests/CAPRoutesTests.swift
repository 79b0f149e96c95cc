import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilHTTP
import VigilObservability
import VigilStore
import VigilTestSupport
@testable import VigilAPI

/// A CAP 1.2 alert as a partner might file it; `info` replaces the info block's inside,
/// `head` what follows `scope`.
func capDocument(
    status: String = "Actual", msgType: String = "Alert", head: String = "", severity: String = "Severe",
    parameters: [(String, String)] = [("defender.name", "Nasta Loika"), ("defender.group", "journalist")],
    area: String = "<area><areaDesc>Belarus — Hrodna</areaDesc><geocode><valueName>ISO3166-1</valueName><value>BY</value></geocode></area>",
    extraInfo: String = "", description: String = "Detained after a search of her flat."
) -> String {
    """
    <?xml version="1.0" encoding="UTF-8"?>
    <alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
      <identifier>partner-2026-0042</identifier>
      <sender>alerts@partner.example</sender>
      <sent>2026-11-22T09:00:00+01:00</sent>
      <status>\(status)</status>
      <msgType>\(msgType)</msgType>
      <scope>Restricted</scope>
      \(head)
      <info>
        <language>en-GB</language>
        <category>Safety</category>
        <event>Detention</event>
        <urgency>Immediate</urgency>
        <severity>\(severity)</severity>
        <certainty>Observed</certainty>
        <onset>2026-11-21T23:00:00+01:00</onset>
        <headline>ignored</headline>
        <description>\(description)</description>
        <instruction>Do not call her family.</instruction>
        \(parameters.map { "<parameter><valueName>\($0.0)</valueName><value>\($0.1)</value></parameter>" }.joined(separator: "\n    "))
        \(extraInfo)
        \(area)
      </info>
    </alert>
    """
}

/// `POST /v1/alerts` with `application/cap+xml` and `GET /v1/alerts/{id}` with
/// `Accept: application/cap+xml`, in-process over the in-memory log.
@Suite(.timeLimit(.minutes(2))) struct CAPRoutesTests {
    let routes: AlertRoutesHarness
    var fixture: RoutingFixture { routes.fixture }
    var tokens: TokenStore { routes.tokens }
    var audit: AuditTrail { routes.audit }
    let secret = "cap-partner-secret-0123456789"

    init() throws { routes = try AlertRoutesHarness(secret: secret) }

    /// Sends a request through admission and the routes; the in-memory log answers at once.
    func send(_ method: String, _ target: String, body: [UInt8] = [], headers: [String: String] = [:], token: String? = nil) -> HTTPResponse {
        routes.send(method, target, body: body, headers: headers, token: token)
    }

    func fileCAP(_ text: String, key: String? = nil) -> HTTPResponse {
        var headers = ["content-type": "application/cap+xml; charset=utf-8"]
        if let key { headers["idempotency-key"] = key }
        return send("POST", "/v1/alerts", body: Array(text.utf8), headers: headers)
    }

    /// The problems of a `422`, field by field.
    func problems(_ response: HTTPResponse) -> [String: String] {
        struct Body: Decodable { let fields: [FieldError] }
        guard let body = try? JSONDecoder().decode(Body.self, from: Data(response.body)) else { return [:] }
        return Dictionary(body.fields.map { ($0.field, $0.message) }, uniquingKeysWith: { a, _ in a })
    }

    func filedAlert(_ response: HTTPResponse) throws -> Alert {
        struct Accepted: Decodable { let id: String }
        let id = try JSONDecoder().decode(Accepted.self, from: Data(response.body)).id
        return try #require(try fixture.log.alert(id: id)).alert
    }

    @Test func aCAPAlertIsFiledAsTheAlertItMapsTo() async throws {
        let response = fileCAP(capDocument())
        #expect(response.status == 202, "\(String(decoding: response.body, as: UTF8.self))")
        let alert = try filedAlert(response)
        #expect(alert.kind == .alert && alert.status == .actual && alert.country.code == "BY" && alert.region == "Hrodna")
        #expect(alert.threat == .detention && alert.severity == .high && alert.urgency == .immediate && alert.certainty == .observed)
        #expect(alert.confidentiality == .restricted && alert.language == "en-GB" && alert.source.organisation == "partner")
        #expect(alert.defender == Defender(name: "Nasta Loika", group: .journalist))
        #expect(alert.summary == "Detained after a search of her flat." && alert.handling?.note == "Do not call her family.")
        #expect(alert.occurredAt == Timestamp(rfc3339: "2026-11-21T22:00:00Z"))
        #expect(try await waitUntil { try audit.entries(limit: 100).contains { $0.action == .alertFiled && $0.target == alert.id } })
    }

    /// Producers that write `cap:`-prefixed elements, sign their documents or use CDATA are read the same.
    @Test func prefixesSignaturesAndCDATAAreReadAlike() throws {
        let prefixed = capDocument(description: "<![CDATA[Detained <2 days & held.]]>")
            .replacingOccurrences(of: "<(/?)([a-zA-Z])", with: "<$1cap:$2", options: .regularExpression)
            .replacingOccurrences(of: "<cap:alert xmlns=", with: "<cap:alert xmlns:cap=")
            .replacingOccurrences(
                of: "</cap:alert>",
                with: #"<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo/></Signature></cap:alert>"#)
        #expect(prefixed.contains("<cap:info>") && prefixed.contains("xmlns:cap="))
        let response = fileCAP(prefixed)
        #expect(response.status == 202, "\(String(decoding: response.body, as: UTF8.self))")
        let alert = try filedAlert(response)
        #expect(alert.summary == "Detained <2 days & held." && alert.country.code == "BY" && alert.severity == .high)
    }

    @Test func aRetryWithTheSameKeyIsTheSameFiling() throws {
        let first = fileCAP(capDocument(), key: "cap-0042")
        let again = fileCAP(capDocument(), key: "cap-0042")
        #expect(first.status == 202 && again.status == 202 && first.body == again.body)
        #expect(again.headers["idempotent-replayed"] == "true")
        #expect(fileCAP(capDocument(severity: "Minor"), key: "cap-0042").status == 409)
    }

    @Test func vigilsOwnCAPFiledBackGivesTheSameRoutingFields() throws {
        var alert = try fixture.file("CO", severity: .medium).alert
        alert.id = ULID().description
        alert.caseID = alert.id
        alert.urgency = .expected
        alert.certainty = .possible
        alert.confidentiality = .confidential
        alert.threat = .smearCampaign
        alert.region = "Cauca"
        _ = try fixture.log.appendNow(alert)
        let read = send("GET", "/v1/alerts/\(alert.id)", headers: ["accept": "application/cap+xml"])
        #expect(read.status == 200 && read.headers["content-type"] == "application/cap+xml")
        var text = String(decoding: read.body, as: UTF8.self)
        text = text.replacingOccurrences(
            of: "<area>", with: "<parameter><valueName>defender.name</valueName><value>Routed Defender</value></parameter>\n<area>")
        let filed = fileCAP(text)
        #expect(filed.status == 202, "\(String(decoding: filed.body, as: UTF8.self))")
        let again = try filedAlert(filed)
        #expect(again.id != alert.id && again.kind == .alert && again.caseID == again.id)
        #expect(again.country == alert.country && again.threat == alert.threat && again.severity == alert.severity)
        #expect(again.urgency == alert.urgency && again.certainty == alert.certainty && again.confidentiality == alert.confidentiality)
        #expect(again.region == "Cauca" && again.summary == alert.summary && again.status == alert.status)
    }

    @Test func anUpdateReferencingAVigilAlertUpdatesItsCase() throws {
        let first = try fixture.file("BY").alert
        var second = first
        second.id = ULID().description
        second.kind = .update
        _ = try fixture.log.appendNow(second)
        // The triple names the second alert; its case is the first's.
        let head = "<references>vigil@vigil.example.org,\(second.id),2026-11-22T09:14:03+00:00</references>"
        let response = fileCAP(capDocument(msgType: "Update", head: head, parameters: [("defender.name", "Routed Defender"), ("case_status", "charged")]))
        #expect(response.status == 202, "\(String(decoding: response.body, as: UTF8.self))")
        let update = try filedAlert(response)
        #expect(update.kind == .update && update.caseID == first.id && update.caseStatus == .charged)
        let cancel = fileCAP(capDocument(msgType: "Cancel", head: "<references>x,\(first.id),2026-11-22T09:14:03+00:00</references>"))
        #expect(try filedAlert(cancel).kind == .cancel)
        // No references, or references to nothing Vigil holds: named at references.
        #expect(problems(fileCAP(capDocument(msgType: "Update")))["references"] != nil)
        let unknown = fileCAP(capDocument(msgType: "Update", head: "<references>x,01ARZ3NDEKTSV4RRFFQ69G5FAV,2026-11-22T09:14:03+00:00</references>"))
        #expect(unknown.status == 422 && problems(unknown)["references"]?.contains("names no alert Vigil holds") == true)
        #expect(problems(fileCAP(capDocument(msgType: "Update", head: "<references>garbage</references>")))["references"] != nil)
    }

    @Test func problemsAreNamedByCAPElementPathAllAtOnce() throws {
        let response = fileCAP(capDocument(
            status: "Draft", severity: "Unknown", parameters: [("colour", "red"), ("summary_public", String(repeating: "x", count: 5000))],
            area: "<area><areaDesc>x</areaDesc><polygon>1,1 2,2 3,3 1,1</polygon></area>",
            extraInfo: "<resource><resourceDesc>photo</resourceDesc><mimeType>image/jpeg</mimeType></resource>",
            description: String(repeating: "y", count: 4001)))
        #expect(response.status == 422)
        let found = problems(response)
        for path in [
            "status", "info[0].severity", "info[0].parameter[0].valueName", "info[0].parameter", "info[0].area[0].geocode", "info[0].resource",
            "info[0].description", "info[0].parameter[1].value",
        ] {
            #expect(found[path] != nil, "no problem at \(path): \(found)")
        }
        #expect(found["info[0].area[0].geocode"]?.contains("polygon") == true)
        #expect(found.keys.allSatisfy { !["severity", "summary", "country", "defender", "summary_public"].contains($0) }, "\(found)")
        // Problems only the JSON validation finds are named by CAP path too.
        let country = fileCAP(capDocument(area: "<area><areaDesc>x</areaDesc><geocode><valueName>ISO3166-1</valueName><value>XX</value></geocode></area>"))
        #expect(country.status == 422 && problems(country)["info[0].area[0].geocode[0].value"] != nil, "\(problems(country))")
        let twoInfos = fileCAP(capDocument().replacingOccurrences(of: "</info>", with: "</info><info><category>Safety</category></info>"))
        #expect(problems(twoInfos)["info[1]"] != nil)
        let foreign = fileCAP(#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"><status>Actual</status></alert>"#)
        #expect(foreign.status == 422 && Array(problems(foreign).keys) == ["alert"])
    }

    @Test(arguments: [
        #"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><note>&e;</note></alert>"#,
        #"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>"#,
        "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><!ENTITY x \"y\"></alert>",
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?><alert/>",
        "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><note>&undefined;</note></alert>",
        "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><status>Actual</status>",
        "not xml at all",
        String(repeating: "<a>", count: 50) + String(repeating: "</a>", count: 50),
        "<alert>" + String(repeating: "<code>x</code>", count: 1200) + "</alert>",
    ])
    func unreadableDocumentsAreRefusedBeforeAnythingIsRead(body: String) throws {
        let response = fileCAP(body)
        let text = String(decoding: response.body, as: UTF8.self)
        #expect(response.status == 400, "\(text)")
        #expect(!text.contains("root:") && !text.contains("lollol"))
        #expect(try fixture.log.lastOffset() == 0)
    }

    @Test func utf16AndInvalidBytesAreRefused() {
        var utf16: [UInt8] = [0xFF, 0xFE]
        for unit in "<alert/>".utf16 { utf16 += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        #expect(send("POST", "/v1/alerts", body: utf16, headers: ["content-type": "application/cap+xml"]).status == 400)
        #expect(send("POST", "/v1/alerts", body: [0x3C, 0xC0, 0x3E], headers: ["content-type": "application/cap+xml"]).status == 400)
        #expect(send("POST", "/v1/alerts", body: Array("<x/>".utf8), headers: ["content-type": "text/plain"]).status == 415)
    }

    @Test func contentNegotiationPrefersJSONAndRefusesWhatItCannotGive() throws {
        let cases: [(String?, AlertsAPI.ReadFormat?)] = [
            (nil, .json), ("", .json), ("*/*", .json), ("application/*", .json), ("application/json", .json),
            ("application/cap+xml", .cap), ("application/cap+xml, */*", .cap), ("application/json, application/cap+xml", .json),
            ("application/cap+xml;q=0.9, application/json;q=0.5", .cap), ("application/cap+xml;q=0, application/json", .json),
            ("APPLICATION/CAP+XML", .cap), ("text/html", nil), ("application/xml, text/xml", nil), ("application/cap+xml;q=0", nil),
            ("*/*;q=0", nil), ("application/json;q=abc", nil), ("text/html, */*;q=0.1", .json),
        ]
        for (accept, expected) in cases { #expect(AlertsAPI.negotiate(accept) == expected, "Accept: \(accept ?? "none")") }
        let alert = try fixture.file().alert
        let refused = send("GET", "/v1/alerts/\(alert.id)", headers: ["accept": "text/html"])
        #expect(refused.status == 406 && refused.headers["content-type"] == "application/json")
        #expect(String(decoding: refused.body, as: UTF8.self).contains("\"error\":\"not_acceptable\""))
        #expect(HTTPResponse.reason(406) == "Not Acceptable")
        #expect(send("GET", "/v1/alerts/\(alert.id)").headers["content-type"] == "application/json")
    }

    @Test func theCAPReadIsRedactedToTheTokenAndAudited() async throws {
        let low = "cap-reader-public-0123456789"
        _ = try tokens.register(secret: low, organisation: "desk", scopes: [.alertsRead], clearance: .public)
        let alert = try fixture.file().alert  // restricted, defender "Routed Defender"
        let response = send("GET", "/v1/alerts/\(alert.id)", headers: ["accept": "application/cap+xml"], token: low)
        let text = String(decoding: response.body, as: UTF8.self)
        #expect(response.status == 200 && text.contains("<identifier>\(alert.id)</identifier>"))
        #expect(!text.contains("arrested") && text.contains("Redacted for a reader cleared for public"))
        #expect(text.contains("<web>https://vigil.example.org/console/alerts/\(alert.id)</web>"))
        #expect(try await waitUntil { try audit.entries(limit: 100).contains { $0.organisation == "desk" && $0.action == .alertRead && $0.target == alert.id } })
    }

    /// Random truncations and mutations of a valid document never crash the route and never
    /// answer 5xx.
    @Test func mutatedDocumentsNeverCrashNorAnswer5xx() {
        let seed = UInt64.random(in: 1...UInt64.max)
        var mutator = Mutator(seed: seed)
        let valid = Array(capDocument().utf8)
        let corpus = [valid, Array(capDocument(msgType: "Update", head: "<references>a,b,c</references>").utf8), Array("<!DOCTYPE".utf8)]
        var statuses: [Int: Int] = [:]
        for round in 0..<Mutator.iterations(default: 400) {
            let body = round % 4 == 0 ? Array(valid.prefix(Int.random(in: 0...valid.count, using: &mutator))) : mutator.mutate(valid, corpus: corpus)
            let status = send("POST", "/v1/alerts", body: body, headers: ["content-type": "application/cap+xml"]).status
            statuses[status, default: 0] += 1
            #expect([202, 400, 422].contains(status), "seed \(seed), round \(round): \(status) for \(String(decoding: body, as: UTF8.self))")
        }
        #expect(statuses[400, default: 0] > 0 && statuses[422, default: 0] + statuses[202, default: 0] > 0, "seed \(seed): \(statuses)")
    }
}
