/// Everything in an alert that can identify the defender: what is sealed at rest under the
/// alert's data key and becomes `[erased]` when that key is deleted.
///
/// The summary and region are included whole, because filers sometimes repeat the name
/// there; the log keeps them scrubbed (see `Alert.replacingIdentity(with:)`) so operators
/// can still read a case after an erasure.
public struct AlertIdentity: Sendable, Equatable, Codable {
    /// `defender.name`.
    public var name: String
    /// `defender.organisation`.
    public var organisation: String?
    /// `defender.role`.
    public var role: String?
    /// The unscrubbed summary.
    public var summary: String
    /// The unscrubbed region.
    public var region: String?

    /// An identity record.
    public init(name: String, organisation: String?, role: String?, summary: String, region: String?) {
        self.name = name
        self.organisation = organisation
        self.role = role
        self.summary = summary
        self.region = region
    }
}

extension AlertIdentity {
    /// The identity as compact JSON, written with `JSONWriter` (it is sealed on every
    /// append, where Foundation's encoder would cost more than the encryption).
    public var jsonBytes: [UInt8] {
        var w = JSONWriter(capacity: 64 + name.utf8.count + summary.utf8.count)
        w.beginObject()
        w.field("name", name)
        w.field("organisation", organisation)
        w.field("role", role)
        w.field("summary", summary)
        w.field("region", region)
        w.endObject()
        return w.bytes
    }

    /// An identity read back from `jsonBytes`, or `nil` when the bytes are not one.
    public init?(json bytes: [UInt8]) {
        guard case .object(let fields)? = try? JSONParser.parse(bytes), case .string(let name)? = fields["name"],
            case .string(let summary)? = fields["summary"]
        else { return nil }
        func optional(_ key: String) -> String? { if case .string(let text)? = fields[key] { text } else { nil } }
        self.init(name: name, organisation: optional("organisation"), role: optional("role"), summary: summary, region: optional("region"))
    }
}

extension Alert {
    /// The identifying fields of this alert.
    public var identity: AlertIdentity {
        AlertIdentity(name: defender.name, organisation: defender.organisation, role: defender.role, summary: summary, region: region)
    }

    /// The form kept in the log: every identity field `[erased]`, so that the log, its
    /// backups and any Kafka copy read as erased once the data key is gone.
    public var sealedView: Alert { replacingIdentity(with: RedactionMark.erased) }

    /// This alert with `identity` put back into its identity fields.
    public func restoring(_ identity: AlertIdentity) -> Alert {
        var copy = self
        copy.defender.name = identity.name
        copy.defender.organisation = identity.organisation
        copy.defender.role = identity.role
        copy.summary = identity.summary
        copy.region = identity.region
        return copy
    }
}
