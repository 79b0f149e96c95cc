import Foundation
import VigilCore
import VigilCrypto
import VigilServer
import VigilStore

/// `vigil tokens create|list|revoke`: manages bearer tokens in the local store, on the host
/// that runs the service.
enum TokensCommand: Command {
    static let path = ["tokens"]
    static let summary = "create, list or revoke API tokens (in the local store, or on Kafka's vigil.tokens)"
    static let switches: Set<String> = ["json", "help"]
    static let help = """
        usage: vigil tokens create --org ORGANISATION --scopes alerts:write,alerts:read,subscribers:admin,replay
                                   [--clearance public|restricted|confidential] [--data-dir DIR] [--json]
               vigil tokens list [--data-dir DIR] [--json]
               vigil tokens revoke TOKEN_ID [--data-dir DIR]

        Works on the store in data_dir directly (run it where the service runs); on Kafka (log or
        VIGIL_LOG kafka://…) on the shared vigil.tokens topic, so every process learns of the change.
        create prints the secret once; only its SHA-256 is kept. A revoked token stops working within
        two seconds.
        """

    static func run(_ arguments: inout Arguments, environment: [String: String]) throws {
        guard let action = arguments.positional.first else { throw UsageError("say create, list or revoke") }
        let json = arguments.flag("json")
        let organisation = arguments.value("org"), scopesText = arguments.value("scopes"), clearanceText = arguments.value("clearance")
        let configuration = try loadConfiguration(
            &arguments, environment: environment, flagsOf: VigilConfiguration.settings.filter { $0.keyPath == \VigilConfiguration.dataDir })
        try arguments.finish()
        let administration = try TokenAdministration(configuration: configuration)
        defer { administration.close() }
        let tokens = administration.tokens
        let localOperator = "local:" + NSUserName()
        switch action {
        case "create":
            guard let organisation, !organisation.isEmpty else { throw UsageError("--org is required") }
            guard let scopesText else { throw UsageError("--scopes is required, for example alerts:write") }
            var scopes = Set<Scope>()
            for word in scopesText.split(separator: ",") {
                guard let scope = Scope(rawValue: String(word)) else { throw UsageError("unknown scope '\(word)'; scopes are \(Scope.allowedWords)") }
                scopes.insert(scope)
            }
            let clearance = try clearanceText.map { text throws(UsageError) -> Confidentiality in
                guard let value = Confidentiality(rawValue: text) else { throw UsageError("--clearance must be one of \(Confidentiality.allowedWords)") }
                return value
            } ?? .public
            let (record, secret) = try administration.create(
                organisation: organisation, scopes: scopes, clearance: clearance, issuer: .localOperator(localOperator))
            if json {
                struct Created: Encodable { let id: String; let token: String; let organisation: String; let scopes: [String]; let clearance: String }
                try printJSON(Created(id: record.id, token: secret, organisation: organisation, scopes: scopes.map(\.rawValue).sorted(), clearance: clearance.rawValue))
            } else {
                print(secret)
                FileHandle.standardError.write(Data("token \(record.id) for \(organisation); the secret above is shown only now\n".utf8))
            }
        case "list":
            let all = try tokens.list()
            if json {
                try printJSON(all)
            } else {
                for t in all {
                    print("\(t.id)\t\(t.organisation)\t\(t.scopes.map(\.rawValue).sorted().joined(separator: ","))\t\(t.clearance.rawValue)\t\(t.revokedAt == nil ? "live" : "revoked")")
                }
            }
        case "revoke":
            guard arguments.positional.count == 2 else { throw UsageError("give the token id to revoke, for example tok_0123abcd…") }
            guard try administration.revoke(id: arguments.positional[1], issuer: .localOperator(localOperator)) else {
                throw ClientError(description: "no live token with id \(arguments.positional[1])")
            }
            print("revoked \(arguments.positional[1])")
        default:
            throw UsageError("unknown action '\(action)'; say create, list or revoke")
        }
    }
}
