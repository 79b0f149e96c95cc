import Foundation
import VigilServer

/// `vigil bench`: measured scenarios with baselines from the same run.
enum BenchCommand: Command {
    static let path = ["bench"]
    static let summary = "measure Vigil on this machine (ingest), with baselines from the same run"
    static let switches: Set<String> = ["json", "help"]
    static let help = """
        usage: vigil bench ingest [--clients 32] [--seconds 3] [--runs 5] [--json]
               vigil bench route [--runs 3] [--subscribers 10000] [--alerts 20000]
               vigil bench deliver [--runs 3] [--fanout 200,1000]

        ingest: POST /v1/alerts, one alert per request, from N keep-alive clients against a real
        service on a loopback port, next to three baselines measured in the same run: SQLite alone
        (one durable row per commit), the embedded log alone with N appenders (group commit, no
        HTTP), and the HTTP server answering a constant. Scenarios run interleaved, RUNS times each;
        the table shows medians and each rate as a ratio to SQLite alone.
        route: 10,000 subscribers over all countries; matching through the per-country index next to
        brute force, the router draining a 20,000-alert backlog into SQLite, and the time from a
        durable append to its deliveries being recorded at 200 alerts/s.
        deliver: the whole pipeline to a webhook sink on loopback; 202 → webhook received at 200
        alerts/s (p50/p99), and one alert to 200 and 1,000 endpoints (202 → last). Build with -c release.
        """

    static func run(_ arguments: inout Arguments, environment: [String: String]) throws {
        guard let scenario = arguments.positional.first else { throw UsageError("name a scenario: ingest") }
        var benchmark = IngestBenchmark()
        if let v = arguments.value("clients") { guard let n = Int(v), n > 0 else { throw UsageError("--clients must be positive") }; benchmark.clients = n }
        if let v = arguments.value("seconds") { guard let n = Double(v), n > 0 else { throw UsageError("--seconds must be positive") }; benchmark.seconds = n }
        let runsText = arguments.value("runs")
        let subscribersText = arguments.value("subscribers"), alertsText = arguments.value("alerts"), fanoutText = arguments.value("fanout")
        if let v = runsText { guard let n = Int(v), n > 0 else { throw UsageError("--runs must be positive") }; benchmark.runs = n }
        let json = arguments.flag("json")
        try arguments.finish()
        if scenario == "deliver" {
            var deliver = DeliveryBenchmark()
            if let n = Int(runsText ?? "") { deliver.runs = n }
            if let only = fanoutText { deliver.fanouts = only.split(separator: ",").compactMap { Int($0) } }
            let rows = try deliver.run { FileHandle.standardError.write(Data("bench: \($0)\n".utf8)) }
            print("vigil bench deliver — ingest, router, workers and signed webhooks to a loopback sink, \(deliver.runs) runs, medians; \(ProcessInfo.processInfo.activeProcessorCount) cores")
            print("scenario".padding(toLength: 44, withPad: " ", startingAt: 0) + "p50 ms".leftPadded(10) + "p99 ms".leftPadded(10) + "  note")
            for row in rows {
                print(row.name.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: "%.2f", row.p50).leftPadded(10) + String(format: "%.2f", row.p99).leftPadded(10) + "  " + row.note)
            }
            return
        }
        if scenario == "route" {
            var route = RouteBenchmark()
            if let n = Int(runsText ?? "") { route.runs = n }
            if let n = Int(subscribersText ?? "") { route.subscribers = n }
            if let n = Int(alertsText ?? "") { route.alerts = n }
            let rows = try route.run { FileHandle.standardError.write(Data("bench: \($0)\n".utf8)) }
            let baseline = rows.first?.rate ?? 1
            print("vigil bench route — \(route.subscribers) subscribers over all countries, \(route.runs) runs, medians; \(ProcessInfo.processInfo.activeProcessorCount) cores")
            print("scenario".padding(toLength: 44, withPad: " ", startingAt: 0) + "alerts/s".leftPadded(12) + "p50 ms".leftPadded(10) + "p99 ms".leftPadded(10) + "× brute".leftPadded(10) + "  note")
            for row in rows {
                print(row.name.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: "%.0f", row.rate).leftPadded(12)
                    + (row.p50.map { String(format: "%.2f", $0) } ?? "–").leftPadded(10) + (row.p99.map { String(format: "%.2f", $0) } ?? "–").leftPadded(10)
                    + (row.p50 == nil ? String(format: "%.1f", row.rate / baseline) : "–").leftPadded(10) + "  " + row.note)
            }
            return
        }
        guard scenario == "ingest" else { throw UsageError("unknown scenario '\(scenario)'; this build has: ingest, route, deliver") }
        let rows = try benchmark.run { FileHandle.standardError.write(Data("bench: \($0)\n".utf8)) }
        let baseline = rows.first?.rate ?? 1
        if json {
            struct Line: Encodable { let scenario: String; let perSecond: Double; let p50Ms: Double?; let p99Ms: Double?; let ratio: Double }
            for row in rows { try printJSON(Line(scenario: row.name, perSecond: row.rate, p50Ms: row.p50, p99Ms: row.p99, ratio: row.rate / baseline)) }
            return
        }
        print("vigil bench ingest — \(benchmark.clients) clients, \(benchmark.runs) runs × \(benchmark.seconds) s, medians; \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print("scenario".padding(toLength: 36, withPad: " ", startingAt: 0) + "per second".leftPadded(12) + "p50 ms".leftPadded(10) + "p99 ms".leftPadded(10) + "× sqlite".leftPadded(10))
        for row in rows {
            print(row.name.padding(toLength: 36, withPad: " ", startingAt: 0) + String(format: "%.0f", row.rate).leftPadded(12)
                + (row.p50.map { String(format: "%.2f", $0) } ?? "–").leftPadded(10)
                + (row.p99.map { String(format: "%.2f", $0) } ?? "–").leftPadded(10)
                + String(format: "%.1f", row.rate / baseline).leftPadded(10))
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
