import VigilCore

/// A piece of markup that is safe to send: the only ways to make one are a string literal
/// written in the source (`"<p>"`), which is trusted, and interpolation, which escapes every
/// `String` it is given. There is no initialiser from a runtime `String`, so the unescaped
/// path cannot be written by accident: `"<td>\(alert.summary)</td>" as HTML` escapes the
/// summary, and only another `HTML` value is inserted as it is.
public struct HTML: Sendable, Equatable, ExpressibleByStringInterpolation, CustomStringConvertible {
    /// The markup, escaped where it came from outside.
    public private(set) var markup: String

    /// Markup from a literal in the source.
    public init(stringLiteral literal: StaticString) { markup = literal.description }

    /// Markup built by interpolation: literals as written, values escaped.
    public init(stringInterpolation: Interpolation) { markup = stringInterpolation.markup }

    /// No markup.
    public static let empty: HTML = ""

    public var description: String { markup }

    /// Appends `other`.
    public mutating func append(_ other: HTML) { markup += other.markup }

    /// `parts` one after the other.
    public static func joined(_ parts: some Sequence<HTML>) -> HTML {
        var result = HTML.empty
        for part in parts { result.append(part) }
        return result
    }

    /// `text` escaped for an element's content or a quoted attribute value, by the one markup
    /// escaping of Vigil (`MarkupText`, shared with the CAP documents and the feeds).
    public static func escape(_ text: String) -> String { MarkupText.escaped(text) }

    /// How `HTML` literals with interpolations are built.
    public struct Interpolation: StringInterpolationProtocol, Sendable {
        var markup = ""

        public init(literalCapacity: Int, interpolationCount: Int) { markup.reserveCapacity(literalCapacity + interpolationCount * 16) }

        /// A literal part of the source, trusted.
        public mutating func appendLiteral(_ literal: StaticString) { markup += literal.description }

        /// Text from anywhere, escaped.
        public mutating func appendInterpolation(_ text: String) { markup += HTML.escape(text) }

        /// Text from anywhere, escaped; nothing for `nil`.
        public mutating func appendInterpolation(_ text: String?) { if let text { markup += HTML.escape(text) } }

        /// A number, which needs no escaping.
        public mutating func appendInterpolation(_ number: Int) { markup += String(number) }

        /// A number, which needs no escaping.
        public mutating func appendInterpolation(_ number: Int64) { markup += String(number) }

        /// Markup that is already safe.
        public mutating func appendInterpolation(_ html: HTML) { markup += html.markup }

        /// Several pieces of markup, in order.
        public mutating func appendInterpolation(_ parts: [HTML]) { for part in parts { markup += part.markup } }
    }
}
