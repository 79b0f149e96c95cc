import Foundation
import VigilCore
import VigilKafka
import VigilObservability
import VigilStore

/// Where the backend is chosen, once, from the `log` setting: the service and the `vigil
/// tokens` and `vigil users` commands all come here, and nothing after asks which backend it got.
enum BackendAssembly {
    /// The backend `configuration` names, on `database` (the whole store, or on Kafka the
    /// local caches), sealing with `masterKey`.
    static func backend(
        _ configuration: VigilConfiguration, database: Database, masterKey: MasterKey, metrics: Metrics, logger: Logger
    ) throws -> any VigilBackend {
        switch configuration.log {
        case .embedded:
            return try EmbeddedBackend(
                database: database, masterKey: masterKey, metrics: metrics, logger: logger, eventReminderSeconds: eventReminderSeconds(configuration))
        case .kafka(let servers):
            do {
                return try KafkaBackend(
                    bootstrapServers: servers.joined(separator: ","), timeout: configuration.kafkaTimeoutSeconds,
                    security: try configuration.kafkaSecurity(), database: database,
                    masterKey: masterKey, processID: try processID(dataDir: configuration.dataDir), metrics: metrics, logger: logger,
                    eventReminderSeconds: eventReminderSeconds(configuration))
            } catch let error as KafkaError {
                throw ServiceError.backendUnavailable("log: \(error.description)")
            }
        }
    }

    /// `event_reminder_hours` in seconds (the check keeps it within a year, so this cannot trap).
    static func eventReminderSeconds(_ configuration: VigilConfiguration) -> Int64 {
        Int64((configuration.eventReminderHours * 3600).rounded())
    }

    /// The tokens and audit trail `vigil tokens` works on, with what closes them: on the
    /// embedded backend the tables in `local`; on Kafka the shared topics (see
    /// `KafkaBackend.tokenAdministration`), through a private cache in `scratch`.
    static func tokenAdministration(
        _ configuration: VigilConfiguration, local: Database, scratch: () throws -> Database
    ) throws -> (tokens: TokenStore, audit: AuditTrail, close: @Sendable () -> Void) {
        switch configuration.log {
        case .embedded:
            let audit = AuditTrail(database: local)
            return (TokenStore(database: local), audit, { audit.waitForPublished() })
        case .kafka(let servers):
            return try KafkaBackend.tokenAdministration(
                bootstrapServers: servers.joined(separator: ","), timeout: configuration.kafkaTimeoutSeconds, security: try configuration.kafkaSecurity(),
                local: local, cache: try scratch(),
                // The records of vigil.tokens are signed under the deployment's master key.
                masterKey: try VigilService.masterKey(configuration, logger: Logger(label: "tokens")))
        }
    }

    /// The accounts, subscribers and audit trail `vigil users` works on, with what closes them:
    /// on the embedded backend the tables in `local`; on Kafka the shared topics (see
    /// `KafkaBackend.userAdministration`), through a private cache in `scratch`.
    static func userAdministration(
        _ configuration: VigilConfiguration, local: Database, masterKey: MasterKey, scratch: () throws -> Database
    ) throws -> (accounts: AccountStore, subscribers: SubscriberRegistry, audit: AuditTrail, close: @Sendable () -> Void) {
        switch configuration.log {
        case .embedded:
            let audit = AuditTrail(database: local)
            return (
                AccountStore(database: local, seal: SecretSeal(masterKey: masterKey, purpose: SecretSeal.totpSecrets)),
                SubscriberRegistry(database: local, seal: SecretSeal(masterKey: masterKey)), audit, { audit.waitForPublished() }
            )
        case .kafka(let servers):
            return try KafkaBackend.userAdministration(
                bootstrapServers: servers.joined(separator: ","), timeout: configuration.kafkaTimeoutSeconds, security: try configuration.kafkaSecurity(),
                local: local, cache: try scratch(),
                masterKey: masterKey)
        }
    }

    /// This process's id on a Kafka deployment, kept in `process.id` in its data directory so it
    /// survives restarts: the replays it runs are recorded as its own, and it alone resumes them.
    static func processID(dataDir: String) throws -> String {
        let file = (dataDir as NSString).appendingPathComponent("process.id")
        if let text = try? String(contentsOfFile: file, encoding: .utf8), !text.isEmpty { return text.trimmingCharacters(in: .whitespacesAndNewlines) }
        let id = "proc_" + ULID().description.lowercased()
        try Data((id + "\n").utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
        return id
    }
}
