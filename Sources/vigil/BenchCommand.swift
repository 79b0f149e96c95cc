import Foundation
import VigilBench

/// `vigil bench`: measured scenarios with baselines from the same run.
enum BenchCommand: Command {
    static let path = ["bench"]
    static let summary = "measure Vigil on this machine, with baselines from the same run"
    static let switches: Set<String> = ["json", "help"]
    static let help = """
        usage: vigil bench ingest [--clients 32] [--seconds 3] [--runs 5] [--log kafka[://HOST:PORT,…]] [--json]
               vigil bench route [--runs 3] [--subscribers 10000] [--alerts 20000]
               vigil bench latency [--runs 3] [--alerts 1000000] [--subscribers 10000] [--seconds 5] [--keep-data-dir DIR]
               vigil bench fanout [--runs 3] [--fanout 200,1000,10000] [--log kafka[://HOST:PORT,…]]
               vigil bench deliver [--runs 3] [--fanout 200,1000] [--log kafka[://HOST:PORT,…]]
               vigil bench replay [--runs 3] [--alerts 100000] [--subscribers 10000] [--log kafka[://HOST:PORT,…]]
               vigil bench throughput [--runs 3] [--alerts 20000] [--log kafka[://HOST:PORT,…]]
               vigil bench loaded [--runs 3] [--alerts 20000] [--seconds 10]
               vigil bench crash [--kills 100] [--rate 20] [--seed 1] [--pause 0.2-1.2] [--log kafka[://HOST:PORT,…]] [--json]

        ingest: POST /v1/alerts, one alert per request, from N keep-alive clients against a real
        service on a loopback port, next to three baselines measured in the same run: SQLite alone
        (one durable row per commit), the embedded log alone with N appenders (group commit, no
        HTTP), and the HTTP server answering a constant. Scenarios run interleaved, RUNS times each;
        the table shows medians and each rate as a ratio to SQLite alone.
        route: 10,000 subscribers over all countries; matching through the per-country index next to
        brute force, the router draining a 20,000-alert backlog into SQLite, and the time from a
        durable append to its deliveries being recorded at 200 alerts/s.
        deliver: the whole pipeline to a webhook sink on loopback; 202 → webhook received at 200
        alerts/s (p50/p99), and one alert to 200 and 1,000 endpoints (202 → last).
        latency: 202 → webhook at 200/s with --alerts (1,000,000) in the log and --subscribers (10,000),
        next to the same on an empty log; and the process's resident memory. --keep-data-dir keeps the
        filled store, so `vigil serve --data-dir DIR` can show the service's own memory.
        fanout: one alert to --fanout endpoints (200,1000,10000), 202 → last receipt, connections warm;
        three alerts timed per run, with the process's CPU per delivery (service and sink).
        throughput: --alerts (20,000) alerts to one webhook endpoint, 100 per POST over 4 connections,
        first POST → last receipt.
        loaded (Alertmanager only): --alerts (20,000) filed and delivered as throughput files them,
        then each side's resident memory, then alert → webhook at 50/s for --seconds (10) on top.
        Alertmanager baseline: when prometheus-alertmanager is installed (deploy/setup.sh bench),
        ingest, latency, fanout and throughput also start a fresh Alertmanager and a fresh Vigil one
        after the other, RUNS times, on one webhook sink in a process of its own, and print each
        side's median and Vigil's as a multiple of Alertmanager's: alerts accepted per second
        (Alertmanager 100 per POST over 4 connections; Vigil 1 per POST over --clients, and 100 per
        POST /v1/alerts/batch over 4), alert → webhook at 50/s on a fresh service (p50/p99, with
        the disk's fsync p99), one alert to 200 endpoints (warm), and the throughput above.
        replay: alerts re-routed from a log of --alerts (100,000) with --subscribers (10,000): dry run
        and queued, next to reading the log alone.
        crash: the proof of durability. Starts this binary as `vigil serve` (on --log kafka: a mock cluster
        and one process per role, ingest, router and worker) with two webhook endpoints on a loopback
        sink and a mailbox on a loopback SMTP receiver, files alerts at --rate (20/s) keeping every
        202, and SIGKILLs the service (on Kafka a random role) --kills (100) times at moments drawn
        from --seed, --pause seconds (0.2-1.2) after the last restart was ready, starting it again
        each time (on Kafka a restarted router or worker is ready seconds before its group gives it
        partitions: a longer --pause, say 5-15, kills it while it works). Then it waits (at most 180 s) for deliveries to
        settle and prints alerts acknowledged and lost (a 202'd alert the API no longer returns),
        deliveries expected, made and missing, duplicates and whether each kept its first delivery
        id, and restart → /readyz 200 (longest, median). Exits 1 if an alert was lost, a delivery is
        missing or misrouted, or a duplicate came under a second id. Delivery leases are 2 s. On the
        in-process mock cluster (--log kafka) a run must stay under 3,000 alerts (--rate × its length):
        the mock keeps 5 MiB per partition and drops the oldest records beyond.
        --log kafka runs ingest, deliver, fanout and replay on the Kafka backend against a fresh librdkafka
        mock cluster per run (--log kafka://HOST:PORT uses that cluster); ingest then compares
        POST /v1/alerts on Kafka with librdkafka's raw produce rate to the same cluster, the Kafka
        log alone, and POST /v1/alerts on the embedded backend, all in the same run.
        Build with -c release.
        """

