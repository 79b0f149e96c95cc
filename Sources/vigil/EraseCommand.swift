import Foundation

/// `vigil erase --alert ID | --case ID`: makes a defender's identity unreadable everywhere
/// by deleting the data keys, through the running service.
enum EraseCommand: Command {
    static let path = ["erase"]
    static let summary = "erase a defender's identity from an alert or a whole case"
    static let switches: Set<String> = ["json", "help"]
    static let help = """
        usage: vigil erase --alert ALERT_ID [--json]
               vigil erase --case CASE_ID [--json]

        Deletes the data keys that seal the identity (name, organisation, role, summary, region)
        of one alert, or of every alert of a case. From then on the API, every delivery and every
        replay show "[erased]", and copies of the log (SQLite file, backups, Kafka) hold only
        ciphertext that no key opens. The log itself is not rewritten. It cannot be undone.
        Needs a token with the subscribers:admin scope in VIGIL_TOKEN; VIGIL_URL names the service.
        """

    static func run(_ arguments: inout Arguments, environment: [String: String]) throws {
        let json = arguments.flag("json")
        let alert = arguments.value("alert"), caseID = arguments.value("case")
        let client = try APIClient(environment: environment, url: arguments.value("url"), token: arguments.value("token"))
        try arguments.finish()
        let body: [String: String]
        switch (alert, caseID) {
        case (let id?, nil): body = ["alert_id": id]
        case (nil, let id?): body = ["case_id": id]
        default: throw UsageError("give exactly one of --alert or --case")
        }
        let (status, answer) = try client.send("POST", "/v1/erasures", body: try JSONEncoder().encode(body))
        guard status == 200 else { throw ClientError(description: APIClient.explain(status, answer)) }
        if json { print(String(decoding: answer, as: UTF8.self)); return }
        struct Erased: Decodable { let erased: [String] }
        let erased = try JSONDecoder().decode(Erased.self, from: answer).erased
        for id in erased { print("erased \(id)") }
    }
}
