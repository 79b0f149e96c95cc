import Foundation
import VigilObservability
import VigilHTTPClient

#if canImport(Glibc)
import Glibc
#endif

/// Prometheus Alertmanager as the baseline of `vigil bench` (issue 22): Debian's
/// `prometheus-alertmanager` (`deploy/setup.sh bench` installs it), started on a free
/// loopback port with a temporary `--storage.path`, no clustering, and a configuration that
/// delivers every alert at once, on its own, to each given webhook endpoint — as a user
/// wanting immediate notifications would set it (see `configuration(webhooks:)`).
final class AlertmanagerBaseline: ComparedSide {
    /// Where Debian installs the binary, looked at when it is not on `PATH`.
    static let debianPath = "/usr/bin/prometheus-alertmanager"
    /// How long it may take to answer `/-/ready`.
    static let readySeconds = 20

    let name = "alertmanager"
    let port: Int
    private let process: Process
    private let directory: String

    /// The `prometheus-alertmanager` binary on `PATH` (from `environment`), else at
    /// `debianPath`; `nil` when neither is an executable file.
    static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        let candidates = (environment["PATH"] ?? "").split(separator: ":").map { "\($0)/prometheus-alertmanager" } + [debianPath]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The configuration: one route per endpoint, each matching every bench alert and
    /// continuing to the next (`continue: true`), to a receiver with one webhook; alerts
    /// grouped by their unique `id` label (one alert per group, so one notification per
    /// alert), sent at once (`group_wait: 0s`), a changed group after a second
    /// (`group_interval: 1s`), never repeated within a run (`repeat_interval: 24h`), and
    /// no notice when an alert resolves (`send_resolved: false`).
    static func configuration(webhooks: [String]) -> String {
        var text = """
            # vigil bench: Alertmanager as a user wanting immediate notifications would set it.
            route:
              receiver: unmatched
              group_by: ['id']
              group_wait: 0s
              group_interval: 1s
              repeat_interval: 24h
              routes:

            """
        for n in webhooks.indices {
            text += """
                  - receiver: sink-\(n)
                    matchers: ['country="\(ComparedAlert.country)"']
                    continue: true

                """
        }
        text += "receivers:\n  - name: unmatched\n"
        for (n, url) in webhooks.enumerated() {
            text += """
                  - name: sink-\(n)
                    webhook_configs:
                      - url: '\(url)'
                        send_resolved: false

                """
        }
        return text
    }

    /// Starts `executable` delivering to `webhooks` and waits until it answers `/-/ready`.
    init(executable: String, webhooks: [String]) throws(ComparisonFailure) {
        directory = (NSTemporaryDirectory() as NSString).appendingPathComponent("vigil-bench-alertmanager-\(UUID().uuidString)")
        let configPath = directory + "/alertmanager.yml", logPath = directory + "/alertmanager.log"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Self.configuration(webhooks: webhooks).write(toFile: configPath, atomically: true, encoding: .utf8)
            guard FileManager.default.createFile(atPath: logPath, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw .alertmanagerDidNotStart("could not prepare \(directory): \(error)")
        }
        guard let port = Self.freeLoopbackPort() else {
            try? FileManager.default.removeItem(atPath: directory)
            throw .alertmanagerDidNotStart("no free loopback port")
        }
        self.port = port
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [
            "--config.file=\(configPath)", "--storage.path=\(directory)", "--web.listen-address=127.0.0.1:\(port)",
            "--cluster.listen-address=", "--log.level=warn",
        ]
        let log = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw .alertmanagerDidNotStart("\(executable): \(error)")
        }
        try? log?.close()
        do {
            try BenchClock.wait(upTo: Double(Self.readySeconds), every: 0.02, failure: "") {
                guard process.isRunning else { return true }
                guard let client = try? BlockingHTTPClient(port: port, timeout: 1) else { return false }
                return (try? client.request("GET", "/-/ready"))?.status == 200
            }
        } catch {}
        guard process.isRunning, (try? BlockingHTTPClient(port: port, timeout: 1).request("GET", "/-/ready"))?.status == 200 else {
            let tail = (try? String(contentsOfFile: logPath, encoding: .utf8)).map { String($0.suffix(2000)) } ?? "(no log)"
            stop()
            throw .alertmanagerNotReady(seconds: Self.readySeconds, log: tail)
        }
    }

    /// `POST /api/v2/alerts` with one alert per key, each labelled with its key as `id`.
    /// The Alertmanager process's.
    var residentBytes: Double { ProcessMemory.residentBytes(of: process.processIdentifier) }

    func file(_ keys: [String], on client: BlockingHTTPClient) throws -> Int {
        let response = try client.request("POST", "/api/v2/alerts", body: Self.body(keys), headers: ["Content-Type": "application/json"])
        guard response.status == 200 else { throw ComparisonFailure.refused(side: name, status: response.status, answer: response.text) }
        return keys.count
    }

    /// The JSON list of alerts for `keys`: labels that identify it (name, `id`, country,
    /// threat, severity) and the summary and defender as annotations.
    static func body(_ keys: [String]) -> String {
        var text = "["
        for (n, key) in keys.enumerated() {
            if n > 0 { text += "," }
            text += #"{"labels":{"alertname":"DefenderAtRisk","id":"\#(key)","country":"\#(ComparedAlert.country)","threat":"arrest","severity":"critical"},"#
            text += #""annotations":{"summary":"\#(ComparedAlert.summary)","defender":"Bench Defender"}}"#
        }
        return text + "]"
    }

    /// Sends SIGTERM, then SIGKILL if it has not ended within 5 s, and removes its directory.
    func stop() {
        if process.isRunning {
            process.terminate()
            try? BenchClock.wait(upTo: 5, every: 0.01, failure: "") { !process.isRunning }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A loopback port nothing listens on now: bound to port 0, read back and released.
    static func freeLoopbackPort() -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { return nil }
        let port = Int(UInt16(bigEndian: address.sin_port))
        return port > 0 ? port : nil
    }
}
