import Foundation
import Synchronization
import VigilCore
import VigilObservability
import VigilStore

/// The console accounts as `vigil users` administers them, on either backend: the embedded
/// store in `data_dir`, or on Kafka the shared `vigil.accounts` topic (read into a private
/// cache and written through it, so every running process learns of a new invitation or a
/// disabled account), with subscribers read to check a desk's, and audit entries published
/// to `vigil.audit`.
public final class UserAdministration: Sendable {
    /// The accounts and invitations.
    public let accounts: AccountStore
    /// The subscribers a desk invitation is checked against.
    public let subscribers: SubscriberRegistry
    /// Where invitations and disables are recorded.
    public let audit: AuditTrail
    /// The base of invitation links: `public_url`, else `http://<listen>`, without a trailing slash.
    public let publicBase: String
    private let databases: Mutex<[Database]>
    private let closeBackend: @Sendable () -> Void
    private let scratch: String

    /// Opens the accounts of the deployment `configuration` describes (its master key seals TOTP secrets).
    public init(configuration: VigilConfiguration) throws {
        try FileManager.default.createDirectory(atPath: configuration.dataDir, withIntermediateDirectories: true)
        let masterKey = try VigilService.masterKey(configuration, logger: Logger(label: "users"))
        let local = try Database(path: configuration.storePath, readers: 1)
        let databases = Mutex([local])
        let scratch = NSTemporaryDirectory() + "vigil-users-\(UUID().uuidString)"
        do {
            (accounts, subscribers, audit, closeBackend) = try BackendAssembly.userAdministration(configuration, local: local, masterKey: masterKey) {
                try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
                let cache = try Database(path: scratch + "/users.sqlite", readers: 1)
                databases.withLock { $0.append(cache) }
                return cache
            }
        } catch {
            for database in databases.withLock({ $0 }) { database.close() }
            try? FileManager.default.removeItem(atPath: scratch)
            throw error
        }
        self.databases = databases
        self.scratch = scratch
        var base = configuration.publicURL ?? "http://\(configuration.listen)"
        while base.hasSuffix("/") { base.removeLast() }
        publicBase = base
    }

    /// The role's default clearance: `public` for partners and desks, `confidential` for operators and admins.
    public static func defaultClearance(for role: AccountRole) -> Confidentiality {
        switch role {
        case .partner, .desk: .public
        case .operator, .admin: .confidential
        }
    }

    /// Invites `email` to `organisation` as `role`, audited as done by `invitedBy`; returns the
    /// invitation and its link (`{public_url}/console/invite/{token}`, shown once). A desk needs
    /// at least one subscriber, each a known subscriber of `organisation`.
    public func invite(
        email: String, organisation: String, role: AccountRole, clearance: Confidentiality?, language: String, subscriberIDs: [String],
        invitedBy: String
    ) throws -> (invitation: Invitation, url: String) {
        if role == .desk {
            guard !subscriberIDs.isEmpty else { throw UserAdministrationError.deskWithoutSubscribers }
            for id in subscriberIDs {
                guard let subscriber = try subscribers.subscriber(id: id) else { throw UserAdministrationError.unknownSubscriber(id, organisation) }
                guard subscriber.organisation == organisation else { throw UserAdministrationError.unknownSubscriber(id, organisation) }
            }
        } else if !subscriberIDs.isEmpty {
            throw UserAdministrationError.subscribersOnlyForDesks
        }
        let (invitation, token) = try accounts.invite(
            email: email, organisation: organisation, role: role, clearance: clearance ?? Self.defaultClearance(for: role), language: language,
            subscriberIDs: subscriberIDs, invitedBy: invitedBy)
        audit.record([AuditEntry(
            tokenID: invitedBy, organisation: invitation.organisation, action: .accountInvited, target: invitation.id,
            detail: "\(invitation.email) as \(role.rawValue), clearance \(invitation.clearance.rawValue)"
                + (subscriberIDs.isEmpty ? "" : ", subscribers \(subscriberIDs.joined(separator: ","))"))])
        return (invitation, publicBase + "/console/invite/" + token)
    }

    /// Disables the account whose id or email is `idOrEmail`, audited; `false` when it was already disabled.
    public func disable(_ idOrEmail: String, by actor: String) throws -> (account: Account, changed: Bool) {
        let found = try idOrEmail.hasPrefix("acct_") ? accounts.account(id: idOrEmail) : accounts.account(email: idOrEmail)
        guard let account = found else { throw AccountError.unknownAccount(idOrEmail) }
        let changed = try accounts.disable(accountID: account.id)
        if changed {
            audit.record([AuditEntry(tokenID: actor, organisation: account.organisation, action: .accountDisabled, target: account.id, detail: account.email)])
        }
        return (try accounts.account(id: account.id) ?? account, changed)
    }

    /// Flushes the audit, stops following the topics and closes the files.
    public func close() {
        closeBackend()
        for database in databases.withLock({ $0 }) { database.close() }
        try? FileManager.default.removeItem(atPath: scratch)
    }
}

/// Why `vigil users` refused an invitation.
public enum UserAdministrationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A desk account reads its subscribers' feed, so it needs at least one.
    case deskWithoutSubscribers
    /// The subscriber is unknown, or belongs to another organisation.
    case unknownSubscriber(String, String)
    /// Only desks are bound to subscribers.
    case subscribersOnlyForDesks

    public var description: String {
        switch self {
        case .deskWithoutSubscribers: "a desk account needs at least one --subscriber (the subscribers whose feed it reads)"
        case .unknownSubscriber(let id, let organisation):
            "\(id) is not a subscriber of \(organisation); see vigil subscribers list"
        case .subscribersOnlyForDesks: "--subscriber is only for desk accounts"
        }
    }
}
