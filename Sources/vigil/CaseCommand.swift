import Foundation

/// `vigil case CASE_ID`: a case's status, next event, alerts and who-is-acting board, through
/// the running service.
enum CaseCommand: Command {
    static let path = ["case"]
    static let summary = "show a case: status, next event, alerts and who is acting"
    static let switches: Set<String> = ["json", "help"]
    static let help = """
        usage: vigil case CASE_ID [--json]

        Shows the case's latest status and next event, its alerts in order (redacted to your
        token's clearance), and the who-is-acting board: each subscriber that received the case,
        whether a sending reached it, and whether and how it acknowledged. The filing
        organisation and operators see every subscriber; other recipients see their own and
        those that chose ack_visibility "recipients". Notes show only at the alert's clearance.
        Needs a token with the alerts:read scope in VIGIL_TOKEN; VIGIL_URL names the service.
        """

    static func run(_ arguments: inout Arguments, environment: [String: String]) throws {
        let json = arguments.flag("json")
        let client = try APIClient(environment: environment, url: arguments.value("url"), token: arguments.value("token"))
        let positional = arguments.positional
        try arguments.finish()
        guard positional.count == 1, let caseID = positional.first else { throw UsageError("give exactly one CASE_ID") }
        let (status, answer) = try client.send("GET", "/v1/cases/\(APIClient.pathComponent(caseID))")
        guard status == 200 else { throw ClientError(description: APIClient.explain(status, answer)) }
        if json { print(String(decoding: answer, as: UTF8.self)); return }
        struct Case: Decodable {
            struct Event: Decodable { let type: String; let at: String; let place: String? }
            struct Alert: Decodable { let id: String; let kind: String; let severity: String; let received_at: String?; let case_status: String? }
            struct Row: Decodable {
                let subscriber_id: String; let organisation: String; let kind: String?
                let delivered: Bool; let acknowledged: Bool; let action: String?; let at: String?; let note: String?
            }
            let case_id: String
            let status: String?
            let next_event: Event?
            let alerts: [Alert]
            let board: [Row]
        }
        let found = try JSONDecoder().decode(Case.self, from: answer)
        print("case \(found.case_id): \(found.status ?? "no status yet")")
        if let event = found.next_event { print("next: \(event.type) at \(event.at)\(event.place.map { ", \($0)" } ?? "")") }
        print("alerts:")
        for alert in found.alerts {
            print("  \(alert.id)  \(alert.kind)  \(alert.severity)\(alert.case_status.map { "  \($0)" } ?? "")")
        }
        print("who is acting:")
        if found.board.isEmpty { print("  (no one you may see)") }
        for row in found.board {
            let state = row.acknowledged ? "\(row.action ?? "seen") at \(row.at ?? "?")" : (row.delivered ? "delivered, not acknowledged" : "not delivered yet")
            print("  \(row.subscriber_id)  \(row.organisation)  \(state)\(row.note.map { "  note: \($0)" } ?? "")")
        }
    }
}
