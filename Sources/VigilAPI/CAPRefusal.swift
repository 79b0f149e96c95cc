/// Why a body sent as `application/cap+xml` is not read at all: the API answers `400` with
/// the description. Problems with what a readable CAP document says are `422` field errors
/// instead (see `CAPSubmission`).
public enum CAPRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bytes are not UTF-8 (or hold a NUL).
    case notUTF8
    /// The document declares a DTD, an entity or another markup declaration (`<!DOCTYPE`, `<!ENTITY`, …).
    case declaration(String)
    /// The XML declaration names an encoding other than UTF-8.
    case encoding(String)
    /// Elements nest deeper than the limit.
    case tooDeep(limit: Int)
    /// More elements than the limit.
    case tooManyElements(limit: Int)
    /// The XML parser refused the document.
    case notWellFormed(line: Int, reason: String)

    /// What was refused and what to send instead.
    public var description: String {
        switch self {
        case .notUTF8: "a CAP document must be UTF-8 text without NUL bytes"
        case .declaration(let found):
            "the document holds a markup declaration ('\(found)'): DTDs, entities and entity expansion are refused; send CAP 1.2 without a DOCTYPE"
        case .encoding(let name): "the XML declaration names the encoding '\(name)'; send CAP documents in UTF-8"
        case .tooDeep(let limit): "elements nest more than \(limit) deep; a CAP 1.2 alert needs at most 5"
        case .tooManyElements(let limit): "the document holds more than \(limit) elements; send one alert with one info block"
        case .notWellFormed(let line, let reason): "the body is not well-formed XML (line \(line)): \(reason)"
        }
    }
}
