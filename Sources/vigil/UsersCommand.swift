import Foundation
import VigilCore
import VigilServer
import VigilStore

/// `vigil users invite|list|disable`: manages console accounts in the local store (or on
/// Kafka's `vigil.accounts`), on the host that runs the service.
enum UsersCommand: Command {
    static let path = ["users"]
    static let summary = "invite, list or disable console accounts (in the local store, or on Kafka's vigil.accounts)"
    static let switches: Set<String> = ["json", "help"]
    static let help = """
        usage: vigil users invite --email EMAIL --role partner|desk|operator|admin --org ORGANISATION
                                  [--clearance public|restricted|confidential] [--subscriber ID]...
                                  [--language en|fr|nl|es|ru] [--data-dir DIR] [--json]
               vigil users list [--data-dir DIR] [--json]
               vigil users disable ACCOUNT_ID_OR_EMAIL [--data-dir DIR]

        invite prints the link {public_url}/console/invite/{token} (http://<listen> when public_url
        is unset): hand it to the person invited; it is valid 72 hours and usable once, and only
        its hash is kept. A desk needs at least one --subscriber, each a subscriber of its
        organisation. The clearance is public for partners and desks and confidential for
        operators and admins unless --clearance says otherwise. Operators and admins must enrol
        an authenticator (TOTP) when they first sign in.

        disable ends the account's console sessions in every process at once.
        Works on the store in data_dir directly (run it where the service runs); on Kafka (log or
        VIGIL_LOG kafka://…) on the shared vigil.accounts topic.
        """

    static func run(_ arguments: inout Arguments, environment: [String: String]) throws {
        guard let action = arguments.positional.first else { throw UsageError("say invite, list or disable") }
        let json = arguments.flag("json")
        let email = arguments.value("email"), roleText = arguments.value("role"), organisation = arguments.value("org")
        let clearanceText = arguments.value("clearance"), language = arguments.value("language") ?? "en"
        let subscriberIDs = arguments.all("subscriber")
        let configuration = try loadConfiguration(
            &arguments, environment: environment,
            flagsOf: VigilConfiguration.settings.filter { $0.keyPath == \VigilConfiguration.dataDir })
        try arguments.finish()
        let actor = "local:" + NSUserName()
        switch action {
        case "invite":
            guard arguments.positional.count == 1 else { throw UsageError("invite takes no positional arguments") }
            guard let email, !email.isEmpty else { throw UsageError("--email is required") }
            guard let roleText else { throw UsageError("--role is required: \(AccountRole.allowedWords)") }
            guard let role = AccountRole(rawValue: roleText) else { throw UsageError("--role must be one of \(AccountRole.allowedWords)") }
            guard let organisation, !organisation.isEmpty else { throw UsageError("--org is required") }
            let clearance = try clearanceText.map { text throws(UsageError) -> Confidentiality in
                guard let value = Confidentiality(rawValue: text) else { throw UsageError("--clearance must be one of \(Confidentiality.allowedWords)") }
                return value
            }
            guard Account.languages.contains(language) else { throw UsageError("--language must be one of \(Account.languages.joined(separator: ", "))") }
            let administration = try UserAdministration(configuration: configuration)
            defer { administration.close() }
            let (invitation, url) = try administration.invite(
                email: email, organisation: organisation, role: role, clearance: clearance, language: language, subscriberIDs: subscriberIDs,
                invitedBy: actor)
            if json {
                struct Invited: Encodable {
                    let invitation_id: String, email: String, role: String, organisation: String, url: String, expires_at: Timestamp
                }
                try printJSON(Invited(
                    invitation_id: invitation.id, email: invitation.email, role: invitation.role.rawValue, organisation: invitation.organisation,
                    url: url, expires_at: invitation.expiresAt))
            } else {
                print(url)
                FileHandle.standardError.write(Data(
                    "invitation \(invitation.id) for \(invitation.email) (\(role.rawValue), \(invitation.organisation), clearance \(invitation.clearance.rawValue)): valid 72 hours, until \(invitation.expiresAt), usable once; the link above is shown only now\n".utf8))
            }
        case "list":
            guard arguments.positional.count == 1 else { throw UsageError("list takes no positional arguments") }
            let administration = try UserAdministration(configuration: configuration)
            defer { administration.close() }
            let all = try administration.accounts.accounts()
            if json {
                struct Listed: Encodable {
                    let id: String, email: String, organisation: String, role: String, clearance: String, language: String
                    let subscriber_ids: [String], totp_enrolled: Bool, created_at: Timestamp, disabled_at: Timestamp?
                }
                try printJSON(all.map {
                    Listed(
                        id: $0.id, email: $0.email, organisation: $0.organisation, role: $0.role.rawValue, clearance: $0.clearance.rawValue,
                        language: $0.language, subscriber_ids: $0.subscriberIDs, totp_enrolled: $0.totpEnrolled, created_at: $0.createdAt,
                        disabled_at: $0.disabledAt)
                })
            } else {
                for a in all {
                    print([
                        a.id, a.email, a.organisation, a.role.rawValue, a.clearance.rawValue, a.subscriberIDs.joined(separator: ","),
                        a.totpEnrolled ? "totp" : "no-totp", a.disabledAt == nil ? "active" : "disabled",
                    ].joined(separator: "\t"))
                }
            }
        case "disable":
            guard arguments.positional.count == 2 else { throw UsageError("give the account id or email to disable, for example acct_01j…") }
            let administration = try UserAdministration(configuration: configuration)
            defer { administration.close() }
            let (account, changed) = try administration.disable(arguments.positional[1], by: actor)
            print(changed ? "disabled \(account.id) (\(account.email))" : "\(account.id) (\(account.email)) was already disabled")
        default:
            throw UsageError("unknown action '\(action)'; say invite, list or disable")
        }
    }
}
