import VigilCore

/// A JSON Schema (the 2020-12 dialect OpenAPI 3.1 uses), as the API contract writes the
/// shape of a body, a parameter or a header; only the keywords Vigil's contract needs.
///
/// Built from Swift values (`.object`, `.words(Severity.self)`, `.ref("Alert")`) so the
/// vocabularies come from VigilCore's own enums and the limits from its own constants.
public struct OpenAPISchema: Sendable, Encodable {
    /// `type`: one name, or several (`["string", "null"]` for a nullable string).
    var types: [String] = []
    var format: String?
    var description: String?
    var enumeration: [String]?
    var constant: String?
    var properties: [String: OpenAPISchema]?
    var required: [String]?
    var additionalProperties: Bool?
    /// `items` (at most one element: an array keeps the struct finite).
    var itemSchema: [OpenAPISchema] = []
    var minItems: Int?
    var maxItems: Int?
    var uniqueItems: Bool?
    var minLength: Int?
    var maxLength: Int?
    var pattern: String?
    var minimum: Double?
    var maximum: Double?
    var oneOf: [OpenAPISchema]?
    var anyOf: [OpenAPISchema]?
    var reference: String?

    /// An empty schema: anything.
    public init() {}

    /// A reference to `name` under `#/components/schemas`.
    public static func ref(_ name: String) -> OpenAPISchema {
        var schema = OpenAPISchema()
        schema.reference = "#/components/schemas/\(name)"
        return schema
    }

    /// A string, with its bounds and format.
    public static func string(
        _ description: String? = nil, minLength: Int? = nil, maxLength: Int? = nil, pattern: String? = nil, format: String? = nil
    ) -> OpenAPISchema {
        var schema = OpenAPISchema()
        schema.types = ["string"]
        schema.description = description
        schema.minLength = minLength
        schema.maxLength = maxLength
        schema.pattern = pattern
        schema.format = format
        return schema
    }

    /// One of `words`.
    public static func words(_ words: [String], _ description: String? = nil) -> OpenAPISchema {
        var schema = string(description)
        schema.enumeration = words
        return schema
    }

    /// One word of a VigilCore vocabulary, in declaration order.
    public static func words<W: Vocabulary>(_ vocabulary: W.Type, _ description: String? = nil) -> OpenAPISchema {
        words(W.allCases.map(\.rawValue), description)
    }

    /// Exactly `value`.
    public static func constant(_ value: String) -> OpenAPISchema {
        var schema = string()
        schema.constant = value
        return schema
    }

    /// An integer within `minimum...maximum`.
    public static func integer(_ description: String? = nil, minimum: Int64? = nil, maximum: Int64? = nil) -> OpenAPISchema {
        var schema = OpenAPISchema()
        schema.types = ["integer"]
        schema.description = description
        schema.minimum = minimum.map(Double.init)
        schema.maximum = maximum.map(Double.init)
        return schema
    }

    /// A number within `minimum...maximum`.
    public static func number(_ description: String? = nil, minimum: Double? = nil, maximum: Double? = nil) -> OpenAPISchema {
        var schema = OpenAPISchema()
        schema.types = ["number"]
        schema.description = description
        schema.minimum = minimum
        schema.maximum = maximum
        return schema
    }

    /// `true` or `false`.
    public static func boolean(_ description: String? = nil) -> OpenAPISchema {
        var schema = OpenAPISchema()
        schema.types = ["boolean"]
        schema.description = description
        return schema
    }

    /// An array of `items`, with its bounds.
    public static func array(_ items: OpenAPISchema, minItems: Int? = nil, maxItems: Int? = nil, unique: Bool = false, _ description: String? = nil) -> OpenAPISchema {
        var schema = OpenAPISchema()
        schema.types = ["array"]
        schema.itemSchema = [items]
        schema.minItems = minItems
        schema.maxItems = maxItems
        schema.uniqueItems = unique ? true : nil
        schema.description = description
        return schema
    }