    static func run(_ arguments: inout Arguments, environment: [String: String]) throws {
        guard let scenario = arguments.positional.first else {
            throw UsageError("name a scenario: ingest, latency, fanout, throughput, loaded, route, deliver, replay or crash")
        }
        if scenario == "sink" {
            // The comparison's webhook sink, started by the bench itself in a process of its own.
            try arguments.finish()
            try WebhookSinkServer.serveOverPipes()
            return
        }
        if scenario == "crash" {
            try crash(&arguments)
            return
        }
        let runs = try number(arguments.value("runs"), "runs")
        let clients = try number(arguments.value("clients"), "clients"), seconds = try arguments.value("seconds").map { text throws(UsageError) -> Double in
            guard let value = Double(text), value > 0 else { throw UsageError("--seconds must be positive") }
            return value
        }
        let subscribers = try number(arguments.value("subscribers"), "subscribers"), alerts = try number(arguments.value("alerts"), "alerts")
        let fanout = arguments.value("fanout").map { $0.split(separator: ",").compactMap { Int($0) } }
        let json = arguments.flag("json")
        let keepDataDir = arguments.value("keep-data-dir")
        let kafka = try arguments.value("log").map { text throws(UsageError) -> String in
            if text == "kafka" { return "" }
            guard text.hasPrefix("kafka://"), text.count > 8 else { throw UsageError("--log must be kafka or kafka://HOST:PORT[,HOST:PORT…]") }
            return String(text.dropFirst(8))
        }
        if kafka != nil && !["ingest", "deliver", "fanout", "replay", "throughput"].contains(scenario) {
            throw UsageError("--log kafka applies to ingest, deliver, fanout, throughput and replay")
        }
        try arguments.finish()
        let progress: (String) -> Void = { FileHandle.standardError.write(Data("bench: \($0)\n".utf8)) }
        let title: String
        var rows: [BenchmarkRow]
        // Alertmanager beside Vigil, on a sink run as this same binary's `vigil bench sink`.
        var comparison = AlertmanagerComparison(
            alertmanager: AlertmanagerComparison.locateAlertmanager(),
            sinkExecutable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path)
        comparison.runs = runs ?? comparison.runs
        comparison.kafka = kafka
        var compared: ((AlertmanagerComparison) throws -> [BenchmarkRow])?
        switch scenario {
        case "ingest":
            var b = IngestBenchmark()
            b.clients = clients ?? b.clients
            b.seconds = seconds ?? b.seconds
            b.runs = runs ?? b.runs
            b.kafka = kafka
            title = "vigil bench ingest\(kafka == nil ? "" : " on Kafka") — \(b.clients) keep-alive clients, \(b.runs) runs × \(b.seconds) s"
            rows = try b.run(progress: progress)
            comparison.clients = b.clients
            comparison.ingestSeconds = b.seconds
            compared = { try $0.ingest(progress: progress) }
        case "route":
            var b = RouteBenchmark()
            b.runs = runs ?? b.runs
            b.subscribers = subscribers ?? b.subscribers
            b.alerts = alerts ?? b.alerts
            title = "vigil bench route — \(b.subscribers) subscribers over all countries, \(b.runs) runs"
            rows = try b.run(progress: progress)
        case "deliver":
            var b = DeliveryBenchmark()
            b.runs = runs ?? b.runs
            b.fanouts = fanout ?? b.fanouts
            b.kafka = kafka
            title = "vigil bench deliver\(kafka == nil ? "" : " on Kafka") — ingest, router, workers, signed webhooks to a loopback sink, \(b.runs) runs"
            rows = try b.run(progress: progress)
        case "fanout":
            var b = DeliveryBenchmark()
            b.measuresLatency = false
            b.runs = runs ?? b.runs
            b.fanouts = fanout ?? [200, 1000, 10_000]
            b.kafka = kafka
            title = "vigil bench fanout\(kafka == nil ? "" : " on Kafka") — one alert to N webhook endpoints on a loopback sink, \(b.runs) runs × \(b.fanoutsPerRun) alerts"
            rows = try b.run(progress: progress)
            compared = { try $0.fanout(progress: progress) }
        case "latency":
            var b = LatencyBenchmark()
            b.runs = runs ?? b.runs
            b.alerts = alerts ?? b.alerts
            b.subscribers = subscribers ?? b.subscribers
            b.seconds = seconds ?? b.seconds
            b.keepDataDir = keepDataDir
            title = "vigil bench latency — 202 → webhook with \(b.alerts) alerts in the log and \(b.subscribers) subscribers, \(b.runs) runs"
            rows = try b.run(progress: progress)
            comparison.latencySeconds = seconds ?? comparison.latencySeconds
            compared = { try $0.latency(progress: progress) }
        case "throughput":
            comparison.alerts = alerts ?? comparison.alerts
            title = "vigil bench throughput\(kafka == nil ? "" : " on Kafka") — \(comparison.alerts) alerts to one webhook endpoint, \(comparison.runs) runs"
            rows = []
            compared = { try $0.throughput(progress: progress) }
        case "loaded":
            comparison.alerts = alerts ?? comparison.alerts
            comparison.latencySeconds = seconds ?? comparison.latencySeconds
            title = "vigil bench loaded — \(comparison.alerts) alerts filed, then alert → webhook at \(Int(comparison.rate))/s, \(comparison.runs) runs"
            rows = []
            compared = { try $0.loaded(progress: progress) }
        case "replay":
            var b = ReplayBenchmark()
            b.runs = runs ?? b.runs
            b.subscribers = subscribers ?? b.subscribers
            b.alerts = alerts ?? b.alerts
            b.kafka = kafka
            if kafka != nil { b.queuedAlerts = 2000 }  // ~78 delivery records each, written to the topics
            title = "vigil bench replay\(kafka == nil ? "" : " on Kafka") — \(b.alerts) alerts, \(b.subscribers) subscribers, \(b.runs) runs"
            rows = try b.run(progress: progress)
        default:
            throw UsageError("unknown scenario '\(scenario)'; this build has: ingest, latency, fanout, throughput, loaded, route, deliver, replay, crash")
        }
        var skipped: String?
        if let compared {
            if comparison.alertmanager == nil { skipped = AlertmanagerComparison.skipped }
            if comparison.alertmanager != nil || scenario == "throughput" {
                if !rows.isEmpty && !json { rows.append(BenchmarkRow(name: "— beside Alertmanager, same run, same sink —")) }
                rows += try compared(comparison)
            }
        }
        defer {
            // One line, after the table (on standard error with --json, which keeps standard output JSON).
            if let skipped {
                if json { FileHandle.standardError.write(Data((skipped + "\n").utf8)) } else { print(skipped) }
            }
        }
        if json {
            struct Line: Encodable { let scenario: String; let per_second: Double?; let p50_ms: Double?; let p99_ms: Double?; let note: String }
            for row in rows { try printJSON(Line(scenario: row.name, per_second: row.rate, p50_ms: row.p50, p99_ms: row.p99, note: row.note)) }
            return
        }
        print("\(title); medians; \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print("scenario".padding(toLength: 46, withPad: " ", startingAt: 0) + "per second".leftPadded(12) + "p50 ms".leftPadded(10) + "p99 ms".leftPadded(10) + "  note")
        for row in rows {
            print(row.name.padding(toLength: 46, withPad: " ", startingAt: 0) + (row.rate.map { String(format: "%.0f", $0) } ?? "–").leftPadded(12)
                + (row.p50.map { String(format: "%.2f", $0) } ?? "–").leftPadded(10) + (row.p99.map { String(format: "%.2f", $0) } ?? "–").leftPadded(10)
                + "  " + row.note)
        }
    }

    /// `vigil bench crash`: runs `CrashBenchmark`, prints its report, and fails when it found a fault.
    private static func crash(_ arguments: inout Arguments) throws {
        var b = CrashBenchmark(executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path)
        b.kills = try number(arguments.value("kills"), "kills") ?? b.kills
        if let text = arguments.value("rate") {
            guard let rate = Double(text), rate.isFinite, rate > 0, rate <= 1000 else { throw UsageError("--rate must be alerts per second, above 0 and at most 1000") }
            b.rate = rate
        }
        if let text = arguments.value("seed") {
            guard let seed = UInt64(text) else { throw UsageError("--seed must be a whole number from 0 to \(UInt64.max)") }
            b.seed = seed
        }
        if let text = arguments.value("pause") {
            let bounds = text.split(separator: "-", maxSplits: 1).compactMap { Double($0) }
            guard bounds.count == 2, bounds[0].isFinite, bounds[1].isFinite, bounds[0] >= 0.01, bounds[0] <= bounds[1], bounds[1] <= 600 else {
                throw UsageError("--pause must be MIN-MAX seconds, 0.01 ≤ MIN ≤ MAX ≤ 600, such as 0.2-1.2")
            }
            b.pause = bounds[0]...bounds[1]
        }
        b.kafka = try arguments.value("log").map { text throws(UsageError) -> String in
            if text == "kafka" { return "" }
            guard text.hasPrefix("kafka://"), text.count > 8 else { throw UsageError("--log must be kafka or kafka://HOST:PORT[,HOST:PORT…]") }
            return String(text.dropFirst(8))
        }
        let json = arguments.flag("json")
        try arguments.finish()
        let report = try b.run { FileHandle.standardError.write(Data("bench: \($0)\n".utf8)) }
        if json { try printJSON(report.json) } else { print(report.text) }
        guard report.tally.isSound else { throw CrashFault.unsound(report.tally, keptDataDir: report.keptDataDir) }
    }

    private static func number(_ text: String?, _ flag: String) throws(UsageError) -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), value > 0 else { throw UsageError("--\(flag) must be a positive whole number") }
        return value
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
