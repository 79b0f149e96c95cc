import Foundation

/// `vigil audit`: reads the audit trail through the running service.
enum AuditCommand: Command {
    static let path = ["audit"]
    static let summary = "show who filed, read, erased, replayed or changed what"
    static let switches: Set<String> = ["json", "help"]
    static let help = """
        usage: vigil audit [--after SEQ] [--action ACTION] [--limit N] [--json]

        Prints the audit trail oldest first, one entry per line: sequence, time, token, organisation,
        action, target and detail. Actions: alert.filed, alert.read (restricted and confidential
        alerts only), alert.erased, replay.started, deliveries.retried, subscriber.saved,
        subscriber.deleted, subscriber.secret_rotated, token.created, token.revoked.
        Needs a token with the subscribers:admin scope in VIGIL_TOKEN; VIGIL_URL names the service.
        """

    static func run(_ arguments: inout Arguments, environment: [String: String]) throws {
        let json = arguments.flag("json")
        var query: [String] = []
        for name in ["after", "action", "limit"] {
            if let value = arguments.value(name) {
                query.append(name + "=" + (value.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? value))
            }
        }
        let client = try APIClient(environment: environment, url: arguments.value("url"), token: arguments.value("token"))
        try arguments.finish()
        let (status, answer) = try client.send("GET", "/v1/audit" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
        guard status == 200 else { throw ClientError(description: APIClient.explain(status, answer)) }
        if json { print(String(decoding: answer, as: UTF8.self)); return }
        struct Page: Decodable {
            struct Entry: Decodable {
                let seq: Int64; let at: String; let token_id: String; let organisation: String; let action: String
                let target: String; let detail: String
            }
            let entries: [Entry]
        }
        for e in try JSONDecoder().decode(Page.self, from: answer).entries {
            print([String(e.seq), e.at, e.token_id, e.organisation, e.action, e.target, e.detail].joined(separator: "\t"))
        }
    }
}
