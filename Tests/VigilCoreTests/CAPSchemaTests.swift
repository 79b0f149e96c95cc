import Foundation
import Testing
import VigilCore
import VigilTestSupport

@Suite(.timeLimit(.minutes(1))) struct CAPSchemaTests {
    /// Alerts, updates with references, cancels, exercises, tests, every confidentiality read
    /// at every clearance, with and without instructions, region, onset and case status.
    @Test func everyDocumentVigilWritesIsValidCAP12() throws {
        var documents: [(String, [UInt8])] = []
        let first = capAlert()
        for kind in AlertKind.allCases {
            for status in AlertStatus.allCases {
                for confidentiality in Confidentiality.allCases {
                    for clearance in Confidentiality.allCases {
                        var alert = capAlert(
                            kind: kind, status: status, caseID: kind == .alert ? nil : first.id, confidentiality: confidentiality,
                            handling: clearance == .public ? nil : HandlingInstructions(noContactWithDefender: true, note: "Quietly, <please> & \"soon\"."),
                            caseStatus: kind == .update ? .onTrial : nil)
                        if kind != .alert { alert.id = ULID(time: first.receivedAt.adding(milliseconds: 5000)).description }
                        if clearance == .restricted {
                            alert.occurredAt = nil
                            alert.region = nil
                            alert.language = "fr-BE"
                        }
                        let document = CAPDocument(
                            alert: alert, earlierAlertIDs: kind == .alert ? [] : [first.id], clearance: clearance, publicURL: "https://vigil.example.org")
                        documents.append(("\(kind.rawValue)-\(status.rawValue)-\(confidentiality.rawValue)-for-\(clearance.rawValue)", document.bytes))
                    }
                }
            }
        }
        // Text XML cannot carry, and a summary of the longest kind.
        var odd = capAlert()
        odd.summary = "Control \u{1}\u{8} characters, a CR\r\n, ]]> and <![CDATA[ x ]]> " + String(repeating: "é", count: 3900)
        documents.append(("odd-text", CAPDocument(alert: odd, clearance: .confidential, publicURL: "http://127.0.0.1:8080/").bytes))
        #expect(documents.count == 3 * 3 * 3 * 3 + 1)
        let result = try CAPSchema.validate(CAPSchema.write(documents))
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.components(separatedBy: " validates").count - 1 == documents.count, "\(result.output)")
    }

    /// The validation can fail: a `Z` time and a lower-case severity are not CAP 1.2.
    @Test func theSchemaRefusesWhatCAPForbids() throws {
        let good = String(decoding: CAPDocument(alert: capAlert(), clearance: .confidential, publicURL: "https://v.example").bytes, as: UTF8.self)
        let zulu = good.replacingOccurrences(of: "+00:00</sent>", with: "Z</sent>")
        let lower = good.replacingOccurrences(of: "<severity>Extreme</severity>", with: "<severity>extreme</severity>")
        #expect(zulu != good && lower != good)
        for bad in [zulu, lower] {
            let result = try CAPSchema.validate(CAPSchema.write([("bad", Array(bad.utf8))]))
            #expect(result.status != 0, "\(result.output)")
        }
    }
}
