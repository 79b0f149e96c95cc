/// The next dated step of a case (a hearing, an appeal, a transfer, a deadline), which the
/// desks that received the case are reminded of beforehand.
public struct CaseEvent: Sendable, Equatable, Codable {
    /// What kind of step it is.
    public enum Kind: String, Vocabulary {
        case hearing, appeal, transfer, deadline, other
    }

    /// What kind of step.
    public var type: Kind
    /// When it happens.
    public var at: Timestamp
    /// Where, if the filer says (a court, a prison); free text, sealed with the identity.
    public var place: String?

    /// A step of `type` at `at`.
    public init(type: Kind, at: Timestamp, place: String? = nil) {
        self.type = type
        self.at = at
        self.place = place
    }
}
