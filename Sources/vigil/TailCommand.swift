import Foundation
import VigilCore

/// `vigil tail`: prints alerts as JSON lines as they are filed.
enum TailCommand: Command {
    static let path = ["tail"]
    static let summary = "print new alerts as JSON lines as they arrive"
    static let switches: Set<String> = ["from-beginning", "json", "help"]
    static let help = """
        usage: vigil tail [--country CC] [--from-beginning | --after CURSOR] [--count N]

        Prints each alert (redacted to your token's clearance) as one JSON line, waiting for new ones
        with a long poll, never a busy loop. Starts at the end of the log unless --from-beginning or
        --after is given (a next_cursor of GET /v1/alerts, or one offset); stops after N alerts with
        --count. On Kafka it follows every partition of the log. Reads VIGIL_URL and VIGIL_TOKEN.
        """

    static func run(_ arguments: inout Arguments, environment: [String: String]) throws {
        let country = arguments.value("country")
        var after = arguments.flag("from-beginning") ? "0" : (arguments.value("after") ?? "end")
        let count = try arguments.value("count").map { text throws(UsageError) -> Int in
            guard let value = Int(text), value > 0 else { throw UsageError("--count must be a positive number") }
            return value
        }
        _ = arguments.flag("json")  // output is always JSON lines
        let client = try APIClient(environment: environment, url: arguments.value("url"), token: arguments.value("token"))
        try arguments.finish()
        if let country, CountryCode(country) == nil { throw UsageError("--country \(country) is not an ISO 3166-1 alpha-2 code") }

        struct Page: Decodable {
            let alerts: [JSONValue]
            let nextCursor: String
            enum CodingKeys: String, CodingKey { case alerts; case nextCursor = "next_cursor" }
        }
        var printed = 0
        let encoder = VigilJSON.encoder()
        while count.map({ printed < $0 }) ?? true {
            var path = "/v1/alerts?wait=25&limit=100&after=\(after)"
            if let country { path += "&country=\(country)" }
            let (status, body) = try client.send("GET", path, timeout: 40)
            guard status == 200 else { throw ClientError(description: APIClient.explain(status, body)) }
            let page = try JSONDecoder().decode(Page.self, from: body)
            for alert in page.alerts {
                print(String(decoding: try encoder.encode(alert), as: UTF8.self))
                printed += 1
                if let count, printed >= count { break }
            }
            fflush(nil)
            // The service's own cursor, passed back only if it still reads as one.
            guard AlertCursor(Substring(page.nextCursor)) != nil else { throw ClientError(description: "the service answered a cursor that is not one") }
            after = page.nextCursor
        }
    }
}
