/// A key of the OpenAPI document named at the point of use (`$ref`, `application/json`, a
/// status code), for the document's hand-written `encode(to:)`s.
struct OpenAPIKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
