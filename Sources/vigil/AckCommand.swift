import Foundation

/// `vigil ack ALERT_ID --subscriber ID [--action ACTION] [--note TEXT]`: acknowledges an alert
/// for one of the token's organisation's subscribers, through the running service.
enum AckCommand: Command {
    static let path = ["ack"]
    static let summary = "acknowledge an alert for one of your subscribers"
    static let switches: Set<String> = ["json", "help"]
    static let help = """
        usage: vigil ack ALERT_ID --subscriber SUBSCRIBER_ID [--action ACTION] [--note TEXT] [--json]

        Records that the subscriber (a desk of your organisation) has seen the alert and what it
        is doing: ACTION is one of seen (the default), acting, demarche, trial_observation,
        prison_visit, public_statement, relocation_support, other. Acknowledging again updates
        the action. The note is sealed with the alert and erased with it. An action the filer's
        handling instructions forbid is refused, naming the instruction. A first acknowledgement
        stops pending escalations and reminders of the alert for that subscriber.
        Needs a token with the alerts:read scope in VIGIL_TOKEN; VIGIL_URL names the service.
        """

    static func run(_ arguments: inout Arguments, environment: [String: String]) throws {
        let json = arguments.flag("json")
        let subscriber = arguments.value("subscriber"), action = arguments.value("action"), note = arguments.value("note")
        let client = try APIClient(environment: environment, url: arguments.value("url"), token: arguments.value("token"))
        let positional = arguments.positional
        try arguments.finish()
        guard positional.count == 1, let alertID = positional.first else { throw UsageError("give exactly one ALERT_ID") }
        guard let subscriber else { throw UsageError("give --subscriber SUBSCRIBER_ID") }
        var body = ["subscriber_id": subscriber]
        if let action { body["action"] = action }
        if let note { body["note"] = note }
        let (status, answer) = try client.send("POST", "/v1/alerts/\(APIClient.pathComponent(alertID))/acks", body: try JSONEncoder().encode(body))
        guard status == 200 || status == 201 else { throw ClientError(description: APIClient.explain(status, answer)) }
        if json { print(String(decoding: answer, as: UTF8.self)); return }
        struct Ack: Decodable { let action: String; let at: String; let first: Bool }
        let ack = try JSONDecoder().decode(Ack.self, from: answer)
        print("\(ack.first ? "acknowledged" : "updated") \(alertID) for \(subscriber): \(ack.action) at \(ack.at)")
    }
}
