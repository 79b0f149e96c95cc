import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A `vigil dev kafka` process: librdkafka's mock cluster on a loopback port, with Vigil's
/// topics, killed when the value goes away. Each test gets its own, so no two tests share
/// a log.
/// `@unchecked Sendable`: immutable after `init`; the process is only signalled and awaited.
public final class KafkaDevCluster: @unchecked Sendable {
    /// The `bootstrap.servers` address the cluster printed.
    public let bootstrapServers: String
    private let process: Process

    /// Starts a cluster with `partitions` partitions per topic; waits at most `timeout` seconds
    /// for its address.
    public init(partitions: Int = 4, timeout: Double = 15) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServiceProcess.binary)
        process.arguments = ["dev", "kafka", "--partitions", String(partitions)]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        // The first line is the address; read it without blocking past the deadline.
        let reader = output.fileHandleForReading
        let flags = fcntl(reader.fileDescriptor, F_GETFL)
        _ = fcntl(reader.fileDescriptor, F_SETFL, flags | O_NONBLOCK)
        var text = ""
        let deadline = Date().addingTimeInterval(timeout)
        while !text.contains("\n") && Date() < deadline && process.isRunning {
            var buffer = [UInt8](repeating: 0, count: 256)
            let count = read(reader.fileDescriptor, &buffer, buffer.count)
            if count > 0 { text += String(decoding: buffer.prefix(count), as: UTF8.self) } else { usleep(10_000) }
        }
        guard let line = text.split(separator: "\n").first, line.contains(":") else {
            Glibc.kill(process.processIdentifier, SIGKILL)
            throw Failure.noAddress(text)
        }
        bootstrapServers = String(line)
    }

    /// The `log` setting that points a service at this cluster.
    public var logSetting: String { "kafka://\(bootstrapServers)" }

    deinit {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Why the cluster did not start.
    public enum Failure: Error, CustomStringConvertible {
        case noAddress(String)
        public var description: String {
            switch self {
            case .noAddress(let printed): "vigil dev kafka printed no bootstrap address: '\(printed)'"
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
