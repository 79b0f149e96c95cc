import Foundation
import Testing
import VigilCore

/// An alert for the CAP tests: a restricted arrest in Minsk, its identity in the free text.
func capAlert(
    kind: AlertKind = .alert, status: AlertStatus = .actual, caseID: String? = nil, confidentiality: Confidentiality = .restricted,
    handling: HandlingInstructions? = nil, caseStatus: CaseStatus? = nil
) -> Alert {
    let received = Timestamp(rfc3339: "2026-11-22T09:14:03.120Z")!
    return Alert(
        id: ULID(time: received).description, caseID: caseID, kind: kind, status: status, receivedAt: received,
        occurredAt: Timestamp(rfc3339: "2026-11-21T22:00:00Z"), country: CountryCode("BY")!, region: "Minsk", threat: .travelBan,
        severity: .critical, urgency: .immediate, certainty: .likely, confidentiality: confidentiality,
        defender: Defender(name: "Aliaksandr Kaval", organisation: "Union of Free Workers"),
        summary: "Aliaksandr Kaval was stopped at the border & told <he> may not leave.", summaryPublic: "A labour leader was stopped at the border.",
        language: "en", source: AlertSource(organisation: "partner-ngo"), tags: ["trade-union"], links: ["https://example.org/x"],
        caseStatus: caseStatus, handling: handling)
}

@Suite struct CAPVocabularyTests {
    @Test func severityMapsBothWaysAndUnknownIsRefused() {
        let table: [(Severity, String)] = [(.low, "Minor"), (.medium, "Moderate"), (.high, "Severe"), (.critical, "Extreme")]
        for (severity, word) in table {
            #expect(CAPVocabulary.capSeverity(severity) == word)
            #expect(CAPVocabulary.severity(cap: word) == severity)
        }
        #expect(CAPVocabulary.severity(cap: "Unknown") == nil)
        #expect(CAPVocabulary.severity(cap: "extreme") == nil)
    }

