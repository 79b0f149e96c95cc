/// Who filed an alert. The organisation comes from the filer's token, never from the body.
public struct AlertSource: Sendable, Equatable, Codable {
    /// The partner organisation that filed the alert.
    public var organisation: String

    /// A source for `organisation`.
    public init(organisation: String) { self.organisation = organisation }
}
