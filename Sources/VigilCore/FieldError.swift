/// One thing wrong with one field of a submission, named by its JSON path
/// (`defender.name`, `links[2]`) so the filer can fix it without guessing.
public struct FieldError: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    /// The JSON path of the offending field.
    public let field: String
    /// What is wrong and what would be right, in a sentence.
    public let message: String

    /// A problem with `field`, explained by `message`.
    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// Every problem found in a submission; the API answers it as `422` with each field named.
public struct ValidationFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// All problems, in the order the fields were checked.
    public let fields: [FieldError]

    /// A failure made of `fields`; never empty in practice.
    public init(_ fields: [FieldError]) { self.fields = fields }

    public var description: String { fields.map(\.description).joined(separator: "; ") }
}

extension ValidationFailure {
    /// Parses a request body as JSON, or fails with one field error at `$` saying why.
    public static func parseBody(_ bytes: [UInt8]) throws(ValidationFailure) -> JSONValue {
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw ValidationFailure([FieldError("$", "the body is not valid JSON: \(error.description)")])
        }
    }
}
