import Foundation
import Testing
import VigilObservability
@testable import VigilKafka

/// Each Kafka client logs through the `Logger` its maker passed (issue 18: no process-wide
/// sink): librdkafka's own lines through the client's opaque context, refused records
/// through the connection's logger.
@Suite(.serialized) struct KafkaLoggingTests {
    /// Waits up to `seconds` for `capture` to hold a line matching `match`.
    static func waitFor(_ capture: CapturingLogHandler, seconds: Double = 10, _ match: (LogRecord) -> Bool) -> LogRecord? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let line = capture.records.first(where: match) { return line }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return capture.records.first(where: match)
    }

    /// A producer that cannot connect logs librdkafka's error to its own logger, and only
    /// there: another client's logger hears nothing of it.
    @Test(.timeLimit(.minutes(1))) func librdkafkasLinesGoToTheClientsOwnLogger() throws {
        let cluster = try KafkaMockCluster.withVigilTopics()
        let unreachable = CapturingLogHandler(), healthy = CapturingLogHandler()
        let other = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, logger: Logger(label: "healthy", handler: healthy))
        let producer = try KafkaProducer(bootstrapServers: "127.0.0.1:1", logger: Logger(label: "unreachable", handler: unreachable))
        let line = try #require(Self.waitFor(unreachable) { $0.message == "librdkafka" && ($0.fields["detail"] ?? "").contains("127.0.0.1:1") })
        #expect(line.label == "unreachable" && line.level == .error)
        #expect(line.fields["facility"]?.isEmpty == false)
        #expect(!healthy.records.contains { ($0.fields["detail"] ?? "").contains("127.0.0.1:1") })
        producer.shutdown()
        other.shutdown()
    }

    /// A hostile record on the outcomes topic is reported through the connection's logger,
    /// in the line format the service has always written (`librdkafka`, facility `VIGIL`).
    @Test(.timeLimit(.minutes(1))) func aRefusedRecordIsLoggedThroughTheConnectionsLogger() throws {
        let cluster = try KafkaMockCluster.withVigilTopics()
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, signer: .forTests)
        defer { producer.shutdown() }
        _ = try producer.produceAndWait(
            topic: KafkaDeliveryQueue.outcomesTopic, key: Array("dlv_bad".utf8),
            value: KafkaRecordSafetyTests.message(["created_at": "1e19", "id": #""dlv_bad""#]))
        let capture = CapturingLogHandler()
        let connection = try KafkaConnection(bootstrapServers: cluster.bootstrapServers, signer: .forTests, writeTimeout: 5, logger: Logger(label: "kafka", handler: capture))
        defer { connection.shutdown() }
        let queue = try KafkaDeliveryQueue(connection: connection)
        defer { queue.close() }
        let line = try #require(Self.waitFor(capture) { $0.fields["facility"] == "VIGIL" })
        #expect(line.label == "kafka" && line.level == .warning && line.message == "librdkafka")
        #expect(line.fields["detail"]?.hasPrefix("refused a record of \(KafkaDeliveryQueue.outcomesTopic) (partition ") == true)
    }
}
