/// A subscriber's answer to an alert: it has seen it and says what it is doing. One per
/// (alert, subscriber), for all its channels; a later one updates the action.
public struct Acknowledgement: Sendable, Equatable, Codable {
    /// How the acknowledgement came in.
    public enum Via: String, Vocabulary {
        /// The signed `ack_url` of a webhook or email.
        case link
        /// `POST /v1/alerts/{id}/acks` with a token.
        case api
        /// The web console.
        case console
    }

    /// The alert acknowledged.
    public var alertID: String
    /// Who acknowledged.
    public var subscriberID: String
    /// The subscriber's organisation and kind, when it acknowledged.
    public var organisation: String
    public var kind: SubscriberKind
    /// What it is doing.
    public var action: AckAction
    /// When (the latest acknowledgement's time).
    public var at: Timestamp
    /// How.
    public var via: Via
    /// Free text, sealed with the alert's identity and erased with it; `nil` when none was
    /// given, or once erased.
    public var note: String?

    enum CodingKeys: String, CodingKey {
        case alertID = "alert_id"
        case subscriberID = "subscriber_id"
        case organisation, kind, action, at, via, note
    }

    /// An acknowledgement.
    public init(
        alertID: String, subscriberID: String, organisation: String, kind: SubscriberKind, action: AckAction, at: Timestamp, via: Via,
        note: String? = nil
    ) {
        self.alertID = alertID
        self.subscriberID = subscriberID
        self.organisation = organisation
        self.kind = kind
        self.action = action
        self.at = at
        self.via = via
        self.note = note
    }
}
