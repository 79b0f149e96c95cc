/// The person at risk. `name`, `organisation` and `role` identify them and are redacted for
/// readers without clearance; `group` says what kind of work endangers them and is not.
public struct Defender: Sendable, Equatable, Codable {
    /// The defender's name as the filer knows it.
    public var name: String
    /// The union, collective or NGO the defender belongs to.
    public var organisation: String?
    /// The defender's role, for example "trade union leader".
    public var role: String?
    /// The kind of human rights work that puts the defender at risk.
    public var group: DefenderGroup?

    /// A defender record.
    public init(name: String, organisation: String? = nil, role: String? = nil, group: DefenderGroup? = nil) {
        self.name = name
        self.organisation = organisation
        self.role = role
        self.group = group
    }
}
