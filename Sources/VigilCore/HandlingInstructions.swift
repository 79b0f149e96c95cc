/// What the filer, having consulted the defender, asks of everyone who receives the alert
/// ("do no harm", issue 19): the router never delivers to an excluded subscriber or kind,
/// and an acknowledgement whose action goes against an instruction is refused.
public struct HandlingInstructions: Sendable, Equatable, Codable {
    /// No public statement about the defender.
    public var noPublicStatement: Bool
    /// No contact with the authorities about the defender.
    public var noContactWithAuthorities: Bool
    /// No contact with the defender.
    public var noContactWithDefender: Bool
    /// Kinds of subscriber the alert must not reach, sorted.
    public var excludeKinds: [SubscriberKind]
    /// Subscribers (by id) the alert must not reach, sorted.
    public var excludeSubscribers: [String]
    /// Free text for the recipients; sealed with the identity like every free text.
    public var note: String?

    enum CodingKeys: String, CodingKey {
        case noPublicStatement = "no_public_statement"
        case noContactWithAuthorities = "no_contact_with_authorities"
        case noContactWithDefender = "no_contact_with_defender"
        case excludeKinds = "exclude_kinds"
        case excludeSubscribers = "exclude_subscribers"
        case note
    }

    /// Instructions; by default none.
    public init(
        noPublicStatement: Bool = false, noContactWithAuthorities: Bool = false, noContactWithDefender: Bool = false,
        excludeKinds: [SubscriberKind] = [], excludeSubscribers: [String] = [], note: String? = nil
    ) {
        self.noPublicStatement = noPublicStatement
        self.noContactWithAuthorities = noContactWithAuthorities
        self.noContactWithDefender = noContactWithDefender
        self.excludeKinds = Array(Set(excludeKinds)).sorted { $0.rawValue < $1.rawValue }
        self.excludeSubscribers = Array(Set(excludeSubscribers)).sorted()
        self.note = note
    }

    /// Whether `subscriber` is excluded, by its id or its kind.
    public func excludes(_ subscriber: Subscriber) -> Bool {
        excludeSubscribers.contains(subscriber.id) || excludeKinds.contains(subscriber.kind)
    }

    /// The instruction `action` goes against (its field name, for a `409`), or `nil`.
    public func forbids(_ action: AckAction) -> String? {
        switch action {
        case .publicStatement where noPublicStatement: "no_public_statement"
        case .demarche where noContactWithAuthorities, .trialObservation where noContactWithAuthorities,
            .prisonVisit where noContactWithAuthorities:
            "no_contact_with_authorities"
        case .prisonVisit where noContactWithDefender, .relocationSupport where noContactWithDefender: "no_contact_with_defender"
        default: nil
        }
    }

    /// The instructions without their free text: what routing reads and what the log keeps
    /// outside the seal.
    public var withoutNote: HandlingInstructions {
        var copy = self
        copy.note = nil
        return copy
    }

    /// Whether there is any instruction at all.
    public var isEmpty: Bool { self == HandlingInstructions() }
}

extension HandlingInstructions {
    /// Writes the instructions as one object, keys sorted as `VigilJSON` writes them, the
    /// note only when there is one: the one form the log, the webhooks and the routing column use.
    public func write(to w: inout JSONWriter) {
        w.beginObject()
        w.key("exclude_kinds")
        w.strings(excludeKinds.map(\.rawValue))
        w.key("exclude_subscribers")
        w.strings(excludeSubscribers)
        w.key("no_contact_with_authorities")
        w.bool(noContactWithAuthorities)
        w.key("no_contact_with_defender")
        w.bool(noContactWithDefender)
        w.key("no_public_statement")
        w.bool(noPublicStatement)
        w.field("note", note)
        w.endObject()
    }
}
