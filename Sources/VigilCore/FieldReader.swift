/// Reads typed fields out of a JSON object and collects every problem as a `FieldError`
/// named by its path, so validators report all that is wrong at once.
public struct FieldReader {
    /// The object being read.
    let fields: [String: JSONValue]
    /// The path of the object, `""` at the top (`"defender."`, `"channels[1]."` below).
    let prefix: String
    /// Problems found so far.
    var errors: [FieldError] = []

    init(_ fields: [String: JSONValue], prefix: String = "") {
        self.fields = fields
        self.prefix = prefix
    }

    mutating func fail(_ name: String, _ message: String) { errors.append(FieldError(prefix + name, message)) }

    /// Reports every key not in `known`.
    mutating func refuseUnknown(_ known: Set<String>, of what: String) {
        for key in fields.keys.sorted() where !known.contains(key) { fail(key, "is not a field of \(what)") }
    }

    func isAbsent(_ name: String) -> Bool { fields[name] == nil || fields[name] == .null }

    mutating func string(_ name: String, required: Bool) -> String? {
        switch fields[name] {
        case nil, .null?:
            if required { fail(name, "is required") }
            return nil
        case .string(let text)?:
            return text
        case let other?:
            fail(name, "expected a string, got \(other.typeName)")
            return nil
        }
    }

    /// A trimmed, non-empty string of at most `max` characters, counted as Unicode scalars
    /// (not as grapheme clusters: "A" followed by 3,000 combining marks is 3,001 long), and
    /// of at most `FieldReader.maxBytes(max)` bytes of UTF-8.
    mutating func text(_ name: String, max: Int, required: Bool) -> String? {
        guard let text = string(name, required: required) else { return nil }
        let trimmed = FieldReader.trimmed(text)
        if trimmed.isEmpty {
            if required { fail(name, "must not be empty") }
            return nil
        }
        if let problem = FieldReader.lengthProblem(trimmed, max: max) {
            fail(name, problem)
            return nil
        }
        return trimmed
    }

    /// The most UTF-8 bytes a text of `max` characters may take: four per Unicode scalar.
    static func maxBytes(_ max: Int) -> Int { max.multipliedReportingOverflow(by: 4).overflow ? Int.max : max * 4 }

    /// Why `text` is too long for a limit of `max` characters (Unicode scalars, and four
    /// bytes of UTF-8 each), or `nil` when it fits. Both counts stop early past the limit,
    /// so a huge value costs no more than the limit to refuse.
    static func lengthProblem(_ text: String, max: Int) -> String? {
        let bytes = text.utf8.count  // O(1) for native strings
        if bytes > maxBytes(max) { return "is \(bytes) bytes long; at most \(max) characters (\(maxBytes(max)) bytes of UTF-8) are allowed" }
        var scalars = 0
        for _ in text.unicodeScalars {
            scalars += 1
            if scalars > max { return "is longer than \(max) characters (counted as Unicode code points); at most \(max) are allowed" }
        }
        return nil
    }

    /// Whether `text` fits a limit of `max` characters (see `lengthProblem`).
    static func fits(_ text: String, max: Int) -> Bool { lengthProblem(text, max: max) == nil }

    /// One word of a vocabulary; `fallback` when absent (required when there is none).
    mutating func word<E: Vocabulary>(_ name: String, default fallback: E? = nil) -> E? {
        guard let text = string(name, required: fallback == nil) else { return isAbsent(name) ? fallback : nil }
        guard let value = E(rawValue: text) else {
            fail(name, "'\(text)' is not one of: \(E.allowedWords)")
            return nil
        }
        return value
    }

    /// An optional word of a vocabulary: `nil` when absent, without error.
    mutating func optionalWord<E: Vocabulary>(_ name: String) -> E? {
        isAbsent(name) ? nil : word(name, default: nil as E?)
    }

