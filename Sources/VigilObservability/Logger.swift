import Foundation

/// Structured logs in the swift-log shape: a `Logger` value, passed to whatever logs, with a
/// label, metadata and a lowest level, writing through the `LogHandler` behind it.
///
/// Never pass a defender's identity, free text or a token as a field or metadata: only ids,
/// counts and operational words (that is the callers' job; no handler scrubs).
public struct Logger: Sendable {
    /// How much a line matters, least first.
    public enum Level: String, Sendable, Comparable, CaseIterable {
        case debug, info, warning, error

        private var rank: Int {
            switch self {
            case .debug: 0
            case .info: 1
            case .warning: 2
            case .error: 3
            }
        }

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rank < rhs.rank }
    }

    /// The component, for example `http` or `store`.
    public let label: String
    /// Fields added to every line this logger writes (a line's own fields win on a clash).
    public var metadata: [String: String]
    /// The lowest level written; lines below it are dropped before the handler sees them.
    public var level: Level
    /// Where the lines go.
    public let handler: any LogHandler

    /// A logger for `label` writing through `handler` (JSON lines on standard error unless told).
    public init(label: String, handler: any LogHandler = JSONLinesLogHandler.standardError, level: Level = .info, metadata: [String: String] = [:]) {
        self.label = label
        self.handler = handler
        self.level = level
        self.metadata = metadata
    }

    /// A logger for `label` writing JSON lines on standard error, or, when `enabled` is
    /// `false`, nothing at all (benchmarks, tools that keep standard error for themselves).
    public init(label: String, enabled: Bool) {
        self.init(label: label, handler: enabled ? JSONLinesLogHandler.standardError : DiscardingLogHandler())
    }

    /// A logger for `label` that writes nothing.
    public static func disabled(label: String) -> Logger { Logger(label: label, enabled: false) }

    /// Whether lines reach a handler that keeps them.
    public var enabled: Bool { !(handler is DiscardingLogHandler) }

    /// The same handler, level and metadata under another component label (`service` → `api`).
    public func labelled(_ label: String) -> Logger {
        Logger(label: label, handler: handler, level: level, metadata: metadata)
    }

    /// Writes one line at `level` unless it is below this logger's level.
    public func log(_ level: Level, _ message: String, _ fields: [String: String] = [:]) {
        guard level >= self.level, enabled else { return }
        let merged = metadata.isEmpty ? fields : metadata.merging(fields) { _, line in line }
        handler.write(LogRecord(date: Date(), level: level, label: label, message: message, fields: merged))
    }

    /// A `debug` line.
    public func debug(_ message: String, _ fields: [String: String] = [:]) { log(.debug, message, fields) }
    /// An `info` line.
    public func info(_ message: String, _ fields: [String: String] = [:]) { log(.info, message, fields) }
    /// A `warning` line.
    public func warning(_ message: String, _ fields: [String: String] = [:]) { log(.warning, message, fields) }
    /// An `error` line.
    public func error(_ message: String, _ fields: [String: String] = [:]) { log(.error, message, fields) }
}
