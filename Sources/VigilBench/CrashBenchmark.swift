import Foundation
import Synchronization
import VigilCore
import VigilHTTP
import VigilHTTPClient

/// `vigil bench crash`: the proof of durability (issue 24). The real `vigil serve` — the
/// binary, as child processes on loopback over a scratch data directory; on Kafka a mock
/// cluster and one process per role — delivers to two webhook endpoints on a sink that
/// records each delivery's `webhook-id`, and to a mailbox on `SMTPSink`, while a client files
/// alerts at a steady rate and keeps every `202`. The service (on Kafka a random role) is
/// SIGKILLed at seeded random moments `kills` times and started again, each restart timed to
/// `/readyz` 200. At the end, once deliveries settle (bounded), `CrashTally` counts what was
/// lost, missed and repeated.
public struct CrashBenchmark: Sendable {
    /// SIGKILLs to send.
    public var kills = 100
    /// Alerts filed per second.
    public var rate = 20.0
    /// The seed of the kill schedule (moments and victims).
    public var seed: UInt64 = 1
    /// `""` for a fresh librdkafka mock cluster, a `bootstrap.servers` list for that cluster,
    /// or `nil` for the embedded backend.
    public var kafka: String?
    /// The longest wait, after the last restart, for every owed delivery to arrive.
    public var settleTimeout = 180.0
    /// The shortest and longest pause between a process being ready and its next kill.
    public var pause = 0.2...1.2
    /// The `vigil` binary to run as `vigil serve`.
    public let executable: String

    /// A benchmark of the binary at `executable` with the defaults.
    public init(executable: String) { self.executable = executable }

    static let token = "crash-bench-token-0123456789abcdef"
    /// How long a delivery claimed by a killed process stays leased: short, so that the run
    /// settles in seconds; what is measured is that it is sent again, not when.
    static let leaseSeconds = "2"

    /// The most alerts a run on the mock cluster may file. librdkafka's mock keeps 5 MiB per
    /// partition and drops the oldest records beyond; the bench's alerts (about 1.4 KB each on
    /// `vigil.alerts`, two countries) first went missing from reads at 7,642 alerts, and runs
    /// of about 2,300 were sound. A real cluster (`--log kafka://…`) has no such bound.
    public static let mockClusterAlerts = 3000

    /// Alerts the run is expected to file: `rate` over the kills, their pauses (mean), about
    /// 0.6 s per restart, and the last pause.
    public var estimatedAlerts: Int {
        let seconds = Double(max(1, kills)) * ((pause.lowerBound + pause.upperBound) / 2 + 0.6) + pause.upperBound
        return Int(min(seconds * rate, 1e12))
    }

