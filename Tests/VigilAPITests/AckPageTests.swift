import Foundation
import Testing
import VigilCore
import VigilHTTP
@testable import VigilAPI

/// The acknowledgement pages and the checks of what a desk sends (issue 19).
@Suite struct AckPageTests {
    private func alert(handling: HandlingInstructions? = nil) -> Alert {
        let now = Timestamp.now()
        var alert = Alert(
            id: ULID(time: now).description, caseID: nil, kind: .alert, receivedAt: now, country: CountryCode("BY")!, threat: .arrest,
            severity: .critical, certainty: .observed, confidentiality: .restricted, defender: Defender(name: "Test Defender"),
            summary: "arrested", source: AlertSource(organisation: "filer"))
        alert.handling = handling
        return alert
    }

    private func subscriber(language: String) -> Subscriber {
        Subscriber(
            id: "sub_desk", name: "<script>alert(1)</script>", kind: .ngo, organisation: "org\"'&", contact: "x@example.org",
            clearance: .restricted, language: language, channels: [], subscriptions: [])
    }

    @Test func everyInterpolationIsEscaped() {
        #expect(HTML.escape(#"<a href="x" onclick='y'>&</a>"#) == "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;")
        let page = AckPage.refusal(404, message: "<img src=x onerror=alert(1)>", language: "\"><script>")
        let html = String(decoding: page.body, as: UTF8.self)
        #expect(!html.contains("<img") && !html.contains("<script"))
        #expect(html.contains("&lt;img src=x onerror=alert(1)&gt;"))
    }

    @Test(arguments: [("en", "Acknowledge"), ("fr-BE", "Accuser réception"), ("nl", "Bevestigen"), ("de", "Acknowledge")])
    func theConfirmationPageSpeaksTheSubscribersLanguageAndPostsToItself(language: String, button: String) {
        let page = AckPage.confirmation(alert: alert(), subscriber: subscriber(language: language), existing: nil)
        let html = String(decoding: page.body, as: UTF8.self)
        #expect(page.status == 200)
        #expect(html.contains("<button type=\"submit\">\(button)</button>"))
        #expect(html.contains("<form method=\"post\">") && !html.contains("action=\"http"))
        #expect(!html.contains("<script"))
        #expect(page.headers["content-security-policy"] == PageHeaders.contentSecurityPolicy)
        #expect(page.headers["x-content-type-options"] == "nosniff")
        #expect(page.headers["referrer-policy"] == "no-referrer")
        #expect(page.headers["cache-control"] == "no-store")
        #expect(page.headers["content-type"]?.hasPrefix("text/html") == true)
    }

    @Test func actionsTheFilerForbidsAreNotOfferedAndTheInstructionsAreShown() {
        let handling = HandlingInstructions(noPublicStatement: true, noContactWithAuthorities: true)
        let html = String(decoding: AckPage.confirmation(alert: alert(handling: handling), subscriber: subscriber(language: "fr"), existing: nil).body, as: UTF8.self)
        #expect(!html.contains("value=\"public_statement\"") && !html.contains("value=\"demarche\""))
        #expect(html.contains("value=\"acting\"") && html.contains("value=\"prison_visit\"") == false)
        #expect(html.contains("Aucune déclaration publique.") && html.contains("Aucun contact avec les autorités."))
    }

    @Test func aRequestIsCheckedBeforeAnythingIsRecorded() throws {
        #expect(try Acknowledger.request(action: nil, note: nil).get().action == .seen)
        let parsed = try Acknowledger.request(action: "acting", note: "  we called the lawyer\r\n ").get()
        #expect(parsed.action == .acting && parsed.note == "we called the lawyer")
        #expect(try Acknowledger.request(action: "seen", note: "   ").get().note == nil)
        for (action, note, field) in [("shouting", nil, "action"), ("seen", String(repeating: "x", count: 2001), "note"), ("seen", "a\u{0}b", "note")] {
            guard case .failure(let failure) = Acknowledger.request(action: action, note: note) else {
                Issue.record("accepted \(action) \(note?.prefix(10) ?? "")")
                continue
            }
            #expect(failure.fields.map(\.field) == [field])
        }
    }

    @Test func aConflictWithTheHandlingInstructionsNamesIt() throws {
        let response = APIError.handlingConflict(instruction: "no_public_statement", "no").response
        #expect(response.status == 409)
        let body = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: String]
        #expect(body?["error"] == "handling_instruction" && body?["instruction"] == "no_public_statement")
    }
}
