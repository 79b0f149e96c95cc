/// A JSON document as a tree, so validation can look at every field of a submission and
/// report all that is wrong instead of stopping at the first decoding error.
public enum JSONValue: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let v): try container.encode(v)
        case .number(let v): try container.encode(v)
        case .string(let v): try container.encode(v)
        case .array(let v): try container.encode(v)
        case .object(let v): try container.encode(v)
        }
    }

    /// The JSON type's name, for error messages ("expected a string, got a number").
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

extension JSONValue {
    /// The largest magnitude a JSON number may have to be taken as an integer: 2^53, past
    /// which a `Double` (what `JSONParser` reads numbers as) no longer holds every integer.
    public static let maxExactInteger: Double = 9_007_199_254_740_992

    /// The number as an `Int64` when it is a whole number of magnitude at most 2^53;
    /// `nil` for anything else (another type, a fraction such as 1.5, or an out-of-range
    /// value such as 1e19, which `Int64(_:)` would trap on). Use it for every number that
    /// comes from outside.
    public var exactInt64: Int64? {
        guard case .number(let value) = self else { return nil }
        return JSONValue.exactInt64(value)
    }

    /// `value` as an `Int64` when it is whole and of magnitude at most 2^53; `nil` otherwise
    /// (NaN and the infinities included).
    public static func exactInt64(_ value: Double) -> Int64? {
        guard value.isFinite, value.rounded(.towardZero) == value, abs(value) <= maxExactInteger else { return nil }
        return Int64(value)
    }
}
