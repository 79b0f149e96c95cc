/// One line of the audit trail: who did what to which record, and when (issue 5).
///
/// Entries name tokens, organisations and record ids — never a defender's identity — so
/// the trail can be shown to any admin.
public struct AuditEntry: Sendable, Equatable, Codable {
    /// Position in the trail, assigned by the store; 0 before it is stored.
    public var seq: Int64
    /// When it happened.
    public var at: Timestamp
    /// The token that acted (`local` for the command line on the service's machine).
    public var tokenID: String
    /// The organisation of that token.
    public var organisation: String
    /// What was done.
    public var action: AuditAction
    /// The record acted on: an alert, case, subscriber, token or replay id.
    public var target: String
    /// Particulars, for example the clearance a restricted alert was read with.
    public var detail: String

    enum CodingKeys: String, CodingKey {
        case seq, at
        case tokenID = "token_id"
        case organisation, action, target, detail
    }

    /// An entry to record.
    public init(
        seq: Int64 = 0, at: Timestamp = .now(), tokenID: String, organisation: String, action: AuditAction, target: String,
        detail: String = ""
    ) {
        self.seq = seq
        self.at = at
        self.tokenID = tokenID
        self.organisation = organisation
        self.action = action
        self.target = target
        self.detail = detail
    }
}

/// The actions the audit trail records.
public enum AuditAction: String, Sendable, Codable, CaseIterable, Vocabulary {
    /// An alert was filed.
    case alertFiled = "alert.filed"
    /// A restricted or confidential alert was read through the API.
    case alertRead = "alert.read"
    /// An alert's or a case's identities were erased.
    case alertErased = "alert.erased"
    /// A replay was started (or dry-run).
    case replayStarted = "replay.started"
    /// Dead deliveries were put back in the queue.
    case deliveriesRetried = "deliveries.retried"
    /// A subscriber was created or replaced.
    case subscriberSaved = "subscriber.saved"
    /// A subscriber was deleted.
    case subscriberDeleted = "subscriber.deleted"
    /// A channel's webhook secret was rotated.
    case secretRotated = "subscriber.secret_rotated"
    /// A token was created.
    case tokenCreated = "token.created"
    /// A token was revoked.
    case tokenRevoked = "token.revoked"
    /// A subscriber acknowledged an alert (through its link, the API or the console), or changed its action.
    case alertAcknowledged = "alert.acknowledged"
    /// An alert went to a subscriber's escalation target because the subscriber did not acknowledge it in time.
    case alertEscalated = "alert.escalated"
    /// An update changed a case's status.
    case caseStatusChanged = "case.status_changed"
    /// A token was refused something its scopes allow but its clearance or organisation does not.
    case accessRefused = "access.refused"
    /// A console invitation was made (`vigil users invite` or the console's admin pages).
    case accountInvited = "account.invited"
    /// A console account was made from an invitation.
    case accountCreated = "account.created"
    /// A console account's role, clearance, subscribers or language changed.
    case accountUpdated = "account.updated"
    /// A console account was disabled.
    case accountDisabled = "account.disabled"
    /// Someone signed in to the console.
    case accountSignedIn = "account.signed_in"
}
