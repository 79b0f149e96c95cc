/// One entry of an RFC 4287 Atom feed as `AtomFeed` writes it: a stable `urn:` id, a title,
/// when it last changed, a plain-text summary and content, categories and links. Every text
/// is outside input in the end (an alert's summary, a subscriber's name), so the writer
/// escapes all of it; nothing here is markup.
public struct AtomEntry: Sendable, Equatable {
    /// An `atom:category`: a `term` within a `scheme` (a URI), with a human `label`.
    public struct Category: Sendable, Equatable {
        /// The category itself, for example `detained`.
        public var term: String
        /// What vocabulary `term` belongs to, for example `urn:vigil:case-status`.
        public var scheme: String?
        /// The category in words, for readers that show it.
        public var label: String?

        /// A category.
        public init(term: String, scheme: String? = nil, label: String? = nil) {
            self.term = term
            self.scheme = scheme
            self.label = label
        }
    }

    /// The entry's permanent id, an IRI (`urn:vigil:alert:<id>`).
    public var id: String
    /// The entry's title.
    public var title: String
    /// When the entry last changed.
    public var updated: Timestamp
    /// A short plain-text summary.
    public var summary: String
    /// The entry's plain-text content, if any.
    public var content: String?
    /// The entry's categories.
    public var categories: [Category]
    /// Links from the entry (the alternate forms of the same item).
    public var links: [AtomFeed.Link]

    /// An entry.
    public init(
        id: String, title: String, updated: Timestamp, summary: String, content: String? = nil, categories: [Category] = [],
        links: [AtomFeed.Link] = []
    ) {
        self.id = id
        self.title = title
        self.updated = updated
        self.summary = summary
        self.content = content
        self.categories = categories
        self.links = links
    }
}
