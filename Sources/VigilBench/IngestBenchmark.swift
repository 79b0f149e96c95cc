import Dispatch
import Foundation
import Synchronization
import VigilCore
import VigilHTTP
import VigilHTTPClient
import VigilKafka
import VigilServer
import VigilStore
import VigilConcurrency

/// `vigil bench ingest`: `POST /v1/alerts`, one alert per request, from N keep-alive clients
/// against a real service on loopback, next to baselines measured in the same run:
/// SQLite's own durable append rate (one commit per row), the embedded log alone with N
/// concurrent appenders (group commit, no HTTP), and the HTTP server answering a constant.
public struct IngestBenchmark: Sendable {
    /// Concurrent keep-alive clients.
    public var clients = 32
    /// Seconds per measured run.
    public var seconds = 3.0
    /// Measured runs per scenario; the table reports medians.
    public var runs = 5
    /// On the Kafka backend: `""` for a fresh mock cluster per run, or a `bootstrap.servers`
    /// list; `nil` measures the embedded backend.
    public var kafka: String?

    /// A benchmark with the defaults.
    public init() {}

    static let token = "bench-token-0123456789abcdef"

    /// Runs every scenario `runs` times, interleaved so drift hits all alike; returns the rows.
    public func run(progress: (String) -> Void = { _ in }) throws -> [BenchmarkRow] {
        var samples: [String: [LatencySample]] = [:]
        let order: [String]
        let scenarios: [() throws -> LatencySample]
        if let kafka {
            order = [
                "librdkafka: raw produce, \(clients) producers", "kafka log, \(clients) appenders", "POST /v1/alerts, kafka",
                "POST /v1/alerts, embedded",
            ]
            scenarios = [
                { try withCluster(kafka) { try rawProduce($0) } }, { try withCluster(kafka) { try kafkaLogOnly($0) } },
                { try withCluster(kafka) { try ingest(log: $0.logSetting) } }, { try ingest(log: "embedded") },
            ]
        } else {
            order = ["sqlite: one row per commit", "embedded log, \(clients) appenders", "http: constant 202", "POST /v1/alerts"]
            scenarios = [sqliteBaseline, logOnly, constantHTTP, { try ingest(log: "embedded") }]
        }
        for round in 1...runs {
            progress("run \(round) of \(runs)")
            for (name, scenario) in zip(order, scenarios) { samples[name, default: []].append(try scenario()) }
        }
        let baseline = median(samples[order[0]]!.map(\.rate))
        return order.map { name in
            let runs = samples[name]!
            let rate = median(runs.map(\.rate))
            return BenchmarkRow(
                name: name, rate: rate,
                p50: runs.first?.latencies.isEmpty == false ? median(runs.compactMap { $0.percentile(50) }) : nil,
                p99: runs.first?.latencies.isEmpty == false ? median(runs.compactMap { $0.percentile(99) }) : nil,
                note: name == order[0] ? "baseline" : String(format: "%.1f× the baseline", rate / baseline))
        }
    }

    func sqliteBaseline() throws -> LatencySample {
        let dir = ScratchStore.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let started = DispatchTime.now()
        let count = try SQLiteBaseline.appendOneByOne(path: dir + "/baseline.sqlite", seconds: seconds)
        return LatencySample(count: count, seconds: elapsed(since: started))
    }

    func logOnly() throws -> LatencySample {
        let store = try ScratchStore()
        defer { store.remove() }
        return try appendConcurrently(to: store.log)
    }

    func constantHTTP() throws -> LatencySample {
        var router = HTTPRouter()
        let answer = HTTPResponse(status: 202, contentType: "application/json", text: #"{"id":"01M825CFCJ7PXX86Y361FVVH2B","offset":1,"status":"accepted"}"#)
        router.add("POST", "/v1/alerts") { _, responder in responder.send(answer) }
        // The HTTP exchange alone: the constant handler waits for nothing, so it runs inline.
        let server = try HTTPServer(
            configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0), runsInline: { _ in true }, handler: router.handler)
        server.start()
        defer { server.stop() }
        return try load(port: server.port)
    }

    func ingest(log: String) throws -> LatencySample {
        var configuration = try VigilConfiguration.forBenchmark()
        configuration.log = try LogBackend(parsing: log)
        configuration.listen = "127.0.0.1:0"
        configuration.dataDir = ScratchStore.directory()
        configuration.bootstrapToken = Self.token
        // The load generator files with one token; per-token rate limits are not what is measured.
        configuration.rateLimitPerSecond = 1e9
        configuration.rateLimitBurst = 1e9
        defer { try? FileManager.default.removeItem(atPath: configuration.dataDir) }
        let service = try VigilService(configuration: configuration, logging: false)
        let port = try service.start()
        defer { service.stop() }
        return try load(port: port)
    }

    /// `body` with a cluster made for this run (a fresh mock unless `address` names one).
    private func withCluster(_ address: String, _ body: (BenchCluster) throws -> LatencySample) throws -> LatencySample {
        let cluster = try BenchCluster(address: address)
        defer { cluster.release() }
        return try body(cluster)
    }

