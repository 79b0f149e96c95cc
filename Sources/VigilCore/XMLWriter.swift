/// A small writer of UTF-8 XML: elements without attributes other than a default namespace,
/// text escaped as it is written. VigilCore depends on Foundation only, so CAP documents are
/// written with this rather than FoundationXML; every text goes through `escaped(_:)`.
public struct XMLWriter: Sendable {
    /// The document so far.
    public private(set) var bytes: [UInt8]
    private var open: [String] = []

    /// A document that starts with the XML declaration (version 1.0, UTF-8).
    public init(capacity: Int = 2048) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes += Array("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".utf8)
    }

    /// Opens element `name` (a fixed name, never outside input), declaring `namespace` as
    /// the default namespace when given.
    public mutating func begin(_ name: String, namespace: String? = nil) {
        indent()
        bytes += Array("<\(name)".utf8)
        if let namespace { bytes += Array(" xmlns=\"\(XMLWriter.escaped(namespace))\"".utf8) }
        bytes += Array(">\n".utf8)
        open.append(name)
    }

    /// Closes the innermost open element.
    public mutating func end() {
        guard let name = open.popLast() else { return }
        indent()
        bytes += Array("</\(name)>\n".utf8)
    }

    /// `<name>text</name>`, the text escaped.
    public mutating func element(_ name: String, _ text: String) {
        indent()
        bytes += Array("<\(name)>".utf8)
        bytes += Array(XMLWriter.escaped(text).utf8)
        bytes += Array("</\(name)>\n".utf8)
    }

    /// `element(name, text)` when there is a text.
    public mutating func element(_ name: String, ifPresent text: String?) {
        if let text { element(name, text) }
    }

    private mutating func indent() { bytes += Array(repeating: UInt8(ascii: " "), count: open.count * 2) }

    /// `text` as XML 1.0 character data, escaped by the one markup escaping (`MarkupText`).
    public static func escaped(_ text: String) -> String { MarkupText.escaped(text) }
}
