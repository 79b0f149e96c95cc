import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A `vigil` process started by a test on a free loopback port, with its own data directory
/// and a bootstrap token; killed when the test ends, whatever happens.
/// `@unchecked Sendable`: one test drives each service from one task (start, kill, read), never two at once.
public final class ServiceProcess: @unchecked Sendable {
    public static let token = "e2e-bootstrap-token-0123456789"
    public let dataDir: String
    public private(set) var port = 0
    private var process: Process?
    private let stderrPath: String
    /// What a `vigil` command run beside this service needs to find its store: the data
    /// directory, and on Kafka the cluster.
    public var commandEnvironment: [String: String] {
        var environment = ["VIGIL_DATA_DIR": dataDir]
        if let kafka { environment["VIGIL_LOG"] = kafka.logSetting }
        return environment
    }

    /// The mock Kafka cluster this service's log lives on when the suite runs on Kafka; it
    /// outlives restarts, as a real cluster would.
    public private(set) var kafka: KafkaDevCluster?

    /// The `vigil` binary built beside the test bundle (or `VIGIL_BIN`).
    public static var binary: String {
        if let path = ProcessInfo.processInfo.environment["VIGIL_BIN"] { return path }
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return ((me as NSString).deletingLastPathComponent as NSString).appendingPathComponent("vigil")
    }

    /// A service over `dataDir` (a new temporary directory by default).
    public init(dataDir: String? = nil) {
        self.dataDir = dataDir ?? TemporaryDirectory.make("vigil-e2e")
        stderrPath = (self.dataDir as NSString).appendingPathComponent("stderr-\(UUID().uuidString.prefix(8)).log")
    }

    deinit { kill(signal: SIGKILL) }

    /// Starts `vigil serve` and waits (at most `timeout` seconds) until it logs its port.
    /// With `fileSizeLimitKiB`, the service runs under `ulimit -f`, so its writes fail as
    /// on a full disk once a file would grow past it.
    public func start(environment extra: [String: String] = [:], timeout: Double = 20, fileSizeLimitKiB: Int? = nil) throws {
        if !FileManager.default.fileExists(atPath: stderrPath) { _ = FileManager.default.createFile(atPath: stderrPath, contents: nil) }
        let process = Process()
        if let limit = fileSizeLimitKiB {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -f \(limit * 2) && exec \"$0\" serve", ServiceProcess.binary]
        } else {
            process.executableURL = URL(fileURLWithPath: ServiceProcess.binary)
            process.arguments = ["serve"]
        }
        var environment = ProcessInfo.processInfo.environment
        environment["VIGIL_LISTEN"] = "127.0.0.1:0"
        environment["VIGIL_DATA_DIR"] = dataDir
        environment["VIGIL_BOOTSTRAP_TOKEN"] = ServiceProcess.token
        if EndToEndBackend.isKafka && extra["VIGIL_LOG"] == nil {
            if kafka == nil { kafka = try KafkaDevCluster() }
            environment["VIGIL_LOG"] = kafka?.logSetting
        }
        for (k, v) in extra { environment[k] = v }
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: dataDir)
        process.standardOutput = FileHandle.nullDevice
        let log = FileHandle(forWritingAtPath: stderrPath)
        _ = try? log?.seekToEnd()  // a restart appends, so the whole life of the data directory is scanned
        process.standardError = log
        let earlier = logs.utf8.count
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let port = listeningPort(after: earlier) {
                self.port = port
                return
            }
            if !process.isRunning { throw ServiceFailure.exited(logs) }
            usleep(10_000)
        }
        kill(signal: SIGKILL)
        throw ServiceFailure.noPort(logs)
    }

    /// Everything the process wrote to standard error (its JSON log lines).
    public var logs: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Sends `signal`, waits for the process to exit, and scans its log for every name in
    /// `DefenderNames.all`.
    public func kill(signal: Int32) {
        guard let process, process.isRunning else { return }
        Glibc.kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(15)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        DefenderNames.scan(logs, source: "the log of vigil serve in \(dataDir)")
    }

    /// The exit status after the process ended.
    public var terminationStatus: Int32? {
        guard let process, !process.isRunning else { return nil }
        return process.terminationStatus
    }

    private func listeningPort(after earlier: Int) -> Int? {
        let fresh = String(decoding: Array(logs.utf8).dropFirst(earlier), as: UTF8.self)
        for line in fresh.split(separator: "\n").reversed() where line.contains("\"msg\":\"listening\"") {
            if let range = line.range(of: "\"port\":\""), let end = line[range.upperBound...].firstIndex(of: "\"") {
                return Int(line[range.upperBound..<end])
            }
        }
        return nil
    }

    public enum ServiceFailure: Error, CustomStringConvertible {
        case exited(String), noPort(String)
        public var description: String {
            switch self {
            case .exited(let logs): "vigil serve exited early:\n\(logs)"
            case .noPort(let logs): "vigil serve did not report its port:\n\(logs)"
            }
        }
    }
}

/// Runs the `vigil` command line and captures its output.
public enum VigilCommand {
    public struct Output: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// Runs `vigil arguments…` with `environment` added, for at most `timeout` seconds.
    public static func run(_ arguments: [String], environment extra: [String: String] = [:], stdin: String? = nil, timeout: Double = 60) throws -> Output {
        try run(executable: ServiceProcess.binary, arguments, environment: extra, stdin: stdin, timeout: timeout)
    }

    /// `run(executable:…)` awaited from a thread of its own, for a long run (the browser walk,
    /// the attack suite): a synchronous wait would hold one of Swift Testing's cooperative threads
    /// (as many as cores, two on CI) for minutes, and other tests' awaits, and their time limits,
    /// would starve behind it.
    public static func runDetached(
        executable: String, _ arguments: [String], environment extra: [String: String] = [:], timeout: Double = 60
    ) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try run(executable: executable, arguments, environment: extra, timeout: timeout) })
            }
        }
    }

    /// Runs `executable arguments…` with `environment` added and `stdin` fed, for at most
    /// `timeout` seconds (then SIGKILL), and captures what it printed.
    public static func run(
        executable: String, _ arguments: [String], environment extra: [String: String] = [:], stdin: String? = nil, timeout: Double = 60
    ) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in extra { environment[k] = v }
        process.environment = environment
        let directory = TemporaryDirectory.make("vigil-cli")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = (directory as NSString).appendingPathComponent("out"), err = (directory as NSString).appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus, stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }
}

/// Fresh directories under the system's temporary directory, removed with everything in
/// them when the test process exits (a full run used to leave about a thousand behind).
public enum TemporaryDirectory {
    private static let made = Mutex<[String]>([])

    /// A new directory named `prefix-UUID`.
    public static func make(_ prefix: String) -> String {
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        made.withLock { made in
            if made.isEmpty { atexit { TemporaryDirectory.removeAll() } }
            made.append(path)
        }
        return path
    }

    private static func removeAll() {
        for path in made.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
    }
}
