import Foundation
import VigilCore

/// `vigil alert send`: files an alert and prints its id.
enum AlertSendCommand: Command {
    static let path = ["alert", "send"]
    static let summary = "file an alert (from flags or a JSON file) and print its id"
    static let switches: Set<String> = ["json", "help"]
    static let help = """
        usage: vigil alert send --file ALERT.json|-  [--idempotency-key KEY] [--json]
               vigil alert send --country BY --threat arrest --severity critical --certainty observed
                                --summary TEXT --defender-name NAME [--defender-organisation ORG]
                                [--defender-role ROLE] [--defender-group GROUP] [--region REGION]
                                [--urgency U] [--confidentiality C] [--kind alert|update|cancel]
                                [--case-id ID] [--status actual|exercise|test] [--language en]
                                [--occurred-at RFC3339] [--tag TAG]… [--link URL]…
                                [--idempotency-key KEY] [--json]

        Sends the alert to VIGIL_URL (default http://127.0.0.1:8080) with VIGIL_TOKEN and prints the
        id once the server has stored it durably; --json prints the whole answer. Flags given with
        --file override the file's fields. Refusals list every field to fix.
        """

    static func run(_ arguments: inout Arguments, environment: [String: String]) throws {
        var fields: [String: JSONValue] = [:]
        if let file = arguments.value("file") {
            let data: Data
            if file == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                guard let contents = FileManager.default.contents(atPath: file) else { throw ClientError(description: "cannot read \(file)") }
                data = contents
            }
            guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: data) else {
                throw ClientError(description: "\(file) is not a JSON object")
            }
            fields = object
        }
        for name in ["country", "threat", "severity", "certainty", "urgency", "confidentiality", "kind", "status", "summary", "region", "language"] {
            if let value = arguments.value(name) { fields[name] = .string(value) }
        }
        if let value = arguments.value("case-id") { fields["case_id"] = .string(value) }
        if let value = arguments.value("occurred-at") { fields["occurred_at"] = .string(value) }
        var defender: [String: JSONValue] = [:]
        if case .object(let existing)? = fields["defender"] { defender = existing }
        for part in ["name", "organisation", "role", "group"] {
            if let value = arguments.value("defender-\(part)") { defender[part] = .string(value) }
        }
        if !defender.isEmpty { fields["defender"] = .object(defender) }
        let tags = arguments.all("tag"), links = arguments.all("link")
        if !tags.isEmpty { fields["tags"] = .array(tags.map(JSONValue.string)) }
        if !links.isEmpty { fields["links"] = .array(links.map(JSONValue.string)) }
        let key = arguments.value("idempotency-key")
        let json = arguments.flag("json")
        let client = try APIClient(environment: environment, url: arguments.value("url"), token: arguments.value("token"))
        try arguments.finish()
        guard !fields.isEmpty else { throw UsageError("give --file or the alert's fields; see vigil alert send --help") }

        let body = try JSONEncoder().encode(JSONValue.object(fields))
        let (status, answer) = try client.send("POST", "/v1/alerts", body: body, headers: key.map { ["Idempotency-Key": $0] } ?? [:])
        guard status == 202 else { throw ClientError(description: APIClient.explain(status, answer)) }
        if json {
            print(String(decoding: answer, as: UTF8.self))
        } else {
            struct Accepted: Decodable { let id: String }
            print(try JSONDecoder().decode(Accepted.self, from: answer).id)
        }
    }
}
