import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One line a `Logger` hands its handler.
public struct LogRecord: Sendable, Equatable {
    /// When it was logged.
    public let date: Date
    /// How much it matters.
    public let level: Logger.Level
    /// The logger's label (the `component` of a JSON line).
    public let label: String
    /// What happened, in a fixed sentence (no personal data).
    public let message: String
    /// The logger's metadata merged with the line's own fields.
    public let fields: [String: String]

    /// A record of these parts.
    public init(date: Date, level: Logger.Level, label: String, message: String, fields: [String: String]) {
        self.date = date
        self.level = level
        self.label = label
        self.message = message
        self.fields = fields
    }
}

/// Where a `Logger`'s lines go; called from any thread.
public protocol LogHandler: Sendable {
    /// Writes (or keeps, or drops) one line.
    func write(_ record: LogRecord)
}

/// Vigil's log format: one JSON object per line, written with one `write(2)` so lines from
/// many threads never interleave:
/// `{"ts":"2026-11-22T09:14:03.120Z","level":"info","component":"api","msg":"…",<fields sorted by key>}`.
public struct JSONLinesLogHandler: LogHandler {
    /// The file descriptor written to.
    public let fileDescriptor: Int32

    /// Lines on standard error, the service's log.
    public static let standardError = JSONLinesLogHandler(fileDescriptor: 2)

    /// A handler writing to `fileDescriptor`.
    public init(fileDescriptor: Int32) { self.fileDescriptor = fileDescriptor }

    public func write(_ record: LogRecord) {
        let bytes = Array(Self.line(record).utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(fileDescriptor, $0.baseAddress, $0.count) }
    }

    /// `record` as one JSON line, newline included.
    public static func line(_ record: LogRecord) -> String {
        var line = "{\"ts\":\"\(timestamp(record.date))\",\"level\":\"\(record.level.rawValue)\",\"component\":\(quote(record.label)),\"msg\":\(quote(record.message))"
        for key in record.fields.keys.sorted() { line += ",\(quote(key)):\(quote(record.fields[key]!))" }
        return line + "}\n"
    }

    /// `date` in RFC 3339, UTC, to the millisecond (`2026-11-22T09:14:03.120Z`), truncated.
    public static func timestamp(_ date: Date) -> String {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded(.down)
        guard milliseconds.isFinite, abs(milliseconds) < 1e15 else { return "0000-00-00T00:00:00.000Z" }
        let whole = Int64(milliseconds)
        var seconds = time_t(whole >= 0 ? whole / 1000 : (whole - 999) / 1000)
        let milli = Int(whole - Int64(seconds) * 1000)
        var parts = tm()
        guard gmtime_r(&seconds, &parts) != nil else { return "0000-00-00T00:00:00.000Z" }
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))T"
            + "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2)).\(pad(milli, 3))Z"
    }

    /// `text` as a JSON string literal.
    public static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// Drops every line (`Logger(label:enabled: false)`).
public struct DiscardingLogHandler: LogHandler {
    /// A handler that writes nothing.
    public init() {}

    public func write(_ record: LogRecord) {}
}

/// Keeps every line in memory, for tests that check what was logged.
public final class CapturingLogHandler: LogHandler {
    private let kept = Mutex<[LogRecord]>([])

    /// An empty capture.
    public init() {}

    public func write(_ record: LogRecord) { kept.withLock { $0.append(record) } }

    /// The lines so far, oldest first.
    public var records: [LogRecord] { kept.withLock { $0 } }

    /// The lines so far whose message is `message`.
    public func records(_ message: String) -> [LogRecord] { records.filter { $0.message == message } }
}