    @Test func urgencyAndCertaintyMapByNameBothWays() {
        for urgency in Urgency.allCases { #expect(CAPVocabulary.urgency(cap: CAPVocabulary.capUrgency(urgency)) == urgency) }
        for certainty in Certainty.allCases { #expect(CAPVocabulary.certainty(cap: CAPVocabulary.capCertainty(certainty)) == certainty) }
        #expect(CAPVocabulary.capUrgency(.immediate) == "Immediate")
        #expect(CAPVocabulary.capUrgency(.unknown) == "Unknown")
        #expect(CAPVocabulary.capCertainty(.observed) == "Observed")
        #expect(CAPVocabulary.capCertainty(.unlikely) == "Unlikely")
        #expect(CAPVocabulary.certainty(cap: "Very Likely") == nil)
    }

    @Test func statusAndMessageTypeMapAndTheOthersAreRefused() {
        #expect(AlertStatus.allCases.map(CAPVocabulary.capStatus) == ["Actual", "Exercise", "Test"])
        #expect(AlertKind.allCases.map(CAPVocabulary.capMessageType) == ["Alert", "Update", "Cancel"])
        for status in AlertStatus.allCases { #expect(CAPVocabulary.status(cap: CAPVocabulary.capStatus(status)) == status) }
        for kind in AlertKind.allCases { #expect(CAPVocabulary.kind(cap: CAPVocabulary.capMessageType(kind)) == kind) }
        #expect(CAPVocabulary.status(cap: "System") == nil && CAPVocabulary.status(cap: "Draft") == nil)
        #expect(CAPVocabulary.kind(cap: "Ack") == nil && CAPVocabulary.kind(cap: "Error") == nil)
    }

    @Test func everyThreatIsAnEventInWordsAndBack() {
        for threat in Threat.allCases { #expect(CAPVocabulary.threat(event: CAPVocabulary.event(threat)) == threat) }
        #expect(CAPVocabulary.event(.travelBan) == "travel ban")
        #expect(CAPVocabulary.threat(event: " Travel-Ban ") == .travelBan)
        #expect(CAPVocabulary.threat(event: "flood") == nil)
    }
}

@Suite struct CAPDocumentTests {
    @Test func theWriterEscapesMarkupAndCharactersXMLCannotCarry() {
        #expect(XMLWriter.escaped(#"<a & "b">"#) == "&lt;a &amp; &quot;b&quot;&gt;")
        #expect(XMLWriter.escaped("]]>") == "]]&gt;")
        #expect(XMLWriter.escaped("a\rb\tc\nd") == "a&#13;b\tc\nd")
        #expect(XMLWriter.escaped("x\u{0}\u{1}\u{1B}y\u{FFFE}") == "x\u{FFFD}\u{FFFD}\u{FFFD}y\u{FFFD}")
        #expect(XMLWriter.escaped("Łukasz — ü 😀") == "Łukasz — ü 😀")
        var w = XMLWriter()
        w.begin("alert", namespace: CAPDocument.namespace)
        w.element("description", "</description><injected/>")
        w.end()
        let text = String(decoding: w.bytes, as: UTF8.self)
        #expect(!text.contains("<injected/>"))
        #expect(text.contains("&lt;/description&gt;&lt;injected/&gt;"))
    }

    @Test func timesAreWholeSecondsWithANumericOffset() {
        #expect(CAPDocument.capTime(Timestamp(rfc3339: "2026-11-21T22:00:00.999Z")!) == "2026-11-21T22:00:00+00:00")
        #expect(CAPDocument.capTime(Timestamp(rfc3339: "2026-11-21T23:30:00+01:00")!) == "2026-11-21T22:30:00+00:00")
    }

    @Test func theSenderIsVigilAtThePublicHost() {
        #expect(CAPDocument.sender(publicURL: "https://vigil.example.org/") == "vigil@vigil.example.org")
        #expect(CAPDocument.sender(publicURL: "http://127.0.0.1:8080") == "vigil@127.0.0.1")
        #expect(CAPDocument.sender(publicURL: "not a url") == "vigil@vigil.invalid")
    }

    @Test func aClearedReaderGetsTheWholeAlertMapped() {
        let alert = capAlert(handling: HandlingInstructions(noPublicStatement: true, excludeKinds: [.diplomaticDesk], note: "Call first."))
        let document = CAPDocument(alert: alert, clearance: .confidential, publicURL: "https://vigil.example.org/")
        let text = String(decoding: document.bytes, as: UTF8.self)
        for fragment in [
            "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">", "<identifier>\(alert.id)</identifier>",
            "<sender>vigil@vigil.example.org</sender>", "<sent>2026-11-22T09:14:03+00:00</sent>", "<status>Actual</status>",
            "<msgType>Alert</msgType>", "<scope>Restricted</scope>", "<restriction>Vigil confidentiality restricted:",
            "<language>en</language>", "<category>Safety</category>", "<event>travel ban</event>", "<urgency>Immediate</urgency>",
            "<severity>Extreme</severity>", "<certainty>Likely</certainty>", "<onset>2026-11-21T22:00:00+00:00</onset>",
            "<headline>[CRITICAL] Belarus — travel ban: Aliaksandr Kaval was stopped at the border &amp; told &lt;he&gt; may…</headline>",
            "<description>Aliaksandr Kaval was stopped at the border &amp; told &lt;he&gt; may not leave.</description>",
            "<instruction>No public statement about the defender.\nNot to be shared with: diplomatic desk.\nNote from the filer: Call first.</instruction>",
            "<web>https://vigil.example.org/console/alerts/\(alert.id)</web>",
            "<valueName>threat</valueName>", "<value>travel_ban</value>", "<valueName>case_id</valueName>",
            "<areaDesc>Belarus — Minsk</areaDesc>", "<valueName>ISO3166-1</valueName>", "<value>BY</value>",
        ] {
            #expect(text.contains(fragment), "missing \(fragment)")
        }
        #expect(!text.contains("<references>") && !text.contains("case_status"))
        #expect(!text.contains("<note>"))
    }

    @Test func aReaderBelowClearanceGetsNoIdentityNorFreeText() {
        let alert = capAlert(confidentiality: .confidential, handling: HandlingInstructions(note: "Kaval's lawyer asks for calm."))
        let text = String(decoding: CAPDocument(alert: alert, clearance: .restricted, publicURL: "https://v.example").bytes, as: UTF8.self)
        for secret in ["Aliaksandr", "Kaval", "Union of Free Workers", "Minsk", "lawyer", "example.org/x", "trade-union"] {
            #expect(!text.contains(secret), "\(secret) is in the document below clearance")
        }
        #expect(text.contains("<description>A labour leader was stopped at the border.</description>"))
        #expect(text.contains("<areaDesc>Belarus</areaDesc>"))
        #expect(text.contains("<note>Redacted for a reader cleared for restricted"))
        #expect(text.contains("Vigil confidentiality confidential"))
    }

    @Test func anUpdateReferencesTheEarlierAlertsOfItsCase() throws {
        let first = capAlert()
        let second = ULID(time: first.receivedAt.adding(milliseconds: 60_000)).description
        var update = capAlert(kind: .update, caseID: first.id, caseStatus: .charged)
        update.id = ULID(time: first.receivedAt.adding(milliseconds: 120_000)).description
        let document = CAPDocument(alert: update, earlierAlertIDs: [first.id, second], clearance: .confidential, publicURL: "https://v.example")
        #expect(document.references == "vigil@v.example,\(first.id),2026-11-22T09:14:03+00:00 vigil@v.example,\(second),2026-11-22T09:15:03+00:00")
        let text = String(decoding: document.bytes, as: UTF8.self)
        #expect(text.contains("<msgType>Update</msgType>"))
        #expect(text.contains("<references>\(document.references!)</references>"))
        #expect(text.contains("<incidents>\(first.id)</incidents>"))
        #expect(text.contains("<valueName>case_status</valueName>") && text.contains("<value>charged</value>"))
        #expect(document.headline.hasPrefix("[CRITICAL] UPDATE: Belarus"))
        // Without the earlier ids it still names the case's first alert.
        #expect(CAPDocument(alert: update, clearance: .confidential, publicURL: "https://v.example").references?.contains(first.id) == true)
    }

    @Test func aCancelAndAnExerciseSayWhatTheyAre() {
        let first = capAlert()
        var cancel = capAlert(kind: .cancel, status: .exercise, caseID: first.id)
        cancel.id = ULID(time: first.receivedAt.adding(milliseconds: 1000)).description
        let text = String(decoding: CAPDocument(alert: cancel, clearance: .confidential, publicURL: "https://v.example").bytes, as: UTF8.self)
        #expect(text.contains("<status>Exercise</status>") && text.contains("<msgType>Cancel</msgType>"))
        #expect(text.contains("<headline>[EXERCISE] [CRITICAL] CANCELLED: Belarus"))
        #expect(text.contains("<note>EXERCISE — this is a drill, not a real event. CANCELLED — this case was filed in error.</note>"))
    }

    @Test func theSameInputsGiveTheSameBytes() {
        let alert = capAlert()
        #expect(
            CAPDocument(alert: alert, clearance: .public, publicURL: "https://v.example").bytes
                == CAPDocument(alert: alert, clearance: .public, publicURL: "https://v.example/").bytes)
    }
}
