import Foundation
import VigilKafka
import VigilStore

/// The tokens as `vigil tokens` administers them, on either backend: the embedded store in
/// `data_dir`, or on Kafka the shared `vigil.tokens` topic (read into a private cache, and
/// written through it, so every running process learns of a new or revoked token), with the
/// audit entry published to `vigil.audit`.
public final class TokenAdministration: @unchecked Sendable {
    /// The tokens.
    public let tokens: TokenStore
    /// Where token creation and revocation are recorded.
    public let audit: AuditTrail
    private let databases: [Database]
    private let replica: KafkaStateReplica?
    private let scratch: String?

    /// Opens the tokens of the deployment `configuration` describes.
    public init(configuration: VigilConfiguration) throws {
        let local = try Database(path: configuration.storePath, readers: 1)
        if let servers = configuration.backend?.kafkaBootstrapServers {
            audit = AuditTrail(
                database: local,
                feed: try KafkaReplicationFeed(bootstrapServers: servers, topic: KafkaStateReplica.auditTopic, timeout: configuration.kafkaTimeoutSeconds))
            let scratch = NSTemporaryDirectory() + "vigil-tokens-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            let cache = try Database(path: scratch + "/tokens.sqlite", readers: 1)
            tokens = TokenStore(
                database: cache,
                feed: try KafkaReplicationFeed(bootstrapServers: servers, topic: KafkaStateReplica.tokensTopic, timeout: configuration.kafkaTimeoutSeconds))
            replica = try KafkaStateReplica(bootstrapServers: servers, subscribers: nil, tokens: tokens, logger: Logger(label: "tokens", enabled: false))
            databases = [local, cache]
            self.scratch = scratch
        } else {
            audit = AuditTrail(database: local)
            tokens = TokenStore(database: local)
            replica = nil
            databases = [local]
            scratch = nil
        }
    }

    /// Flushes the audit, stops following the topic and closes the files.
    public func close() {
        audit.waitForPublished()
        replica?.stop()
        for database in databases { database.close() }
        if let scratch { try? FileManager.default.removeItem(atPath: scratch) }
    }
}