    /// Runs the benchmark; `progress` gets a line now and then.
    public func run(progress: (String) -> Void = { _ in }) throws -> CrashReport {
        if kafka == "", estimatedAlerts > Self.mockClusterAlerts {
            throw CrashFault.beyondMockRetention(estimated: estimatedAlerts, limit: Self.mockClusterAlerts)
        }
        let scratch = ScratchStore.directory()
        // Kept when the run finds a fault, for the services' logs (serve-N.log per start).
        var keepsScratch = false
        defer { if !keepsScratch { try? FileManager.default.removeItem(atPath: scratch) } }
        let receipts = Receipts()
        let sink = try Self.webhookSink(receipts)
        defer { sink.stop(timeout: 1) }
        let mailbox = try SMTPSink { message in
            for recipient in message.recipients {
                receipts.add(CrashTally.Receipt(alert: message.alertID ?? "?", endpoint: "email \(recipient)", deliveryID: message.deliveryID ?? "?"))
            }
        }
        defer { mailbox.stop() }
        let cluster = try kafka.map { try BenchCluster(address: $0) }
        defer { cluster?.release() }

        var environment = [
            "VIGIL_BOOTSTRAP_TOKEN": Self.token, "VIGIL_ALLOW_PRIVATE_WEBHOOKS": "true",
            "VIGIL_SMTP_URL": "smtp://127.0.0.1:\(mailbox.port)", "VIGIL_SMTP_FROM": "Vigil <alerts@vigil.test>",
            "VIGIL_LEASE_SECONDS": Self.leaseSeconds, "VIGIL_RATE_LIMIT_PER_SECOND": "100000", "VIGIL_RATE_LIMIT_BURST": "100000",
        ]
        let processes: [ServeProcess]
        if let cluster {
            environment["VIGIL_LOG"] = cluster.logSetting
            // Every process of a deployment shares the master key.
            var generator = SystemRandomNumberGenerator()
            environment["VIGIL_MASTER_KEY"] = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
            processes = try ["ingest", "router", "worker"].map { role in
                let dataDir = (scratch as NSString).appendingPathComponent(role)
                try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
                return ServeProcess(executable: executable, role: role, dataDir: dataDir, environment: environment.merging(["VIGIL_ROLE": role]) { $1 })
            }
        } else {
            processes = [ServeProcess(executable: executable, role: "serve", dataDir: scratch, environment: environment)]
        }
        defer { for process in processes { process.kill() } }
        let ingest = processes[0]
        try ingest.start()
        let desks = Self.desks(sinkPort: sink.port)
        try Self.subscribe(desks, on: ingest.port)
        for process in processes.dropFirst() { try process.start() }

        let filer = CrashFiler(rate: rate, token: Self.token, countries: ["BY", "CO"])
        filer.file(to: ingest.port)
        filer.start()
        var acknowledgedSoFar: [(id: String, country: String)] = []
        defer { if acknowledgedSoFar.isEmpty { _ = filer.stop() } }
        var generator = SeededGenerator(seed: seed)
        var restarts: [Double] = [], killsByRole: [String: Int] = [:]
        let started = BenchClock.now()
        for kill in 1...max(1, kills) {
            Thread.sleep(forTimeInterval: Double.random(in: pause, using: &generator))
            let victim = processes[Int.random(in: 0..<processes.count, using: &generator)]
            victim.kill()
            killsByRole[victim.role, default: 0] += 1
            restarts.append(try victim.start())
            if victim === ingest { filer.file(to: ingest.port) }
            if kill % 10 == 0 || kill == kills {
                progress(String(format: "%d of %d kills, %d alerts acknowledged, %.0f s", kill, kills, filer.acknowledgedCount, BenchClock.seconds(since: started)))
            }
        }
        // A last stretch of filing on the restarted service, then the client stops.
        Thread.sleep(forTimeInterval: pause.upperBound)
        acknowledgedSoFar = filer.stop()
        let acknowledged = acknowledgedSoFar
        var owed: [String: Set<String>] = [:]
        for alert in acknowledged { owed[alert.id] = Set(desks.filter { $0.countries.contains(alert.country) }.map(\.endpoint)) }

        progress("\(acknowledged.count) alerts acknowledged; waiting (at most \(Int(settleTimeout)) s) for deliveries to settle")
        let settling = BenchClock.now()
        while CrashTally(expected: owed, readable: Set(owed.keys), receipts: receipts.all).missing > 0, BenchClock.seconds(since: settling) < settleTimeout {
            Thread.sleep(forTimeInterval: 0.5)
        }
        let settleSeconds = BenchClock.seconds(since: settling)
        // Room for a repeat a lease would still cause.
        Thread.sleep(forTimeInterval: Double(Self.leaseSeconds)! + 1)
        progress("reading every acknowledged alert back through the API")
        let readable = try Self.readable(acknowledged.map(\.id), on: ingest.port)
        let tally = CrashTally(expected: owed, readable: readable, receipts: receipts.all)
        keepsScratch = !tally.isSound
        return CrashReport(
            backend: kafka == nil ? "embedded" : "kafka", kills: max(1, kills), seed: seed, rate: rate, pause: pause, killsByRole: killsByRole,
            restartSeconds: restarts, settleSeconds: settleSeconds, refused: filer.refused,
            tally: tally, endpoints: desks.map(\.endpoint), keptDataDir: keepsScratch ? scratch : nil)
    }

