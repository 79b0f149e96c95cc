/// An RFC 4287 Atom feed and its writer: what a desk's feed reader pulls (issue 21). Pure:
/// it writes what it is given, every text and attribute value through `XMLWriter.escaped`,
/// the one XML escaping function Vigil has, so no alert text can break the document.
public struct AtomFeed: Sendable, Equatable {
    /// An `atom:link`: where `href` leads, how it relates (`self`, `alternate`) and its media type.
    public struct Link: Sendable, Equatable {
        /// The link's target.
        public var href: String
        /// How the target relates to the feed or entry.
        public var rel: String
        /// The target's media type, if stated.
        public var type: String?

        /// A link.
        public init(href: String, rel: String, type: String? = nil) {
            self.href = href
            self.rel = rel
            self.type = type
        }
    }

    /// The Atom namespace.
    public static let namespace = "http://www.w3.org/2005/Atom"
    /// The media type feeds are served with.
    public static let contentType = "application/atom+xml; charset=utf-8"

    /// The feed's permanent id, an IRI (`urn:vigil:feed:<subscriber id>`).
    public var id: String
    /// The feed's title.
    public var title: String
    /// When the feed last changed: its newest entry, or when it was made if it has none.
    public var updated: Timestamp
    /// Who publishes it (Atom requires an author on the feed when entries carry none).
    public var author: String
    /// The feed's links, `self` among them.
    public var links: [Link]
    /// The entries, newest first.
    public var entries: [AtomEntry]

    /// A feed.
    public init(id: String, title: String, updated: Timestamp, author: String = "Vigil", links: [Link], entries: [AtomEntry]) {
        self.id = id
        self.title = title
        self.updated = updated
        self.author = author
        self.links = links
        self.entries = entries
    }

    /// The feed as a UTF-8 XML document.
    public var bytes: [UInt8] {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out.reserveCapacity(512 + entries.count * 1200)
        out += "<feed xmlns=\"\(Self.namespace)\">\n"
        Self.text(&out, "id", id, depth: 1)
        Self.text(&out, "title", title, depth: 1, attributes: [("type", "text")])
        Self.text(&out, "updated", updated.description, depth: 1)
        out += "  <author>\n"
        Self.text(&out, "name", author, depth: 2)
        out += "  </author>\n"
        for link in links { Self.link(&out, link, depth: 1) }
        for entry in entries {
            out += "  <entry>\n"
            Self.text(&out, "id", entry.id, depth: 2)
            Self.text(&out, "title", entry.title, depth: 2, attributes: [("type", "text")])
            Self.text(&out, "updated", entry.updated.description, depth: 2)
            Self.text(&out, "summary", entry.summary, depth: 2, attributes: [("type", "text")])
            if let content = entry.content { Self.text(&out, "content", content, depth: 2, attributes: [("type", "text")]) }
            for category in entry.categories {
                var attributes = [("term", category.term)]
                if let scheme = category.scheme { attributes.append(("scheme", scheme)) }
                if let label = category.label { attributes.append(("label", label)) }
                Self.empty(&out, "category", attributes, depth: 2)
            }
            for link in entry.links { Self.link(&out, link, depth: 2) }
            out += "  </entry>\n"
        }
        out += "</feed>\n"
        return Array(out.utf8)
    }

    /// ` name="value"…`, each value escaped.
    private static func attributeText(_ attributes: [(String, String)]) -> String {
        attributes.map { " \($0.0)=\"\(XMLWriter.escaped($0.1))\"" }.joined()
    }

    /// `<name attributes>text</name>` on a line of its own, the text escaped.
    private static func text(_ out: inout String, _ name: String, _ text: String, depth: Int, attributes: [(String, String)] = []) {
        out += String(repeating: "  ", count: depth) + "<\(name)\(attributeText(attributes))>" + XMLWriter.escaped(text) + "</\(name)>\n"
    }

    /// `<name attributes/>` on a line of its own.
    private static func empty(_ out: inout String, _ name: String, _ attributes: [(String, String)], depth: Int) {
        out += String(repeating: "  ", count: depth) + "<\(name)\(attributeText(attributes))/>\n"
    }

    private static func link(_ out: inout String, _ link: Link, depth: Int) {
        var attributes = [("rel", link.rel), ("href", link.href)]
        if let type = link.type { attributes.append(("type", type)) }
        empty(&out, "link", attributes, depth: depth)
    }
}