    /// librdkafka alone: `clients` threads each producing a record the size of a sealed alert
    /// to `vigil.alerts` and waiting for its delivery report, as the log does.
    func rawProduce(_ cluster: BenchCluster) throws -> LatencySample {
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers)
        let value = Array(repeating: UInt8(ascii: "x"), count: 1300), key = Array("BY".utf8)
        let counter = Counter()
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        let started = DispatchTime.now()
        onThreads(clients) { _ in
            while DispatchTime.now().uptimeNanoseconds < deadline {
                guard (try? producer.produceAndWait(topic: KafkaAlertLog.topic, key: key, value: value)) != nil else { return counter.fail() }
                counter.add(1, latency: nil)
            }
        }
        return LatencySample(count: counter.count, seconds: elapsed(since: started))
    }

    /// The Kafka log alone with `clients` concurrent appenders (sealing, key, record, no HTTP).
    func kafkaLogOnly(_ cluster: BenchCluster) throws -> LatencySample {
        let key = MasterKey.generate()
        let log = try KafkaAlertLog(
            bootstrapServers: cluster.bootstrapServers, signer: KafkaRecordSigner(masterKey: key), cipher: key.identityCipher, macKey: key.derivedKey("bench"))
        defer { log.close() }
        return try appendConcurrently(to: log)
    }

    /// `clients` threads appending the sample alert to `log` back to back for `seconds`.
    private func appendConcurrently(to log: any AlertLog) throws -> LatencySample {
        let alert = try Self.sampleAlert()
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        let counter = Counter()
        let started = DispatchTime.now()
        onThreads(clients) { _ in
            // This client's own thread waits for each append, as a synchronous client would.
            while DispatchTime.now().uptimeNanoseconds < deadline {
                var copy = alert
                copy.id = ULID().description
                copy.caseID = copy.id
                BlockingPool.wait { (appended: @escaping @Sendable () -> Void) in log.append(copy, idempotency: nil) { _ in appended() } }
                counter.add(1, latency: nil)
            }
        }
        return LatencySample(count: counter.count, seconds: elapsed(since: started))
    }

    /// `clients` threads, each on its own keep-alive connection, posting the sample alert
    /// back to back for `seconds`.
    func load(port: Int) throws -> LatencySample {
        let body = Self.sampleBody
        let request = Array(BlockingHTTPClient.format("POST", "/v1/alerts", body: body, headers: [
            "Authorization": "Bearer \(Self.token)", "Content-Type": "application/json",
        ]).utf8)
        let counter = Counter()
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        let started = DispatchTime.now()
        onThreads(clients) { _ in
            guard let client = try? BlockingHTTPClient(port: port, timeout: 10) else { counter.fail(); return }
            var latencies: [UInt64] = []
            latencies.reserveCapacity(100_000)
            while DispatchTime.now().uptimeNanoseconds < deadline {
                let t0 = DispatchTime.now().uptimeNanoseconds
                guard (try? client.send(request)) != nil, let response = try? client.readResponse(), response.status == 202 else {
                    counter.fail()
                    return
                }
                latencies.append(DispatchTime.now().uptimeNanoseconds - t0)
            }
            counter.merge(latencies)
        }
        return LatencySample(count: counter.count, seconds: elapsed(since: started), latencies: counter.latencies)
    }

    /// A realistic alert body of about 600 bytes.
    static let sampleBody = """
        {"country":"BY","region":"Minsk","threat":"arrest","severity":"critical","urgency":"immediate",\
        "certainty":"observed","confidentiality":"restricted","defender":{"name":"Bench Defender",\
        "organisation":"Independent Trade Union","role":"chair","group":"trade_unionist"},\
        "summary":"A trade union leader was detained at home by plain-clothes officers late last night; the union has had no contact since.",\
        "tags":["trade-union"],"links":["https://example.org/case/1"]}
        """

    static func sampleAlert() throws -> Alert {
        let data = Array(sampleBody.utf8)
        let now = Timestamp.now()
        return try AlertSubmission(json: data).validate(id: ULID(time: now), receivedAt: now, organisation: "bench")
    }

    private func elapsed(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}

/// Counts operations and gathers latencies from many threads.
final class Counter: Sendable {
    private struct State {
        var count = 0
        var failures = 0
        var latencies: [UInt64] = []
    }

    private let state = Mutex(State())

    /// Operations counted so far.
    var count: Int { state.withLock { $0.count } }
    /// Operations that failed.
    var failures: Int { state.withLock { $0.failures } }
    /// Every latency gathered, in nanoseconds.
    var latencies: [UInt64] { state.withLock { $0.latencies } }

    /// Counts `n` operations, with one latency when measured.
    func add(_ n: Int, latency: UInt64?) {
        state.withLock {
            $0.count += n
            if let latency { $0.latencies.append(latency) }
        }
    }

    /// Counts one operation per latency in `values` and keeps them.
    func merge(_ values: [UInt64]) {
        state.withLock {
            $0.count += values.count
            $0.latencies += values
        }
    }

    /// Counts a failed operation.
    func fail() { state.withLock { $0.failures += 1 } }
}

/// Runs `body` on `count` dedicated threads at once and waits for all; unlike
/// `concurrentPerform`, which runs only as many iterations at a time as there are cores,
/// this gives each simulated client its own thread, as separate client processes would.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    BlockingPool.wait(for: group)
}