    /// A subscriber of the run: one channel, the countries it follows, and the endpoint name
    /// its deliveries are tallied under.
    struct Desk {
        let name: String
        let channel: String
        let countries: [String]
        let endpoint: String
    }

    /// Two webhook endpoints and one mailbox: `BY` alerts owe three deliveries, `CO` alerts one.
    static func desks(sinkPort: Int) -> [Desk] {
        [
            Desk(name: "Crash desk A", channel: #"{"type":"webhook","url":"http://127.0.0.1:\#(sinkPort)/hook/a"}"#, countries: ["BY"], endpoint: "webhook a"),
            Desk(name: "Crash desk B", channel: #"{"type":"webhook","url":"http://127.0.0.1:\#(sinkPort)/hook/b"}"#, countries: ["BY", "CO"], endpoint: "webhook b"),
            Desk(name: "Crash desk C", channel: #"{"type":"email","address":"desk-c@example.org"}"#, countries: ["BY"], endpoint: "email desk-c@example.org"),
        ]
    }

    /// Creates `desks` through `POST /v1/subscribers` on `port`.
    static func subscribe(_ desks: [Desk], on port: Int) throws {
        let client = try BlockingHTTPClient(port: port, timeout: 10)
        for desk in desks {
            let countries = desk.countries.map { "\"\($0)\"" }.joined(separator: ",")
            let body = #"{"name":"\#(desk.name)","kind":"other","organisation":"bench","contact":"bench@example.org","clearance":"public","channels":[\#(desk.channel)],"subscriptions":[{"countries":[\#(countries)],"min_severity":"low"}]}"#
            let response = try client.request("POST", "/v1/subscribers", body: body, headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"])
            guard response.status == 201 else { throw BenchmarkFailure(description: "creating \(desk.name) answered \(response.status): \(response.text.prefix(300))") }
        }
    }

    /// The webhook sink: `POST /hook/{name}` answered `204`, each recorded with the alert in
    /// its body and its `webhook-id`.
    static func webhookSink(_ receipts: Receipts) throws -> HTTPServer {
        var router = HTTPRouter()
        router.add("POST", "/hook/{name}") { request, responder in
            responder.send(HTTPResponse(status: 204))
            var alert = "?"
            if case .object(let payload)? = try? JSONParser.parse(request.body), case .object(let data)? = payload["data"], case .string(let id)? = data["id"] {
                alert = SMTPSink.token(id) ?? "?"
            }
            let name = SMTPSink.token(request.pathParameters["name"]) ?? "?"
            receipts.add(CrashTally.Receipt(alert: alert, endpoint: "webhook \(name)", deliveryID: SMTPSink.token(request.headers["webhook-id"]) ?? "?"))
        }
        let server = try HTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0), runsInline: { _ in true }, handler: router.handler)
        server.start()
        return server
    }

    /// Which of `ids` `GET /v1/alerts/{id}` on `port` answers `200`; a dropped connection is
    /// tried again (three times), any other answer counts the alert as not readable.
    static func readable(_ ids: [String], on port: Int) throws -> Set<String> {
        var found: Set<String> = []
        var client = try BlockingHTTPClient(port: port, timeout: 10)
        let headers = ["Authorization": "Bearer \(token)"]
        for id in ids {
            for attempt in 1...3 {
                do {
                    if try client.request("GET", "/v1/alerts/\(id)", headers: headers).status == 200 { found.insert(id) }
                    break
                } catch {
                    guard attempt < 3 else { throw BenchmarkFailure(description: "reading alert \(id) back failed: \(error)") }
                    client = try BlockingHTTPClient(port: port, timeout: 10)
                }
            }
        }
        return found
    }

    /// Every delivery the receivers saw, from their threads.
    final class Receipts: Sendable {
        private let list = Mutex<[CrashTally.Receipt]>([])
        func add(_ receipt: CrashTally.Receipt) { list.withLock { $0.append(receipt) } }
        var all: [CrashTally.Receipt] { list.withLock { $0 } }
    }

    /// The kill schedule's generator: the same schedule from `seed` on every machine.
    typealias SeededGenerator = VigilCore.SeededGenerator
}
