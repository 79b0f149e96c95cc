import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A `vigil dev kafka` process: librdkafka's mock cluster on a loopback port, with Vigil's
/// topics, killed when the value goes away. Each test gets its own, so no two tests share
/// a log.
/// `@unchecked Sendable`: one test drives each cluster from one task (start, inject faults, stop);
/// only `unread` changes after `init`, and only in that task.
public final class KafkaDevCluster: @unchecked Sendable {
    /// The `bootstrap.servers` address the cluster printed.
    public private(set) var bootstrapServers = ""
    private let process: Process
    private let input = Pipe()
    private let output = Pipe()
    /// What the cluster printed and no one has read yet.
    private var unread = ""

    /// Starts a cluster of `brokers` brokers with `partitions` partitions per topic; waits at
    /// most `timeout` seconds for its address. It takes faults (`inject`) on its standard input.
    public init(partitions: Int = 4, brokers: Int = 1, timeout: Double = 15) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServiceProcess.binary)
        process.arguments = ["dev", "kafka", "--partitions", String(partitions), "--brokers", String(brokers), "--control"]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        let reader = output.fileHandleForReading
        let flags = fcntl(reader.fileDescriptor, F_GETFL)
        _ = fcntl(reader.fileDescriptor, F_SETFL, flags | O_NONBLOCK)
        guard let line = readLine(timeout: timeout), line.contains(":") else {
            Glibc.kill(process.processIdentifier, SIGKILL)
            throw Failure.noAddress(unread)
        }
        bootstrapServers = line
    }

    /// The next line the cluster prints, without blocking past `timeout` seconds.
    private func readLine(timeout: Double) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while !unread.contains("\n") && Date() < deadline && process.isRunning {
            var buffer = [UInt8](repeating: 0, count: 256)
            let count = read(output.fileHandleForReading.fileDescriptor, &buffer, buffer.count)
            if count > 0 { unread += String(decoding: buffer.prefix(count), as: UTF8.self) } else { usleep(10_000) }
        }
        guard let end = unread.firstIndex(of: "\n") else { return nil }
        defer { unread.removeSubrange(...end) }
        return String(unread[..<end])
    }

    /// Injects a fault (`down 1`, `up all`, `leader vigil.alerts 0 2`, `fail produce
    /// not_leader timed_out`: see `vigil dev kafka --help`) and waits for the cluster's answer.
    public func inject(_ fault: String) throws {
        input.fileHandleForWriting.write(Data((fault + "\n").utf8))
        guard let answer = readLine(timeout: 10) else { throw Failure.noAnswer(fault) }
        guard answer == "ok" else { throw Failure.refused(fault, answer) }
    }

    /// The `log` setting that points a service at this cluster.
    public var logSetting: String { "kafka://\(bootstrapServers)" }

    deinit {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Why the cluster did not start, or did not take a fault.
    public enum Failure: Error, CustomStringConvertible {
        case noAddress(String)
        case noAnswer(String)
        case refused(String, String)
        public var description: String {
            switch self {
            case .noAddress(let printed): "vigil dev kafka printed no bootstrap address: '\(printed)'"
            case .noAnswer(let fault): "vigil dev kafka did not answer '\(fault)' within 10 s"
            case .refused(let fault, let answer): "vigil dev kafka refused '\(fault)': \(answer)"
            }
        }
    }
}

/// Which backend the end-to-end suite runs on: `VIGIL_E2E_LOG=kafka` runs every service a
/// test starts on a mock Kafka cluster of its own; anything else, on the embedded log.
public enum EndToEndBackend {
    /// `true` when the suite runs on Kafka.
    public static var isKafka: Bool { ProcessInfo.processInfo.environment["VIGIL_E2E_LOG"] == "kafka" }
    /// `true` when the suite runs on the embedded log (tests of the SQLite files themselves).
    public static var isEmbedded: Bool { !isKafka }
}
