import Foundation
import VigilCore

/// `vigil alert send`: files an alert and prints its id.
enum AlertSendCommand: Command {
    static let path = ["alert", "send"]
    static let summary = "file an alert (from flags or a JSON file) and print its id, or many from an NDJSON file"
    static let switches: Set<String> = ["json", "ndjson", "help"]
    static let help = """
        usage: vigil alert send --file ALERT.json|-  [--idempotency-key KEY] [--json]
               vigil alert send --file ALERTS.ndjson [--ndjson] [--idempotency-key PREFIX] [--json]
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

        An .ndjson file (or --ndjson, for standard input) holds one alert per line: they go in
        batches of up to 1,000 through POST /v1/alerts/batch, each line answered on its own
        ("line N: <id>" or what to fix); with --idempotency-key PREFIX each alert's key is
        PREFIX:N, so sending the file again files nothing twice. The exit status is 1 when any
        line was refused.
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
            if arguments.flag("ndjson") || file.hasSuffix(".ndjson") { return try sendBatches(data, file: file, &arguments, environment: environment) }
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

    /// Files every line of an NDJSON file through `POST /v1/alerts/batch`, 1,000 at a time,
    /// and prints one line per alert.
    static func sendBatches(_ data: Data, file: String, _ arguments: inout Arguments, environment: [String: String]) throws {
        let prefix = arguments.value("idempotency-key")
        let json = arguments.flag("json")
        let client = try APIClient(environment: environment, url: arguments.value("url"), token: arguments.value("token"))
        try arguments.finish()
        var alerts: [(line: Int, alert: JSONValue)] = []
        for (index, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            guard case .object(var object)? = try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)) else {
                throw ClientError(description: "\(file), line \(index + 1): not a JSON object")
            }
            if let prefix { object["idempotency_key"] = .string("\(prefix):\(index + 1)") }
            alerts.append((index + 1, .object(object)))
        }
        guard !alerts.isEmpty else { throw UsageError("\(file) holds no alert") }
        struct Result: Decodable {
            let index: Int
            let status: Int
            let id: String?
            let message: String?
            let fields: [FieldError]?
        }
        struct Answer: Decodable { let results: [Result] }
        var refused = 0
        for start in stride(from: 0, to: alerts.count, by: 1000) {
            let chunk = Array(alerts[start..<min(alerts.count, start + 1000)])
            let body = try JSONEncoder().encode(JSONValue.object(["alerts": .array(chunk.map(\.alert))]))
            let (status, answer) = try client.send("POST", "/v1/alerts/batch", body: body)
            guard status == 200 else { throw ClientError(description: APIClient.explain(status, answer)) }
            if json { print(String(decoding: answer, as: UTF8.self)) }
            for result in try JSONDecoder().decode(Answer.self, from: answer).results where result.index >= 0 && result.index < chunk.count {
                let line = chunk[result.index].line
                if result.status == 202, let id = result.id {
                    if !json { print("line \(line): \(id)") }
                } else {
                    refused += 1
                    let why = result.fields.map { $0.map { "\($0.field): \($0.message)" }.joined(separator: "; ") } ?? result.message ?? ""
                    if !json { print("line \(line): refused (\(result.status)) \(why)") }
                }
            }
        }
        if refused > 0 { throw ClientError(description: "\(refused) of \(alerts.count) alerts were refused") }
    }
}
