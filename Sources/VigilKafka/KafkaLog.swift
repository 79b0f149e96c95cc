import CRdKafka
import Foundation
import Synchronization

/// Where librdkafka's own log lines go. By default librdkafka prints them raw to standard
/// error; every client Vigil makes hands them to `sink` instead, so they come out as the
/// service's structured JSON lines.
public enum KafkaLog {
    /// One librdkafka log line: its syslog level (3 error, 4 warning, 6 info, 7 debug), its
    /// facility (`FAIL`, `REQTMOUT`, …) and its text.
    public typealias Sink = @Sendable (_ level: Int, _ facility: String, _ message: String) -> Void

    private static let current = Mutex<Sink?>(nil)

    /// Sends librdkafka's log lines of every client made from now on to `sink`.
    public static func route(to sink: @escaping Sink) { current.withLock { $0 = sink } }

    static func emit(level: Int, facility: String, message: String) {
        let sink = current.withLock { $0 }
        if let sink {
            sink(level, facility, message)
        } else {
            FileHandle.standardError.write(Data("librdkafka \(facility): \(message)\n".utf8))
        }
    }

    /// Installs the callback on `conf`.
    static func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_log_cb(conf) { _, level, facility, message in
            KafkaLog.emit(
                level: Int(level), facility: facility.map { String(cString: $0) } ?? "", message: message.map { String(cString: $0) } ?? "")
        }
    }
}
