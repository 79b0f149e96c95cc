import Foundation
import VigilHTTP

/// A submitted HTML form (`application/x-www-form-urlencoded`): every value of every name,
/// in order. Names and values are bounded so a form cannot cost more than its body.
public struct FormBody: Sendable, Equatable {
    /// Values by name, in the order they came.
    public private(set) var values: [String: [String]] = [:]

    /// Most fields read from one form.
    static let maxFields = 400

    /// The form in `body`; a broken escape or invalid UTF-8 drops that field.
    public init(_ body: [UInt8]) {
        var count = 0
        for pair in body.split(separator: UInt8(ascii: "&")) where count < Self.maxFields {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]), !name.isEmpty else { continue }
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            guard let value else { continue }
            // Browsers send a textarea's line breaks as CRLF; every page and the JSON see `\n`.
            values[name, default: []].append(value.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n"))
            count += 1
        }
    }

    /// A form from values, for tests.
    public init(values: [String: [String]]) { self.values = values }

    /// The first value of `name`, or `nil`.
    public subscript(_ name: String) -> String? { values[name]?.first }

    /// Every value of `name` (checkboxes, multiple selects).
    public func all(_ name: String) -> [String] { values[name] ?? [] }

    /// The first value of `name`, trimmed, or `nil` when absent or blank.
    public func text(_ name: String) -> String? {
        guard let value = self[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    /// The lines of a textarea `name`, trimmed, blank ones dropped.
    public func lines(_ name: String) -> [String] {
        (self[name] ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Whether checkbox `name` was ticked.
    public func isChecked(_ name: String) -> Bool { self[name] != nil }

    /// A name or value as sent: percent escapes and `+` decoded the way a query is (`HTTPRequest.percentDecode`).
    private static func decode(_ bytes: ArraySlice<UInt8>) -> String? {
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        return HTTPRequest.percentDecode(text)
    }
}
