import Foundation

/// `vigil replay`: resends alerts from the log through the running service.
enum ReplayCommand: Command {
    static let path = ["replay"]
    static let summary = "resend alerts from the log, to everyone or to one subscriber"
    static let switches: Set<String> = ["dry-run", "wait", "json", "help"]
    static let help = """
        usage: vigil replay [selection…] [--subscriber ID [--channel ID]] [--dry-run] [--wait] [--json]

        selection (combinable; at least one):
          --from-offset N  --to-offset N      log offsets, inclusive
          --since TIME     --until TIME       RFC 3339 reception times (until exclusive)
          --alert ID …     --case ID          alerts by id, or every alert of a case
          --country CC …   --severity S …     --threat T …

        Each selected alert goes again to every subscriber that matches it today, or only to
        --subscriber (and --channel), redacted to today's clearance. Deliveries keep their ids;
        webhooks carry vigil-replay: true and the replay id, emails a [REPLAY] subject prefix.
        --dry-run lists what would be sent and sends nothing. --wait follows the replay's progress
        until it is done. Needs a token with the replay scope in VIGIL_TOKEN; VIGIL_URL names the service.
        """

    static func run(_ arguments: inout Arguments, environment: [String: String]) throws {
        let dryRun = arguments.flag("dry-run"), wait = arguments.flag("wait"), json = arguments.flag("json")
        var body: [String: Any] = [:]
        for (flag, key) in [("from-offset", "from_offset"), ("to-offset", "to_offset")] {
            guard let text = arguments.value(flag) else { continue }
            guard let value = Int64(text) else { throw UsageError("--\(flag) must be a whole number") }
            body[key] = value
        }
        for (flag, key) in [("since", "since"), ("until", "until"), ("case", "case_id"), ("subscriber", "subscriber_id"), ("channel", "channel_id")] {
            if let value = arguments.value(flag) { body[key] = value }
        }
        for (flag, key) in [("alert", "alert_ids"), ("country", "countries"), ("severity", "severities"), ("threat", "threats")] {
            let values = arguments.all(flag).flatMap { $0.split(separator: ",").map(String.init) }
            if !values.isEmpty { body[key] = values }
        }
        if dryRun { body["dry_run"] = true }
        let client = try APIClient(environment: environment, url: arguments.value("url"), token: arguments.value("token"))
        try arguments.finish()
        let (status, answer) = try client.send("POST", "/v1/replays", body: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]))
        guard status == 200 || status == 202 else { throw ClientError(description: APIClient.explain(status, answer)) }
        if dryRun {
            if json { print(String(decoding: answer, as: UTF8.self)); return }
            struct Plan: Decodable {
                struct Item: Decodable { let delivery_id: String; let alert_id: String; let subscriber_id: String; let channel_id: String; let channel_type: String }
                let scanned: Int; let alerts: Int; let deliveries: Int; let listed: [Item]; let truncated: Bool
            }
            let plan = try JSONDecoder().decode(Plan.self, from: answer)
            for item in plan.listed { print([item.delivery_id, item.alert_id, item.subscriber_id, item.channel_id, item.channel_type].joined(separator: "\t")) }
            FileHandle.standardError.write(Data("dry run: \(plan.alerts) of \(plan.scanned) alerts scanned would go out as \(plan.deliveries) deliveries\(plan.truncated ? " (list truncated)" : "")\n".utf8))
            return
        }
        struct Progress: Decodable { let id: String; let state: String; let scanned: Int; let alerts: Int; let deliveries: Int; let error: String? }
        var progress = try JSONDecoder().decode(Progress.self, from: answer)
        var last = answer
        while wait && progress.state == "running" {
            Thread.sleep(forTimeInterval: 0.5)
            let (status, answer) = try client.send("GET", "/v1/replays/\(progress.id)")
            guard status == 200 else { throw ClientError(description: APIClient.explain(status, answer)) }
            progress = try JSONDecoder().decode(Progress.self, from: answer)
            last = answer
            if !json { FileHandle.standardError.write(Data("\(progress.id): \(progress.scanned) scanned, \(progress.alerts) alerts, \(progress.deliveries) deliveries queued\n".utf8)) }
        }
        if json { print(String(decoding: last, as: UTF8.self)); return }
        print("\(progress.id)\t\(progress.state)\t\(progress.alerts) alerts\t\(progress.deliveries) deliveries" + (progress.error.map { "\t\($0)" } ?? ""))
        if progress.state == "failed" { throw ClientError(description: "replay \(progress.id) failed: \(progress.error ?? "")") }
    }
}
