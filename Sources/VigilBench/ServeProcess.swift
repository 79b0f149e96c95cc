import Foundation
import VigilHTTPClient

#if canImport(Glibc)
import Glibc
#endif

/// One `vigil serve` process of `vigil bench crash`: the real binary as a child, on a free
/// loopback port, with its own data directory that outlives every restart; started, killed
/// with SIGKILL and started again, each start timed to its first `/readyz` 200.
/// Driven from the bench's one thread, never shared.
final class ServeProcess {
    /// Its role on Kafka (`ingest`, `router`, `worker`), or `serve` for the whole pipeline.
    let role: String
    /// Its data directory.
    let dataDir: String
    /// The port it listens on since its last start (0 before the first).
    private(set) var port = 0
    private let executable: String
    private let environment: [String: String]
    private var process: Process?
    private var starts = 0

    /// A process of `executable serve` with `environment` (added to this process's own), and
    /// `VIGIL_LISTEN`, `VIGIL_DATA_DIR` set to a loopback port and `dataDir`.
    init(executable: String, role: String, dataDir: String, environment: [String: String]) {
        self.executable = executable
        self.role = role
        self.dataDir = dataDir
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        merged["VIGIL_LISTEN"] = "127.0.0.1:0"
        merged["VIGIL_DATA_DIR"] = dataDir
        self.environment = merged
    }

    deinit { kill() }

    /// Starts the process and waits, at most `timeout` seconds, until `/readyz` answers 200;
    /// returns the seconds from the start to that answer.
    @discardableResult
    func start(timeout: Double = 60) throws -> Double {
        starts += 1
        let logPath = (dataDir as NSString).appendingPathComponent("serve-\(starts).log")
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve"]
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: dataDir)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: logPath)
        let started = BenchClock.now()
        do { try process.run() } catch { throw BenchmarkFailure(description: "cannot start \(executable) serve (\(role)): \(error)") }
        self.process = process
        let deadline = started + UInt64(timeout * 1e9)
        port = 0
        while BenchClock.now() < deadline {
            guard process.isRunning else {
                throw BenchmarkFailure(description: "vigil serve (\(role)) exited with \(process.terminationStatus) on start \(starts); its log:\n\(Self.tail(of: logPath))")
            }
            if port == 0 { port = Self.listeningPort(in: logPath) ?? 0 }
            if port != 0, let client = try? BlockingHTTPClient(port: port, timeout: 1), (try? client.request("GET", "/readyz").status) == 200 {
                return BenchClock.seconds(since: started)
            }
            Thread.sleep(forTimeInterval: 0.002)
        }
        kill()
        throw BenchmarkFailure(description: "vigil serve (\(role)) was not ready within \(Int(timeout)) s on start \(starts); its log:\n\(Self.tail(of: logPath))")
    }

    /// The running process's id, if it runs.
    var pid: Int32? { process.flatMap { $0.isRunning ? $0.processIdentifier : nil } }

    /// SIGKILLs the process, if running, and reaps it.
    func kill() {
        guard let process else { return }
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        self.process = nil
    }

    /// The port of the last `"msg":"listening"` line in the log at `path`.
    private static func listeningPort(in path: String) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n").reversed() where line.contains("\"msg\":\"listening\"") {
            if let range = line.range(of: "\"port\":\""), let end = line[range.upperBound...].firstIndex(of: "\"") {
                return Int(line[range.upperBound..<end]).flatMap { (1...65535).contains($0) ? $0 : nil }
            }
        }
        return nil
    }

    /// The last 20 lines of the log at `path`, for a failure's message.
    private static func tail(of path: String) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(20).joined(separator: "\n")
    }
}
