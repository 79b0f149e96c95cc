import Foundation
import VigilCore

/// Who may use the console: inviting people and disabling accounts (issue 20). The one path
/// behind `vigil users invite|disable` and the console's users page, so both check an
/// invitation the same way (a desk is bound to at least one existing subscriber of its own
/// organisation, only desks are bound to subscribers, a role's default clearance) and audit
/// it the same way, naming who acted.
public struct AccountRoster: Sendable {
    /// The accounts and invitations.
    public let accounts: AccountStore
    /// The subscribers a desk invitation is checked against.
    public let subscribers: SubscriberRegistry
    /// Where invitations and disables are recorded.
    public let audit: AuditTrail

    /// The roster of `accounts`, checking desks against `subscribers`, recording in `audit`.
    public init(accounts: AccountStore, subscribers: SubscriberRegistry, audit: AuditTrail) {
        self.accounts = accounts
        self.subscribers = subscribers
        self.audit = audit
    }

    /// The role's default clearance: `public` for partners and desks, `confidential` for operators and admins.
    public static func defaultClearance(for role: AccountRole) -> Confidentiality {
        switch role {
        case .partner, .desk: .public
        case .operator, .admin: .confidential
        }
    }

    /// Checks what an invitation binds beyond its fields' shapes: a desk needs at least one
    /// subscriber, each a known subscriber of `organisation`; other roles none.
    public func checkSubscribers(_ subscriberIDs: [String], role: AccountRole, organisation: String) throws {
        let organisation = organisation.trimmingCharacters(in: .whitespacesAndNewlines)
        if role == .desk {
            guard !subscriberIDs.isEmpty else { throw InvitationError.deskWithoutSubscribers }
            for id in subscriberIDs {
                guard let subscriber = try subscribers.subscriber(id: id), subscriber.organisation == organisation else {
                    throw InvitationError.unknownSubscriber(id, organisation)
                }
            }
        } else if !subscriberIDs.isEmpty {
            throw InvitationError.subscribersOnlyForDesks
        }
    }

    /// Invites `email` to `organisation` as `role` (clearance the role's default unless
    /// given), audited as done by `invitedBy` (an account id, or `local:<user>`) of
    /// `inviterOrganisation` (the actor's, as every audit entry names); returns the
    /// invitation and its token, which goes into the link shown once. Throws
    /// `InvitationError` or `AccountError`, whose descriptions say what to change.
    public func invite(
        email: String, organisation: String, role: AccountRole, clearance: Confidentiality?, language: String, subscriberIDs: [String],
        invitedBy: String, inviterOrganisation: String
    ) throws -> (invitation: Invitation, token: String) {
        try checkSubscribers(subscriberIDs, role: role, organisation: organisation)
        let (invitation, token) = try accounts.invite(
            email: email, organisation: organisation, role: role, clearance: clearance ?? Self.defaultClearance(for: role), language: language,
            subscriberIDs: subscriberIDs, invitedBy: invitedBy)
        audit.record([AuditEntry(
            tokenID: invitedBy, organisation: inviterOrganisation, action: .accountInvited, target: invitation.id,
            detail: "\(invitation.email) of \(invitation.organisation) as \(role.rawValue), clearance \(invitation.clearance.rawValue)"
                + (subscriberIDs.isEmpty ? "" : ", subscribers \(subscriberIDs.joined(separator: ","))"))])
        return (invitation, token)
    }

    /// Disables the account whose id or email is `idOrEmail`, audited as done by `actor` of `actorOrganisation`;
    /// `changed` is `false` when it was already disabled.
    public func disable(_ idOrEmail: String, by actor: String, of actorOrganisation: String) throws -> (account: Account, changed: Bool) {
        let found = try idOrEmail.hasPrefix("acct_") ? accounts.account(id: idOrEmail) : accounts.account(email: idOrEmail)
        guard let account = found else { throw AccountError.unknownAccount(idOrEmail) }
        let changed = try accounts.disable(accountID: account.id)
        if changed {
            audit.record([AuditEntry(tokenID: actor, organisation: actorOrganisation, action: .accountDisabled, target: account.id, detail: "\(account.email) of \(account.organisation)")])
        }
        return (try accounts.account(id: account.id) ?? account, changed)
    }
}
