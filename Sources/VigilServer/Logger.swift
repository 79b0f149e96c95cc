import Foundation
import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// Structured logs: one JSON object per line on standard error, with a time, a level, a
/// message and fields. Never pass a defender's identity or a token as a field.
public struct Logger: Sendable {
    /// How much a line matters.
    public enum Level: String, Sendable { case debug, info, warning, error }

    /// The component, for example `http` or `store`.
    public let label: String

    /// Whether lines are written at all.
    public let enabled: Bool

    /// A logger for `label`; a disabled one writes nothing.
    public init(label: String, enabled: Bool = true) {
        self.label = label
        self.enabled = enabled
    }

    /// Writes one line.
    public func log(_ level: Level, _ message: String, _ fields: [String: String] = [:]) {
        guard enabled else { return }
        var line = "{\"ts\":\"\(Timestamp.now())\",\"level\":\"\(level.rawValue)\",\"component\":\(Logger.quote(label)),\"msg\":\(Logger.quote(message))"
        for key in fields.keys.sorted() { line += ",\(Logger.quote(key)):\(Logger.quote(fields[key]!))" }
        line += "}\n"
        let bytes = Array(line.utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    /// An `info` line.
    public func info(_ message: String, _ fields: [String: String] = [:]) { log(.info, message, fields) }
    /// A `warning` line.
    public func warning(_ message: String, _ fields: [String: String] = [:]) { log(.warning, message, fields) }
    /// An `error` line.
    public func error(_ message: String, _ fields: [String: String] = [:]) { log(.error, message, fields) }

    /// `text` as a JSON string literal.
    static func quote(_ text: String) -> String {
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

