import VigilCore

/// What a console account may do (issue 20). A role never widens what its organisation and
/// clearance allow: a partner sees its own organisation's alerts, a desk its subscribers' feed.
public enum AccountRole: String, Vocabulary {
    /// Files alerts and follows its organisation's alerts and cases.
    case partner
    /// Reads and acknowledges the feed of the subscribers it is bound to, and manages their settings.
    case desk
    /// Deliveries, dead letters, replays, the audit trail and subscribers, across organisations.
    case `operator`
    /// Accounts: invites, disables, and everything an operator does.
    case admin

    /// Whether TOTP is mandatory for this role (operators and admins).
    public var requiresTOTP: Bool { self == .operator || self == .admin }
}

/// A person who signs in to the console. The password is kept only as its scrypt hash, the
/// TOTP secret only sealed under the master key.
public struct Account: Sendable, Equatable {
    /// A public handle (`acct_…`), the actor the audit trail names.
    public let id: String
    /// The sign-in name, lowercased.
    public let email: String
    /// The organisation the account acts for.
    public let organisation: String
    /// What the account may do.
    public var role: AccountRole
    /// The highest confidentiality whose identities the account may read.
    public var clearance: Confidentiality
    /// The language of its pages (`en`, `fr`, `nl`, `es`, `ru`).
    public var language: String
    /// For a desk: the subscribers (of its organisation) whose feed it reads and acknowledges.
    public var subscriberIDs: [String]
    /// The password's encoded scrypt hash (`PasswordHash`'s text form).
    public var passwordHash: String
    /// Whether the account has enrolled a TOTP authenticator.
    public var totpEnrolled: Bool
    /// Sessions created before this instant are no longer valid (a password change, a disable).
    public var sessionsValidAfter: Timestamp
    /// When it was made.
    public let createdAt: Timestamp
    /// When it was disabled, if it was; a disabled account cannot sign in.
    public var disabledAt: Timestamp?

    /// An account record.
    public init(
        id: String, email: String, organisation: String, role: AccountRole, clearance: Confidentiality, language: String,
        subscriberIDs: [String], passwordHash: String, totpEnrolled: Bool, sessionsValidAfter: Timestamp, createdAt: Timestamp,
        disabledAt: Timestamp? = nil
    ) {
        self.id = id
        self.email = email
        self.organisation = organisation
        self.role = role
        self.clearance = clearance
        self.language = language
        self.subscriberIDs = subscriberIDs
        self.passwordHash = passwordHash
        self.totpEnrolled = totpEnrolled
        self.sessionsValidAfter = sessionsValidAfter
        self.createdAt = createdAt
        self.disabledAt = disabledAt
    }

    /// The languages the console speaks; an account's is one of these (`en` unless told).
    public static let languages = ["en", "fr", "nl", "es", "ru"]
}

/// An invitation to make an account: valid for 72 hours, used once. Only the SHA-256 of its
/// token is stored; the token itself is in the link the inviter hands over.
public struct Invitation: Sendable, Equatable {
    /// A public handle (`inv_…`).
    public let id: String
    /// Who it is for; the account takes this email.
    public let email: String
    /// The account's organisation, role, clearance, language and (desks) subscribers.
    public let organisation: String
    public let role: AccountRole
    public let clearance: Confidentiality
    public let language: String
    public let subscriberIDs: [String]
    /// Who invited (an account id, or `local:<user>` from the command line).
    public let invitedBy: String
    /// When it was made and when it stops working.
    public let createdAt: Timestamp
    public let expiresAt: Timestamp
    /// When it was used, if it was.
    public let usedAt: Timestamp?

    /// An invitation record.
    public init(
        id: String, email: String, organisation: String, role: AccountRole, clearance: Confidentiality, language: String,
        subscriberIDs: [String], invitedBy: String, createdAt: Timestamp, expiresAt: Timestamp, usedAt: Timestamp? = nil
    ) {
        self.id = id
        self.email = email
        self.organisation = organisation
        self.role = role
        self.clearance = clearance
        self.language = language
        self.subscriberIDs = subscriberIDs
        self.invitedBy = invitedBy
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.usedAt = usedAt
    }

    /// How long an invitation stays valid: 72 hours.
    public static let lifetimeMilliseconds: Int64 = 72 * 3600 * 1000
}

/// A signed-in browser. Only the SHA-256 of its 256-bit random id is stored.
public struct ConsoleSession: Sendable, Equatable {
    /// How far a session has come: a password alone is not enough for an account with TOTP.
    public enum Stage: String, Sendable {
        /// The password was right; the TOTP code is still to come.
        case awaitingTOTP = "awaiting_totp"
        /// Signed in.
        case signedIn = "signed_in"
    }

    /// The account it belongs to.
    public let accountID: String
    /// How far sign-in has come.
    public let stage: Stage
    /// When it was made (the 12-hour absolute limit counts from here).
    public let createdAt: Timestamp
    /// When it was last used (the 30-minute idle limit counts from here).
    public let lastSeenAt: Timestamp

    /// A session record.
    public init(accountID: String, stage: Stage, createdAt: Timestamp, lastSeenAt: Timestamp) {
        self.accountID = accountID
        self.stage = stage
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
    }

    /// A session unused this long is over: 30 minutes.
    public static let idleMilliseconds: Int64 = 30 * 60 * 1000
    /// A session is over this long after it began, used or not: 12 hours.
    public static let absoluteMilliseconds: Int64 = 12 * 3600 * 1000
    /// A session waiting for its TOTP code is over after 5 minutes.
    public static let awaitingTOTPMilliseconds: Int64 = 5 * 60 * 1000
}
