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

    /// The path invitations and disables share with the console's users page.
    private var roster: AccountRoster { AccountRoster(accounts: accounts, subscribers: subscribers, audit: audit) }

    /// Invites `email` to `organisation` as `role`, audited as done by `invitedBy`; returns the
    /// invitation and its link (`{public_url}/console/invite/{token}`, shown once). A desk needs
    /// at least one subscriber, each a known subscriber of `organisation` (`AccountRoster`).
    public func invite(
        email: String, organisation: String, role: AccountRole, clearance: Confidentiality?, language: String, subscriberIDs: [String],
        invitedBy: String
    ) throws -> (invitation: Invitation, url: String) {
        let (invitation, token) = try roster.invite(
            email: email, organisation: organisation, role: role, clearance: clearance, language: language, subscriberIDs: subscriberIDs,
            invitedBy: invitedBy, inviterOrganisation: "local")
        return (invitation, publicBase + "/console/invite/" + token)
    }

    /// Disables the account whose id or email is `idOrEmail`, audited; `false` when it was already disabled.
    public func disable(_ idOrEmail: String, by actor: String) throws -> (account: Account, changed: Bool) {
        try roster.disable(idOrEmail, by: actor, of: "local")
    }

    /// Flushes the audit, stops following the topics and closes the files.
    public func close() {
        closeBackend()
        for database in databases.withLock({ $0 }) { database.close() }
        try? FileManager.default.removeItem(atPath: scratch)
    }
}
