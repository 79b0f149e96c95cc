import Foundation
import Synchronization
import VigilCore
import VigilObservability

/// A process's clients of one Kafka cluster: the one producer every writer shares (the log,
/// the delivery queue, the replication feeds), and every reader it hands out (topic
/// followers, group consumers), all stopped by one `shutdown()`.
///
/// Sharing one producer keeps every write of the process in one idempotent stream (so a
/// delivery's "in flight" record cannot overtake its outcome, whichever object wrote it) and
/// one set of broker connections, where each writer used to bring its own.
public final class KafkaConnection: Sendable {
    /// The `bootstrap.servers` list.
    public let bootstrapServers: String
    /// The producer every writer of this process shares.
    public let producer: KafkaProducer
    /// Where its clients' log lines go (librdkafka's own, and refused records').
    public let logger: Logger
    /// How every client of this connection authenticates and encrypts.
    public let security: KafkaSecurity
    /// Signs every record the producer writes and checks every record the readers read.
    public let signer: KafkaRecordSigner
    private let readers = Mutex(Readers())

    /// The readers handed out, and whether `shutdown()` has begun.
    private struct Readers {
        var open = true
        var followers: [KafkaTopicFollower] = []
        var consumers: [KafkaConsumer] = []
    }

    /// Connects to `bootstrapServers` as `security` says, signing and checking records with
    /// `signer`; a write the brokers have not taken within `writeTimeout` seconds fails. Its
    /// clients log to `logger`.
    public init(
        bootstrapServers: String, signer: KafkaRecordSigner, writeTimeout: Double = 10, security: KafkaSecurity = .plaintext,
        logger: Logger = Logger(label: "kafka")
    ) throws(KafkaError) {
        if let problem = security.problem { throw KafkaError("Kafka security: \(problem)") }
        self.bootstrapServers = bootstrapServers
        self.logger = logger
        self.security = security
        self.signer = signer
        let milliseconds = min(max(DeliveryArithmetic.milliseconds(fromSeconds: writeTimeout), 0), Int64(Int32.max))
        producer = try KafkaProducer(
            bootstrapServers: bootstrapServers, extra: [("message.timeout.ms", String(milliseconds))] + security.properties, signer: signer,
            logger: logger)
    }

    /// Reads every partition of `topics` from the beginning on a thread of its own (named
    /// `vigil-kafka-<name>`), handing each record to `onRecord` there, and each one that
    /// fails its signature (counted and logged already) to `onRefused`, never to `onRecord`; a
    /// failed poll is reported to `onError`, which answers how many seconds to pause before
    /// the next. Returns once the topics have been read to their end, or throws after `timeout` seconds.
    public func follow(
        _ topics: [String], name: String, timeout: Double = 30, onRecord: @escaping @Sendable (KafkaRecord) -> Void,
        onRefused: @escaping @Sendable (KafkaRecord) -> Void = { _ in }, onError: @escaping @Sendable (KafkaError) -> Double
    ) throws(KafkaError) -> KafkaTopicFollower {
        let follower = try KafkaTopicFollower(
            reader: KafkaTopicReader(bootstrapServers: bootstrapServers, topics: topics, extra: security.properties, signer: signer, logger: logger),
            name: name, onRecord: onRecord, onRefused: onRefused, onError: onError)
        guard register({ $0.followers.append(follower) }) else {
            follower.stop()
            throw KafkaError("the Kafka connection is shut down; this process is stopping")
        }
        guard follower.reader.waitUntilCaughtUp(timeout: timeout) else {
            follower.stop()
            let list = topics.count == 1 ? "\(topics[0]) to its end" : "\(topics.dropLast().joined(separator: ", ")) and \(topics.last!) to their end"
            throw KafkaError("could not read \(list) within \(Int(timeout)) s")
        }
        return follower
    }

    /// A new member of consumer group `group` reading `topics`; `shutdown()` closes it. A
    /// record that fails its signature comes back `refused`: commit it, apply nothing from it.
    public func consumer(group: String, topics: [String]) throws(KafkaError) -> KafkaConsumer {
        let consumer = try KafkaConsumer(
            bootstrapServers: bootstrapServers, group: group, topics: topics, extra: security.properties, signer: signer, logger: logger)
        guard register({ $0.consumers.append(consumer) }) else {
            consumer.close()
            throw KafkaError("the Kafka connection is shut down; this process is stopping")
        }
        return consumer
    }

    /// Adds a reader while the connection is open; `false` once it is shut down.
    private func register(_ add: (inout Readers) -> Void) -> Bool {
        readers.withLock { readers in
            guard readers.open else { return false }
            add(&readers)
            return true
        }
    }

    /// Stops every follower (joining its thread), leaves every consumer group, then waits
    /// (up to 5 s) for the producer's messages in flight and frees it. Idempotent; each
    /// reader's owner may have stopped it before.
    public func shutdown() {
        let (followers, consumers) = readers.withLock { readers in
            defer { readers = Readers(open: false) }
            return (readers.followers, readers.consumers)
        }
        for follower in followers { follower.stop() }
        for consumer in consumers { consumer.close() }
        producer.shutdown()
    }

    deinit { shutdown() }
}

/// A `KafkaTopicReader` read on a thread of its own until `stop()`.
public final class KafkaTopicFollower: Sendable {
    /// The reader, polled by the thread.
    let reader: KafkaTopicReader
    private let thread: KafkaThread

    init(
        reader: KafkaTopicReader, name: String, onRecord: @escaping @Sendable (KafkaRecord) -> Void,
        onRefused: @escaping @Sendable (KafkaRecord) -> Void, onError: @escaping @Sendable (KafkaError) -> Double
    ) throws(KafkaError) {
        self.reader = reader
        do throws(KafkaError) {
            thread = try KafkaThread(name: "vigil-kafka-\(name)") { thread in
                while !thread.isStopping {
                    do throws(KafkaError) {
                        if let record = try reader.poll(timeout: 0.1) {
                            if record.refused { onRefused(record) } else { onRecord(record) }
                        }
                    } catch {
                        if !thread.pause(onError(error)) { return }
                    }
                }
            }
        } catch {
            reader.close()
            throw error
        }
    }

    /// The number of partitions of `topic` as found at start.
    public func partitions(of topic: String) -> Int { reader.partitions(of: topic) }

    /// Stops reading after the record in hand, waits for the thread to end and frees the
    /// reader. Idempotent.
    public func stop() {
        thread.join()
        reader.close()
    }
}
