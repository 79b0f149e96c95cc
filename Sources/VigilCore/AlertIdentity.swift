/// Everything in an alert that can identify the defender: what is sealed at rest under the
/// alert's data key and becomes `[erased]` when that key is deleted.
///
/// Fail closed: besides the name, organisation and role, every field a filer writes freely
/// is sealed whole (summary, public summary, region, links, tags, the handling note and the next event's place), because filers repeat
/// names there in ways no scrubber can be sure to catch. The log keeps none of them (see
/// `Alert.sealedView`), so once the key is gone nothing of the free text can be read from
/// the log, its backups or any Kafka copy.
public struct AlertIdentity: Sendable, Equatable, Codable {
    /// `defender.name`.
    public var name: String
    /// `defender.organisation`.
    public var organisation: String?
    /// `defender.role`.
    public var role: String?
    /// The summary.
    public var summary: String
    /// The summary written for readers below the alert's confidentiality, as filed
    /// (unscrubbed; redaction scrubs it for each reader).
    public var summaryPublic: String?
    /// The region.
    public var region: String?
    /// The links; `nil` in a box sealed before links were sealed, whose log view still
    /// carries them.
    public var links: [String]?
    /// The tags; `nil` in a box sealed before tags were sealed, whose log view still
    /// carries them.
    public var tags: [String]?
    /// The free-text note of the filer's handling instructions.
    public var handlingNote: String?
    /// The place of the case's next event.
    public var eventPlace: String?

    /// An identity record.
    public init(
        name: String, organisation: String?, role: String?, summary: String, summaryPublic: String? = nil, region: String?,
        links: [String]? = [], tags: [String]? = [], handlingNote: String? = nil, eventPlace: String? = nil
    ) {
        self.name = name
        self.organisation = organisation
        self.role = role
        self.summary = summary
        self.summaryPublic = summaryPublic
        self.region = region
        self.links = links
        self.tags = tags
        self.handlingNote = handlingNote
        self.eventPlace = eventPlace
    }
}

extension AlertIdentity {
    /// The identity as compact JSON, written with `JSONWriter` (it is sealed on every
    /// append, where Foundation's encoder would cost more than the encryption).
    public var jsonBytes: [UInt8] {
        var w = JSONWriter(capacity: 96 + name.utf8.count + summary.utf8.count + (summaryPublic?.utf8.count ?? 0))
        w.beginObject()
        w.field("event_place", eventPlace)
        w.field("handling_note", handlingNote)
        w.field("name", name)
        w.field("organisation", organisation)
        w.field("role", role)
        w.field("summary", summary)
        w.field("region", region)
        w.field("summary_public", summaryPublic)
        if let links {
            w.key("links")
            w.strings(links)
        }
        if let tags {
            w.key("tags")
            w.strings(tags)
        }
        w.endObject()
        return w.bytes
    }

    /// An identity read back from `jsonBytes`, or `nil` when the bytes are not one. Boxes
    /// sealed by earlier versions lack `summary_public`, `links` and `tags`.
    public init?(json bytes: [UInt8]) {
        guard case .object(let fields)? = try? JSONParser.parse(bytes), case .string(let name)? = fields["name"],
            case .string(let summary)? = fields["summary"]
        else { return nil }
        func optional(_ key: String) -> String? { if case .string(let text)? = fields[key] { text } else { nil } }
        func strings(_ key: String) -> [String]? {
            guard case .array(let items)? = fields[key] else { return nil }
            return items.compactMap { if case .string(let text) = $0 { text } else { nil } }
        }
        self.init(
            name: name, organisation: optional("organisation"), role: optional("role"), summary: summary,
            summaryPublic: optional("summary_public"), region: optional("region"), links: strings("links"), tags: strings("tags"),
            handlingNote: optional("handling_note"), eventPlace: optional("event_place"))
    }
}

extension Alert {
    /// The identifying fields of this alert, free text included.
    public var identity: AlertIdentity {
        AlertIdentity(
            name: defender.name, organisation: defender.organisation, role: defender.role, summary: summary, summaryPublic: summaryPublic,
            region: region, links: links, tags: tags, handlingNote: handling?.note, eventPlace: nextEvent?.place)
    }

    /// The form kept in the log: every identity field and every free-text field `[erased]`
    /// (the summary, and the region and public summary when given), links and tags empty,
    /// so that the log, its backups and any Kafka copy read as erased once the data key is
    /// gone. Routing fields (country, threat, severity, …) stay readable.
    ///
    /// Also what a reader gets when the identity cannot be opened: a row written by an
    /// earlier version, whose view still held a scrubbed summary, links and tags, reads
    /// as erased all the same.
    public var sealedView: Alert {
        var copy = self
        let mark = RedactionMark.erased
        copy.defender.name = mark
        if copy.defender.organisation != nil { copy.defender.organisation = mark }
        if copy.defender.role != nil { copy.defender.role = mark }
        copy.summary = mark
        if copy.summaryPublic != nil { copy.summaryPublic = mark }
        if copy.region != nil { copy.region = mark }
        copy.links = []
        copy.tags = []
        if copy.handling?.note != nil { copy.handling?.note = mark }
        if copy.nextEvent?.place != nil { copy.nextEvent?.place = mark }
        return copy
    }

    /// This alert with `identity` put back into its identity fields. Links and tags missing
    /// from an old box are taken from this view, which carried them then.
    public func restoring(_ identity: AlertIdentity) -> Alert {
        var copy = self
        copy.defender.name = identity.name
        copy.defender.organisation = identity.organisation
        copy.defender.role = identity.role
        copy.summary = identity.summary
        copy.summaryPublic = identity.summaryPublic
        copy.region = identity.region
        if let links = identity.links { copy.links = links }
        if let tags = identity.tags { copy.tags = tags }
        if copy.handling != nil { copy.handling?.note = identity.handlingNote }
        if copy.nextEvent != nil { copy.nextEvent?.place = identity.eventPlace }
        return copy
    }
}
