/// Writes JSON straight into a byte buffer, for the documents Vigil writes on every alert.
///
/// Foundation's `JSONEncoder` spends most of the ingest path's CPU time in its generic
/// container machinery; this writer produces the same bytes as `VigilJSON.encoder()` (sorted
/// keys, unescaped slashes, UTF-8) for the types that use it, at a fraction of the cost.
/// Callers must emit keys in sorted order themselves.
public struct JSONWriter {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []
    private var needsComma: [Bool] = [false]

    /// An empty writer with room for `capacity` bytes.
    public init(capacity: Int = 1024) { bytes.reserveCapacity(capacity) }

    /// Opens an object (as a value, or after a key).
    public mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); needsComma.append(false) }
    /// Closes the innermost object.
    public mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma.removeLast() }
    /// Opens an array.
    public mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); needsComma.append(false) }
    /// Closes the innermost array.
    public mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma.removeLast() }

    /// Writes `"key":`; the value follows.
    public mutating func key(_ name: String) {
        separate()
        writeString(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma[needsComma.count - 1] = false
    }

    /// Writes a string value.
    public mutating func string(_ value: String) { separate(); writeString(value) }
    /// Writes an integer value.
    public mutating func integer(_ value: Int64) { separate(); bytes += Array(String(value).utf8) }
    /// Writes `null`.
    public mutating func null() { separate(); bytes += Array("null".utf8) }
    /// Writes a boolean value.
    public mutating func bool(_ value: Bool) { separate(); bytes += Array((value ? "true" : "false").utf8) }

    /// Writes an array of strings.
    public mutating func strings(_ values: [String]) {
        beginArray()
        for value in values { string(value) }
        endArray()
    }

    /// `"key":"value"` when `value` is not nil; nothing otherwise (as `encodeIfPresent`).
    public mutating func field(_ name: String, _ value: String?) {
        guard let value else { return }
        key(name)
        string(value)
    }

    private mutating func separate() {
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    private static let hex = Array("0123456789abcdef".utf8)

    private mutating func writeString(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var runStart = 0
            for (i, byte) in utf8.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i]))
                runStart = i + 1
                switch byte {
                case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
                case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                case 0x0A: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                case 0x0D: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
                case 0x09: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
                case 0x08: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
                case 0x0C: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
                default:
                    bytes += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                              JSONWriter.hex[Int(byte >> 4)], JSONWriter.hex[Int(byte & 0xF)]]
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

extension Alert {
    /// The alert's JSON, byte for byte what `VigilJSON.encode(alert)` writes, without
    /// `JSONEncoder`'s cost; with `offset`, adds `"offset"` as API listings show it.
    public func jsonBytes(offset: LogOffset? = nil) -> [UInt8] {
        var w = JSONWriter(capacity: 768 + summary.utf8.count)
        write(to: &w, offset: offset)
        return w.bytes
    }

    /// Writes the alert as one object into `w` (keys sorted).
    public func write(to w: inout JSONWriter, offset: LogOffset? = nil) {
        w.beginObject()
        w.field("case_id", caseID)
        w.field("case_status", caseStatus?.rawValue)
        w.field("certainty", certainty.rawValue)
        w.field("confidentiality", confidentiality.rawValue)
        w.field("country", country.code)
        w.key("defender")
        w.beginObject()
        w.field("group", defender.group?.rawValue)
        w.field("name", defender.name)
        w.field("organisation", defender.organisation)
        w.field("role", defender.role)
        w.endObject()
        if let handling {
            w.key("handling")
            handling.write(to: &w)
        }
        w.field("id", id)
        w.field("kind", kind.rawValue)
        w.field("language", language)
        w.key("links")
        w.strings(links)
        if let nextEvent {
            w.key("next_event")
            w.beginObject()
            w.field("at", nextEvent.at.description)
            w.field("place", nextEvent.place)
            w.field("type", nextEvent.type.rawValue)
            w.endObject()
        }
        w.field("occurred_at", occurredAt?.description)
        if let offset {
            w.key("offset")
            w.integer(offset)
        }
        w.field("received_at", receivedAt.description)
        w.field("region", region)
        w.field("severity", severity.rawValue)
        w.key("source")
        w.beginObject()
        w.field("organisation", source.organisation)
        w.endObject()
        w.field("status", status.rawValue)
        w.field("summary", summary)
        w.field("summary_public", summaryPublic)
        w.key("tags")
        w.strings(tags)
        w.field("threat", threat.rawValue)
        w.field("urgency", urgency.rawValue)
        w.endObject()
    }
}