    /// An object with `properties`, of which `required` must be present. `closed` describes a
    /// request body as VigilCore's `FieldReader` reads one: any other property is refused, and
    /// an optional property may be `null`, which reads as absent.
    public static func object(
        _ properties: [String: OpenAPISchema], required: [String] = [], closed: Bool = false, _ description: String? = nil
    ) -> OpenAPISchema {
        var schema = OpenAPISchema()
        schema.types = ["object"]
        schema.properties = closed ? properties.reduce(into: [:]) { $0[$1.key] = required.contains($1.key) ? $1.value : $1.value.orNull } : properties
        schema.required = required.isEmpty ? nil : required.sorted()
        schema.additionalProperties = closed ? false : nil
        schema.description = description
        return schema
    }

    /// Exactly one of `choices`.
    public static func oneOf(_ choices: [OpenAPISchema], _ description: String? = nil) -> OpenAPISchema {
        var schema = OpenAPISchema()
        schema.oneOf = choices
        schema.description = description
        return schema
    }

    /// This schema, or JSON `null` (a type list where it can be, `anyOf` around a reference or an enum).
    public var orNull: OpenAPISchema {
        if types.contains("null") || anyOf?.contains(where: { $0.types == ["null"] }) == true { return self }
        guard reference == nil, !types.isEmpty, enumeration == nil, constant == nil else {
            var wrapped = OpenAPISchema()
            wrapped.anyOf = [self, OpenAPISchema.null]
            return wrapped
        }
        var schema = self
        if !schema.types.contains("null") { schema.types.append("null") }
        return schema
    }

    /// JSON `null`.
    public static var null: OpenAPISchema {
        var schema = OpenAPISchema()
        schema.types = ["null"]
        return schema
    }

    /// This schema with `description`.
    public func described(_ text: String) -> OpenAPISchema {
        var schema = self
        schema.description = text
        return schema
    }

    private typealias Key = OpenAPIKey

    /// Writes the keywords that are set, `type` as a string when there is one.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        if let reference { try c.encode(reference, forKey: Key("$ref")) }
        if types.count == 1 { try c.encode(types[0], forKey: Key("type")) } else if !types.isEmpty { try c.encode(types, forKey: Key("type")) }
        try c.encodeIfPresent(format, forKey: Key("format"))
        try c.encodeIfPresent(description, forKey: Key("description"))
        try c.encodeIfPresent(enumeration, forKey: Key("enum"))
        try c.encodeIfPresent(constant, forKey: Key("const"))
        try c.encodeIfPresent(properties, forKey: Key("properties"))
        try c.encodeIfPresent(required, forKey: Key("required"))
        try c.encodeIfPresent(additionalProperties, forKey: Key("additionalProperties"))
        if let items = itemSchema.first { try c.encode(items, forKey: Key("items")) }
        try c.encodeIfPresent(minItems, forKey: Key("minItems"))
        try c.encodeIfPresent(maxItems, forKey: Key("maxItems"))
        try c.encodeIfPresent(uniqueItems, forKey: Key("uniqueItems"))
        try c.encodeIfPresent(minLength, forKey: Key("minLength"))
        try c.encodeIfPresent(maxLength, forKey: Key("maxLength"))
        try c.encodeIfPresent(pattern, forKey: Key("pattern"))
        if let minimum { try encodeNumber(minimum, &c, Key("minimum")) }
        if let maximum { try encodeNumber(maximum, &c, Key("maximum")) }
        try c.encodeIfPresent(oneOf, forKey: Key("oneOf"))
        try c.encodeIfPresent(anyOf, forKey: Key("anyOf"))
    }

    /// Whole bounds as integers (`1000`, not `1000.0`), others as they are.
    private func encodeNumber(_ value: Double, _ c: inout KeyedEncodingContainer<Key>, _ key: Key) throws {
        if value == value.rounded(), abs(value) < 9.1e15 { try c.encode(Int64(value), forKey: key) } else { try c.encode(value, forKey: key) }
    }
}