    /// A BCP 47 language tag, `fallback` when absent.
    mutating func language(_ name: String, default fallback: String) -> String {
        guard let text = string(name, required: false) else { return fallback }
        guard FieldReader.isLanguageTag(text) else {
            fail(name, "'\(text)' is not a BCP 47 language tag such as en, fr or nl-BE")
            return fallback
        }
        return text
    }

    /// An array of strings, each checked by `check` (which returns a problem or nil).
    mutating func strings(_ name: String, maxCount: Int, check: (String) -> String?) -> [String] {
        guard let items = array(name, maxCount: maxCount) else { return [] }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else {
                fail("\(name)[\(index)]", "expected a string, got \(item.typeName)")
                continue
            }
            if let problem = check(text) { fail("\(name)[\(index)]", problem) } else { result.append(text) }
        }
        return result
    }

    /// A `true`/`false` field; `fallback` when absent or null.
    mutating func bool(_ name: String, default fallback: Bool) -> Bool {
        guard let value = fields[name], value != .null else { return fallback }
        guard case .bool(let flag) = value else {
            fail(name, "expected true or false, got \(value.typeName)")
            return fallback
        }
        return flag
    }

    /// A whole number within `range`; `nil` when absent (with an error when `required`) or
    /// not such a number. Never traps, whatever the JSON holds.
    mutating func integer(_ name: String, in range: ClosedRange<Int64>, required: Bool) -> Int64? {
        guard let value = fields[name], value != .null else {
            if required { fail(name, "is required") }
            return nil
        }
        guard let number = value.exactInt64, range.contains(number) else {
            fail(name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return number
    }

    /// An array of at most `maxCount` items; `nil` (with an error when present) otherwise.
    mutating func array(_ name: String, maxCount: Int) -> [JSONValue]? {
        guard let value = fields[name], value != .null else { return nil }
        guard case .array(let items) = value else {
            fail(name, "expected an array, got \(value.typeName)")
            return nil
        }
        if items.count > maxCount { fail(name, "has \(items.count) entries; at most \(maxCount) are allowed") }
        return items
    }

    /// The object at `name`; `nil` (with an error when present but not an object).
    mutating func object(_ name: String, required: Bool) -> [String: JSONValue]? {
        guard let value = fields[name], value != .null else {
            if required { fail(name, "is required") }
            return nil
        }
        guard case .object(let object) = value else {
            fail(name, "expected an object, got \(value.typeName)")
            return nil
        }
        return object
    }

    /// Reads a nested object with its own reader, folding its errors in under `path`.
    mutating func nested<T>(_ object: [String: JSONValue], path: String, _ read: (inout FieldReader) -> T) -> T {
        var reader = FieldReader(object, prefix: prefix + path + ".")
        let result = read(&reader)
        errors += reader.errors
        return result
    }

    /// `text` without leading and trailing white space, in Swift (Foundation's
    /// `trimmingCharacters` bridges through NSString and was a hot spot on ingest).
    static func trimmed(_ text: String) -> String {
        guard let first = text.firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let last = text.lastIndex(where: { !$0.isWhitespace })!
        return first == text.startIndex && last == text.index(before: text.endIndex) ? text : String(text[first...last])
    }

    /// `true` for a plausible BCP 47 tag: a 2–3 letter language and optional subtags, at
    /// most 35 bytes in all (RFC 5646's advice), so a tag cannot grow without bound.
    static func isLanguageTag(_ text: String) -> Bool {
        guard text.utf8.count <= 35, text.utf8.allSatisfy({ $0 < 0x80 }) else { return false }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard let first = parts.first, (2...3).contains(first.count), first.allSatisfy({ $0.isASCII && $0.isLetter }) else { return false }
        return parts.dropFirst().allSatisfy { (1...8).contains($0.count) && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }
    }

    /// `true` for something shaped like an email address.
    public static func isEmailAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return text.utf8.count <= 254 && parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".")
            && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".") && !text.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" })
    }
}
