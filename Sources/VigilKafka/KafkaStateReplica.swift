import Dispatch
import Foundation
import VigilObservability
import VigilStore

/// What every process of the Kafka backend keeps of `vigil.subscribers`, `vigil.tokens`,
/// `vigil.audit`, `vigil.replays`, `vigil.acks`, `vigil.accounts` and `vigil.feeds`:
/// it empties its local tables, reads both compacted topics from the start into them, and
/// keeps following, so a subscriber or token created through any process is known to all
/// within moments. The tables are a cache; the topics are the truth.
final class KafkaStateReplica: Sendable {
    static let subscribersTopic = "vigil.subscribers"
    static let tokensTopic = "vigil.tokens"
    static let auditTopic = "vigil.audit"
    static let replaysTopic = "vigil.replays"
    static let acksTopic = AcknowledgementStore.topic
    static let accountsTopic = "vigil.accounts"
    static let feedsTopic = "vigil.feeds"

    private let follower: KafkaTopicFollower

    /// Empties the local tables and reads the topics to their end (at most `timeout` seconds);
    /// each store left out is a topic not read (`vigil tokens` reads only the tokens, `vigil
    /// users` the tokens, subscribers and accounts).
    init(
        connection: KafkaConnection, subscribers: SubscriberRegistry?, tokens: TokenStore, audit: AuditTrail? = nil, replays: ReplayStore? = nil,
        acknowledgements: AcknowledgementStore? = nil, accounts: AccountStore? = nil, feedTokens: FeedTokenStore? = nil, logger: Logger,
        timeout: Double = 30
    ) throws {
        var topics = [Self.tokensTopic]
        if subscribers != nil { topics.append(Self.subscribersTopic) }
        if audit != nil { topics.append(Self.auditTopic) }
        if replays != nil { topics.append(Self.replaysTopic) }
        if acknowledgements != nil { topics.append(Self.acksTopic) }
        if accounts != nil { topics.append(Self.accountsTopic) }
        if feedTokens != nil { topics.append(Self.feedsTopic) }
        try subscribers?.clearReplica()
        try acknowledgements?.clearReplica()
        try audit?.clearReplica()
        try replays?.clearReplica()
        try tokens.clearReplica()
        try accounts?.clearReplica()
        try feedTokens?.clearReplica()
        let tables = Tables(
            subscribers: subscribers, tokens: tokens, audit: audit, replays: replays, acknowledgements: acknowledgements, accounts: accounts,
            feedTokens: feedTokens, logger: logger)
        follower = try connection.follow(
            topics, name: "state", timeout: timeout, onRecord: { tables.apply($0) },
            onError: { error in
                logger.error("cannot read the shared state; retrying", ["error": error.description])
                return 0.5
            })
        try audit?.waitForReplica()
    }

    /// Stops following the topics.
    func stop() { follower.stop() }
}

/// The local tables a `KafkaStateReplica` fills, and how a record reaches them.
private struct Tables: Sendable {
    let subscribers: SubscriberRegistry?
    let tokens: TokenStore
    let audit: AuditTrail?
    let replays: ReplayStore?
    let acknowledgements: AcknowledgementStore?
    let accounts: AccountStore?
    let feedTokens: FeedTokenStore?
    let logger: Logger

    func apply(_ record: KafkaRecord) {
        guard let key = record.key else { return }
        let id = String(decoding: key, as: UTF8.self)
        // Subscriber, token, acknowledgement and account records hold only whole numbers, which their
        // stores convert to Int64: one out of range (`created_at: 1e19`) would trap there, so
        // it is refused here.
        if [
            KafkaStateReplica.subscribersTopic, KafkaStateReplica.tokensTopic, KafkaStateReplica.acksTopic, KafkaStateReplica.accountsTopic,
            KafkaStateReplica.feedsTopic,
        ].contains(record.topic),
            let value = record.value,
            let problem = KafkaRecordRejections.numberOutOfRange(in: value) {
            return refuse(record, problem)
        }
        do {
            if record.topic == KafkaStateReplica.subscribersTopic {
                try subscribers?.applyReplica(id: id, snapshot: record.value)
            } else if record.topic == KafkaStateReplica.acksTopic {
                try acknowledgements?.applyReplica(key: id, value: record.value)
            } else if record.topic == KafkaStateReplica.accountsTopic {
                try accounts?.applyReplica(key: id, value: record.value)
            } else if record.topic == KafkaStateReplica.feedsTopic {
                try feedTokens?.applyReplica(subscriberID: id, value: record.value)
            } else if record.topic == KafkaStateReplica.replaysTopic {
                try replays?.applyReplica(id: id, value: record.value)
            } else if record.topic == KafkaStateReplica.auditTopic {
                if let value = record.value { try audit?.applyReplica(value) }
            } else {
                try tokens.applyReplica(id: id, row: record.value)
            }
        } catch {
            refuse(record, String(describing: error))
        }
    }

    /// Skips `record`, with a log line and a count in `KafkaRecordRejections`.
    func refuse(_ record: KafkaRecord, _ reason: String) {
        logger.error("cannot apply a shared-state record; it is skipped", [
            "topic": record.topic, "partition": String(record.partition), "offset": String(record.offset), "error": reason,
        ])
        KafkaRecordRejections.count(topic: record.topic)
    }
}
